"""The model half of the graph: what re-runs after which change, byte-identical rebuilds.

These run the real recognizer pipeline (export, TVM codegen, firmware,
simulator) once per module in a temporary copy of the repository, then make
one change at a time and check exactly which steps run again.
"""
import hashlib
import json
import os
import re
import shutil

from graph_helpers import V3, actions


def kinds(output):
    """{'TVM', 'CC', ...}: which kinds of step ran."""
    return {step.split()[0] for step in actions(output)}


def test_noop_deploy_runs_nothing_and_prints_the_text(built_tree):
    rc, out = built_tree.scons("deploy", *V3)
    assert actions(out) == [], out
    assert "text: " in out and "instructions: " in out


def test_editing_the_app_rebuilds_only_its_object_link_and_run(built_tree):
    built_tree.edit("firmware/app/ocr/main.c", 'printf("ocr: PaddleOCR', 'printf("ocr: PaddleOCR  ')
    rc, out = built_tree.scons("deploy", *V3)
    assert sorted(actions(out)) == sorted([
        "CC build/firmware/ocr/en_PP-OCRv3_rec-llvm-mve-best/main.o",
        "LINK build/firmware/ocr.elf", "SIZE build/firmware/ocr.elf.size.json",
        "RUN build/firmware/ocr.elf"]), out


def test_a_new_image_reruns_only_conversion_link_and_simulator(built_tree):
    shutil.copy(built_tree.file("host/samples/word_116.png"), built_tree.file("mine.png"))
    rc, out = built_tree.scons("deploy", "image=mine.png", *V3)
    # The same bytes under another name: at most the conversion runs (its blob is
    # identical), never the link or the simulator.
    assert kinds(out) <= {"IMAGES"}, out
    from PIL import Image
    Image.open(built_tree.file("mine.png")).rotate(180).save(built_tree.file("mine.png"))
    rc, out = built_tree.scons("deploy", "image=mine.png", *V3)
    assert sorted(kinds(out)) == ["AS", "IMAGES", "LINK", "RUN", "SIZE"], out


def test_editing_codegen_reruns_tvm_but_not_the_model(built_tree):
    built_tree.edit("codegen/__main__.py", '"""', '"""Edited by a graph test.\n', )
    rc, out = built_tree.scons("deploy", *V3)
    assert "TVM" in kinds(out) and not kinds(out) & {"EXPORT", "TRAIN", "RENDER"}, out


def test_int8_is_a_branch_of_its_own(built_tree):
    """precision=int8 adds the quantize step (calibrated on the rendered val split, which
    deploy alone does not render) and an int8 codegen folder, reusing the exported
    model; the fp32 build stays up to date (a dry run: quantizing the real
    model takes half an hour, codegen/README.md has its numbers)."""
    rc, out = built_tree.scons("-n", "deploy", "precision=int8", *V3)
    steps = actions(out)
    assert "QUANT build/quant/en_PP-OCRv3_rec/model.qdq.onnx" in steps, out
    assert "TVM build/codegen/en_PP-OCRv3_rec-int8-llvm-mve-best/model.h" in steps, out
    assert not kinds(out) & {"EXPORT", "TRAIN"}, out  # (RENDER: the val split calibrates)
    rc, out = built_tree.scons("deploy", *V3)
    assert actions(out) == [], out


def test_memory_onchip_links_the_int8_build_with_the_onchip_layout(built_tree):
    """memory=onchip changes the link only: the deploy ELF of the int8 build uses
    corstone300_onchip.ld; in the bench (precision=int8 adds the int8 variant), the
    fp32 variants keep the DDR layout (their weights do not fit the 8 MB flash) and
    the int8 variant takes the on-chip one."""
    rc, out = built_tree.scons("-n", "--verbose", "deploy", "precision=int8", "memory=onchip", *V3)
    links = [l for l in out.splitlines() if "-o build/firmware/ocr.elf" in l]
    assert links and "corstone300_onchip.ld" in links[0], out
    rc, out = built_tree.scons("-n", "--verbose", "bench", "precision=int8", "memory=onchip", *V3)
    bench_links = {re.search(r"-o (build/firmware/bench/\S+)\.elf", l).group(1): l
                   for l in out.splitlines() if re.search(r"-o build/firmware/bench/\S+\.elf", l)}
    assert sorted(bench_links) == ["build/firmware/bench/best-c", "build/firmware/bench/best-llvm-mve",
                                   "build/firmware/bench/best-llvm-mve-int8",
                                   "build/firmware/bench/stock-c"], sorted(bench_links)
    for name, line in bench_links.items():
        assert ("corstone300_onchip.ld" in line) == name.endswith("-int8"), line


def _text_line(output):
    return next(line for line in output.splitlines() if line.startswith("text: "))


def test_the_committed_checkpoint_is_exported_with_the_config_it_was_trained_with(built_tree):
    """What the device runs is what metrics.json measured (config.yml beside the weights)."""
    meta = json.load(open(built_tree.file("build/model/en_PP-OCRv3_rec/meta.json")))
    committed = built_tree.file("model/checkpoints/en_PP-OCRv3_rec/")
    measured = json.load(open(committed + "metrics.json"))
    assert meta["config_hash"] == open(committed + "config.sha").read().strip() == measured["config_hash"]
    assert meta["input_shape"] == [1] + measured["image_shape"]
    assert meta["checkpoint_sha256"] == measured["pdparams_sha256"]


def test_editing_the_training_config_leaves_the_shipped_checkpoint_alone(built_tree):
    """Without train=1 the committed weights and their own config.yml are the model:
    editing model/configs/ (here: the learning rate) re-runs nothing."""
    built_tree.edit("model/configs/en_PP-OCRv3_rec.yml", "learning_rate: 0.001", "learning_rate: 0.0005")
    rc, out = built_tree.scons("deploy", *V3)
    assert actions(out) == [], out


def test_bad_user_models_fail_with_one_line_and_leave_nothing(built_tree):
    ckpt = built_tree.file("model/checkpoints/en_PP-OCRv3_rec/model.pdparams")
    with open(built_tree.file("model/configs/en_PP-OCRv3_rec.yml")) as handle:
        good = handle.read()
    cases = [("unknown.yml", good.replace("MobileNetV1Enhance", "NoSuchBackbone"), ckpt, "NoSuchBackbone"),
             ("dict.yml", good.replace("out_channels: 97", "out_channels: 50"), ckpt,
              "50 output classes but the dictionary gives 97"),
             ("good.yml", good, built_tree.file("corrupt.pdparams"), "corrupt checkpoint")]
    with open(built_tree.file("corrupt.pdparams"), "wb") as handle:
        handle.write(b"\x80\x04 not a checkpoint")
    for name, text, checkpoint, words in cases:
        with open(built_tree.file(name), "w") as handle:
            handle.write(text)
        rc, out = built_tree.scons("deploy", "config=" + name, "checkpoint=" + checkpoint, check=False)
        errors = [line for line in out.splitlines() if line.startswith("error:")]
        assert rc != 0 and len(errors) == 1 and words in errors[0], out
        assert "Traceback" not in out, out
        assert not os.path.exists(built_tree.file("build/model/user-checkpoint/meta.json"))
        assert "RUN" not in kinds(out), out
    os.makedirs(built_tree.file("empty_model"))
    rc, out = built_tree.scons("deploy", "model_dir=empty_model", "dict=good.yml", check=False)
    assert rc == 2 and [l for l in out.splitlines() if l.startswith("error:")] == [
        "error: model_dir=%s: needs inference.json (or inference.pdmodel) and inference.pdiparams, "
        "a Paddle inference model as paddle.jit.save or PaddleOCR's export_model writes it"
        % built_tree.file("empty_model")], out
    rc, out = built_tree.scons("deploy", "model=ppocrv4", "train=1", check=False)
    assert rc == 2 and "cannot be combined with train=1" in out and not actions(out), out


def test_bad_images_fail_deploy_with_one_line_and_no_stale_blob(built_tree):
    with open(built_tree.file("notes.png"), "w") as handle:
        handle.write("a text file renamed .png\n")
    with open(built_tree.file("host/samples/word_116.png"), "rb") as handle:
        head = handle.read(200)
    with open(built_tree.file("cut.png"), "wb") as handle:
        handle.write(head)
    for image, words in (("missing.png", "image=missing.png: no such file"),
                         ("notes.png", "not a readable image"), ("cut.png", "not a readable image")):
        rc, out = built_tree.scons("deploy", "image=" + image, *V3, check=False)
        errors = [line for line in out.splitlines() if line.startswith("error:")]
        assert rc != 0 and len(errors) == 1 and words in errors[0], out
        assert not os.path.exists(built_tree.file("build/deploy/image.bin")) or image == "missing.png"
        assert "RUN" not in kinds(out) and "text: " not in out, out
    rc, out = built_tree.scons("deploy", *V3)  # the sample again: the blob is rebuilt, same bytes
    assert kinds(out) <= {"IMAGES"} and "text: " in out, out


def test_bring_your_own_config_and_checkpoint_reach_the_device(built_tree):
    """config= checkpoint= (no model=) enter the graph: the committed weights under a
    user's name read the sample exactly as model=ppocrv3_en does."""
    rc, out = built_tree.scons("deploy", *V3)
    expected = _text_line(out)
    rc, out = built_tree.scons("deploy", "config=model/checkpoints/en_PP-OCRv3_rec/config.yml",
                               "checkpoint=model/checkpoints/en_PP-OCRv3_rec/model.pdparams")
    assert {"EXPORT", "TVM", "LINK", "RUN"} <= kinds(out) and "TRAIN" not in kinds(out), out
    assert any(a.startswith("EXPORT build/model/user-checkpoint/") for a in actions(out)), out
    assert _text_line(out) == expected


def test_bring_your_own_inference_dir_reaches_the_device(built_tree):
    rc, out = built_tree.scons("deploy", *V3)
    expected = _text_line(out)
    shutil.copytree(built_tree.file("build/model/en_PP-OCRv3_rec"), built_tree.file("mine"))
    # channel_order= left at its default, BGR: the order the committed model reads (its meta.json)
    assert json.load(open(built_tree.file("mine/meta.json")))["channel_order"] == "BGR"
    rc, out = built_tree.scons("deploy", "model_dir=mine", "dict=mine/dict.txt")
    assert {"IMPORT", "TVM", "LINK", "RUN"} <= kinds(out) and "EXPORT" not in kinds(out), out
    assert any(a.startswith("IMPORT build/model/user-mine/") for a in actions(out)), out
    assert _text_line(out) == expected


def test_a_new_committed_checkpoint_reexports_and_rebuilds_downstream(built_tree):
    """Publishing other weights (same config) re-exports and recompiles; nothing trains."""
    import numpy as np
    import paddle
    path = built_tree.file("model/checkpoints/en_PP-OCRv3_rec/model.pdparams")
    params = paddle.load(path)
    params["head.fc.bias"] = paddle.to_tensor(params["head.fc.bias"].numpy() + np.float32(0.5))
    paddle.save(params, path)
    rc, out = built_tree.scons("deploy", *V3)
    assert {"EXPORT", "TVM", "LINK", "RUN"} <= kinds(out), out
    assert not kinds(out) & {"TRAIN", "RENDER"}, out
    meta = json.load(open(built_tree.file("build/model/en_PP-OCRv3_rec/meta.json")))
    assert meta["checkpoint_sha256"] == hashlib.sha256(open(path, "rb").read()).hexdigest()


def _digest(paths):
    return {os.path.basename(p): hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths}


def test_clean_rebuilds_are_byte_identical(built_tree):
    """Same inputs, same bytes: what makes a shared CacheDir safe."""
    gen = "build/codegen/en_PP-OCRv3_rec-llvm-mve-best"
    files = [built_tree.file(p) for p in (gen + "/model.c", gen + "/model.h", gen + "/kernels.o",
                                         gen + "/weights.bin", "build/firmware/ocr.elf")]
    before = _digest(files)
    built_tree.scons("-c", "deploy", *V3)
    assert not os.path.exists(files[-1])
    built_tree.scons("deploy", *V3)
    assert _digest(files) == before


def test_bench_profiles_every_variant_deterministically(built_tree):
    """`scons bench`: stock and best schedules on the device, each ELF run twice
    (the bench itself fails when the two runs disagree or the variants read
    different text); a second bench re-runs only the time measurement and the report."""
    rc, out = built_tree.scons("bench", *V3)
    with open(built_tree.file("build/bench/report.json")) as handle:
        report = json.load(handle)
    variants = report["variants"]
    assert sorted(variants) == ["best-c", "best-llvm-mve", "stock-c"]
    texts = {v["text"] for v in variants.values()}
    assert len(texts) == 1
    for v in variants.values():
        assert v["runs"] == 2 and v["runs_agree"]
        assert len(v["kernels"]) == v["kernel_calls"] > 0
        assert v["instructions"] == v["instructions_in_kernels"] + v["instructions_outside_kernels"]
        assert v["arena_bytes"] == v["arena_lower_bound"]
    # the project's schedules beat TVM's stock ones by a wide margin on the same model
    assert report["targets"]["stock_over_best"] > 2
    assert report["host_costs"]["cold_build_s"] > report["host_costs"]["noop_build_s"] > 0
    for name in ("report.md", "kernels.png"):
        assert os.path.getsize(built_tree.file("build/bench/" + name)) > 0
    rc, out = built_tree.scons("bench", *V3)
    assert "TIME" in kinds(out) and kinds(out) <= {"TIME", "BENCH"}, out


def test_train_then_editing_the_training_config_retrains(tree):
    """train=1: the smoke profile trains inside the graph; editing the config retrains it
    from step 0 (the previous state is kept aside, not resumed); a no-op runs nothing."""
    rc, out = tree.scons("train", "train=1", "profile=smoke")
    assert sorted(kinds(out)) == ["RENDER", "TRAIN"], out
    before = json.load(open(tree.file("build/train/smoke/metrics.json")))
    assert before["profile"] == "smoke" and before["steps"] == 30
    rc, out = tree.scons("train", "train=1", "profile=smoke")
    assert actions(out) == [], out
    tree.edit("model/configs/en_PP-OCRv3_rec.yml", "learning_rate: 0.001", "learning_rate: 0.0005")
    rc, out = tree.scons("train", "train=1", "profile=smoke")
    assert "TRAIN" in kinds(out), out
    after = json.load(open(tree.file("build/train/smoke/metrics.json")))
    assert after["config_hash"] != before["config_hash"] and after["steps"] == 30
    log = open(tree.file("build/train/smoke/train.log")).read()
    assert "training this config from the start" in log
    assert os.path.isdir(tree.file("build/train/smoke/state." + before["config_hash"]))


def test_a_failed_or_killed_run_is_never_taken_as_up_to_date(built_tree):
    """A timed-out run, then a plain deploy: the run happens again (it used to be
    accepted as up to date, printing no text and exiting 0). Same after the
    simulator is killed in the middle of a run of another image."""
    import signal
    import subprocess
    import sys
    import time
    rc, out = built_tree.scons("deploy", "timeout=1", *V3, check=False)
    assert rc != 0 and "hangs" in out, out
    rc, out = built_tree.scons("deploy", *V3)
    assert "RUN build/firmware/ocr.elf" in actions(out) and "text: QBHOUSE" in out, out
    from PIL import Image
    Image.open(built_tree.file("host/samples/word_116.png")).rotate(180).save(built_tree.file("turned.png"))
    proc = subprocess.Popen([sys.executable, "-m", "SCons", "-Q", "deploy", "image=turned.png"] + list(V3),
                            cwd=built_tree.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, SCONS_CALLER_CWD=built_tree.path))
    deadline, qemu = time.time() + 300, []
    while not qemu and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        qemu = [p for p in _pids("qemu-system") if os.readlink("/proc/%d/cwd" % p) == built_tree.path]
    assert qemu, "the simulator never started"
    os.kill(qemu[0], signal.SIGKILL)
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode != 0 and "text: " not in out, out
    rc, out = built_tree.scons("deploy", *V3)
    assert "RUN build/firmware/ocr.elf" in actions(out) and "text: QBHOUSE" in out, out
    rc, out = built_tree.scons("deploy", *V3)
    assert actions(out) == [] and "run-status: 0" in out, out


def _pids(command_prefix):
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % entry) as handle:
                if handle.read().startswith(command_prefix[:15]):
                    found.append(int(entry))
        except OSError:
            pass
    return found


def test_two_builds_at_once_in_one_checkout_take_turns(built_tree):
    """Two deploys of different images started together: the second waits for the
    first (one line says so), each prints its own image's reading, and the
    last one's result stays up to date."""
    import subprocess
    import sys
    from PIL import Image
    Image.open(built_tree.file("host/samples/word_116.png")).rotate(180).save(built_tree.file("turned.png"))
    runs = [subprocess.Popen([sys.executable, "-m", "SCons", "-Q", "deploy", "image=" + image] + list(V3),
                             cwd=built_tree.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=dict(os.environ, SCONS_CALLER_CWD=built_tree.path))
            for image in ("host/samples/word_116.png", "turned.png")]
    outs = [p.communicate(timeout=600)[0] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outs
    texts = [_text_line(o) for o in outs]
    assert texts[0].startswith("text: QBHOUSE,") and texts[1] != texts[0], texts
    assert sum("holds build/.lock: waiting" in o for o in outs) == 1, outs
    # whichever ran last is what is built now
    last = 0 if "waiting" in outs[0] else 1
    image = ("host/samples/word_116.png", "turned.png")[last]
    rc, out = built_tree.scons("deploy", "image=" + image, *V3)
    assert actions(out) == [] and _text_line(out) == texts[last], out


def test_the_released_model_reads_the_learning_path_image_on_the_device(built_tree):
    """model=ppocrv3_en_released: PaddleOCR's released weights, imported from the
    wheel (checked against onnxruntime), exported, compiled, run on the M55."""
    rc, out = built_tree.scons("deploy", "model=ppocrv3_en_released")
    assert {"IMPORT", "EXPORT", "TVM", "RUN"} <= kinds(out), out
    assert _text_line(out).startswith("text: QBHOUSE, score: 0.98"), out
    record = json.load(open(built_tree.file("build/import/ppocrv3_en_released/import.json")))
    assert max(c["max_abs_diff"] for c in record["checks"]) <= 1e-4  # model.released.TOLERANCE
    rc, out = built_tree.scons("deploy", "model=ppocrv3_en_released")
    assert actions(out) == [], out


def test_eval_reads_a_labelled_folder_on_the_device_and_the_host(built_tree):
    from PIL import Image
    folder = built_tree.file("mine")
    os.makedirs(folder, exist_ok=True)
    sample = Image.open(built_tree.file("host/samples/word_116.png"))
    sample.save(os.path.join(folder, "a.png"))
    sample.rotate(180).save(os.path.join(folder, "b.png"))
    sample.resize((137, 58)).save(os.path.join(folder, "c.png"))
    with open(os.path.join(folder, "labels.txt"), "w") as handle:
        handle.write("a.png\tQBHOUSE\nb.png\tQBHOUSE\nc.png\tQBHOUSE\n")
    rc, out = built_tree.scons("eval", "labels=mine/labels.txt", *V3)
    report = json.load(open(built_tree.file("build/eval/mine/report.json")))
    summary = report["summary"]
    assert summary["images"] == 3 and summary["agreement"] == 1.0 and summary["passed"], out
    assert summary["host_word_accuracy"] == summary["word_accuracy"] >= 1 / 3
    assert sum(summary["misreads"].values()) == 3 - round(3 * summary["word_accuracy"])
    for name in ("report.md", "contact_sheet.png", "junit.xml"):
        assert os.path.getsize(built_tree.file("build/eval/mine/" + name)) > 0
    rc, out = built_tree.scons("eval", "labels=mine/labels.txt", *V3)
    assert actions(out) == [], out
    # an edited image reruns its conversion, its shard and the reports, not the model
    sample.resize((200, 80)).save(os.path.join(folder, "c.png"))
    rc, out = built_tree.scons("eval", "labels=mine/labels.txt", *V3)
    assert "RUN" in kinds(out) and not kinds(out) & {"TVM", "EXPORT"}, out
    rc, out = built_tree.scons("eval", *V3, check=False)
    assert rc == 2 and out.strip().splitlines()[-1].startswith("error: eval needs labels="), out
