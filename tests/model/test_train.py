"""model.train end to end at tiny sizes: outputs, resume, never-finished-early,
the two-process launcher path with distillation."""
import json
import os

from model_helpers import CONFIG, clean_words, error_lines, run_module  # noqa: F401


def test_smoke_run_writes_every_output_and_resumes(tmp_path, clean_words):  # noqa: F811
    out = str(tmp_path / "run")
    missing = str(tmp_path / "missing" / "label.txt")
    # Final evaluation fails (no such label file): the run must not look finished.
    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "smoke", "--out", out,
                            "--steps", "3", "--val", missing)
    assert rc == 2, output
    assert len(error_lines(output)) == 1 and "label file not found" in output
    assert not os.path.exists(os.path.join(out, "metrics.json"))
    assert os.path.isfile(os.path.join(out, "state", "latest", "model.pdparams"))

    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "smoke", "--out", out,
                            "--steps", "4", "--resume", "--val", clean_words, "--test", clean_words)
    assert rc == 0, output
    log = open(os.path.join(out, "train.log")).read()
    assert "at step 3" in log and "step 4/4" in log and "misreads " in log
    for name in ("model.pdparams", "model.pdopt", "model.states", "history.json", "curves.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    m = json.load(open(os.path.join(out, "metrics.json")))
    assert m["steps"] == 4 and m["config_hash"] and m["profile"] == "smoke"
    for split in ("val", "test"):
        assert m[split]["count"] == 24
        assert 0.0 <= m[split]["word_acc"] <= m[split]["char_acc"] <= 1.0 or m[split]["word_acc"] == 0.0
        assert sum(m[split]["misreads"].values()) == round(24 * (1 - m[split]["word_acc"]))


def test_resume_refuses_state_of_another_config(tmp_path):
    out = str(tmp_path / "run")
    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "smoke", "--out", out,
                            "--steps", "1")
    assert rc == 0, output
    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "smoke", "--out", out,
                            "--steps", "2", "--resume", "--set", "Global.image_shape=[3,32,320]")
    assert rc == 2 and "another config" in output
    assert not os.path.exists(os.path.join(out, "metrics.json"))
    # What the SCons graph asks for (an edited config retrains): the old state is
    # moved aside, kept, and this config trains from step 0.
    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "smoke", "--out", out,
                            "--steps", "2", "--resume", "--set", "Global.image_shape=[3,32,320]",
                            "--on-config-change", "restart")
    assert rc == 0, output
    log = open(os.path.join(out, "train.log")).read()
    assert "training this config from the start" in log and "step 2/2" in log
    aside = [d for d in os.listdir(out) if d.startswith("state.")]
    assert len(aside) == 1 and os.path.isfile(os.path.join(out, aside[0], "latest", "model.pdparams"))
    m = json.load(open(os.path.join(out, "metrics.json")))
    assert m["steps"] == 2 and m["image_shape"] == [3, 32, 320] and aside[0] != "state." + m["config_hash"]


UNRESOLVABLE = "no-such-host-ocr-m55"


def unresolvable_hostname():
    """A command prefix that runs its command with a hostname no resolver knows
    (a new UTS namespace: root and util-linux's unshare), or None."""
    import shutil
    import subprocess
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None
    probe = subprocess.run(["unshare", "-u", "sh", "-c", "hostname %s && ! getent hosts %s"
                            % (UNRESOLVABLE, UNRESOLVABLE)], capture_output=True)
    if probe.returncode != 0:
        return None
    return ["unshare", "-u", "sh", "-c", 'hostname %s && exec "$@"' % UNRESOLVABLE, "sh"]


def test_two_process_launcher_with_distillation(tmp_path):
    """Two data-parallel processes on one machine, which need no resolvable
    hostname (everything on loopback): run with one no resolver knows where the
    test can set one (root + unshare), else with the machine's own."""
    prefix = unresolvable_hostname() or ()
    out = str(tmp_path / "dp")
    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "smoke", "--out", out,
                            "--steps", "2", "--nproc", "2", "--distill", "1.0",
                            "--set", "Global.image_shape=[3,48,320]",  # the teacher reads 48 px
                            prefix=prefix)
    assert rc == 0, output
    log = open(os.path.join(out, "train.log")).read()
    assert "2 process(es)" in log and "step 2/2" in log
    # model/fastops.py's kernels under DataParallel (their gradients reach the reducer)
    assert '"depthwise": 13, "hard_swish": 27} kernels' in log
    assert os.path.isfile(os.path.join(out, "launch", "workerlog.1"))
    st = json.load(open(os.path.join(out, "metrics.json")))
    assert st["processes"] == 2 and st["samples"] == 2 * 2 * 8


def test_resume_from_a_published_checkpoint_of_this_config_only(tmp_path):
    import shutil
    out = str(tmp_path / "run")
    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "smoke", "--out", out,
                            "--steps", "1")
    assert rc == 0, output
    pub = tmp_path / "published"
    pub.mkdir()
    for name in ("model.pdparams", "model.states"):
        shutil.copyfile(os.path.join(out, "state", "latest", name), pub / name)
    out2 = str(tmp_path / "again")
    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "smoke", "--out", out2,
                            "--steps", "2", "--resume", "--resume-from", pub)
    assert rc == 0, output
    log = open(os.path.join(out2, "train.log")).read()
    assert "at step 1" in log and "Adam moments start from zero" in log and "step 2/2" in log
    # The committed checkpoint is a fallback for its own config and phase only.
    out3 = str(tmp_path / "other")
    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "smoke", "--out", out3,
                            "--steps", "1", "--resume", "--resume-from", pub,
                            "--set", "Global.image_shape=[3,32,320]")
    assert rc == 0, output
    log = open(os.path.join(out3, "train.log")).read()
    assert "not resuming from" in log and "starting from step 0" in log and "step 1/1" in log


def test_finetune_needs_trained_weights(tmp_path):
    out = str(tmp_path / "run")
    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "finetune", "--out", out)
    assert rc == 2 and len(error_lines(output)) == 1 and "--init" in output
    assert not os.path.exists(os.path.join(out, "state"))
    # --resume with nothing to resume is no licence to start from random weights.
    rc, output = run_module("model.train", "--config", CONFIG, "--profile", "finetune", "--out", out,
                            "--resume")
    assert rc == 2 and len(error_lines(output)) == 1 and "--init" in output
    assert not os.path.exists(os.path.join(out, "state"))


def test_lr_scale_scales_the_whole_schedule():
    from model.config import RecConfig
    cfg = RecConfig(CONFIG)
    net = cfg.build_model()
    lrs = []
    for scale in (1.0, 0.5):
        _, lr = cfg.build_optimizer(net, 100, 10, scale)
        seq = []
        for _ in range(60):
            seq.append(lr.get_lr() if hasattr(lr, "get_lr") else lr())
            lr.step()
        lrs.append(seq)
    assert max(lrs[0]) == cfg.raw["Optimizer"]["lr"]["learning_rate"]
    for full, half in zip(*lrs):
        assert abs(half - 0.5 * full) <= 1e-12
