"""Train the recognizer on rendered text: ``python -m model.train``.

    python -m model.train --config model/configs/en_PP-OCRv3_rec.yml \
        --profile smoke|full --out DIR [--state-dir DIR] [--resume] \
        [--val LABELS] [--test LABELS] [--nproc 2] [--set Global.image_shape=[3,32,320]]

Why it is built like this (2-core CPU machines, sessions that end):
* one OpenMP thread per process (measured faster than two), MKL's AVX2 path
  on AMD CPUs (model/cpu.py), C kernels for the layers Paddle's CPU kernels
  are slow at (model/fastops.py) and, with
  ``--nproc 2``, two data-parallel processes through
  ``paddle.distributed.launch`` (the same launcher scales to several machines:
  pass ``--launch-args "--nnodes 2 --master IP:PORT"``);
* samples are rendered on the fly, item i a pure function of (seed, i), so a
  resumed run sees exactly the data it would have seen;
* a curriculum: short clean words first, augmentation and length ramp up;
* optional per-step KL distillation from the real ch_PP-OCRv4 recognizer;
* the working state (``latest/`` and ``best/`` checkpoint directories) is
  saved every few minutes, atomically, into the state dir(s); ``--resume``
  continues from the newest one.  ``metrics.json`` is written last and only
  when the run has finished, so an interrupted run never looks done.

Outputs in --out: model.pdparams/.pdopt/.states (the best checkpoint by
validation word accuracy), train.log, history.json, curves.png, metrics.json.
"""
import os

from . import cpu

cpu.tune_for_training()  # before paddle/numpy load MKL and spin up thread pools

import argparse
import json
import logging
import math
import shutil
import sys
import time

import numpy as np
import yaml

from .errors import ModelError, run_main
from .files import write_atomic, write_json

PROFILES = {
    # CI: finishes in a few minutes, exercises every code path.
    "smoke": dict(batch=8, steps=30, warmup=5, curriculum_samples=120, distill=0.0,
                  distill_until=0.0, save_every_s=60, eval_every_steps=15,
                  eval_subset=48, final_eval_limit=200, log_every=5, seed=1),
    # The shipped model.  ``batch`` is per process; with --nproc 2 a step is 32 samples.
    # At ~28 samples/s at 3x32x320, ~23 at 3x48x320 (2 processes on the 2-core AMD
    # machines, with model/cpu.py and model/fastops.py; 10 without at 32x320) 400
    # steps are 8-9 minutes between validations.  16,000 steps = 512,000 samples,
    # ~5 h at 32x320, ~6 h at 48x320.  The cosine schedule
    # was first 30,000 steps; at step 4,300 (val word acc 0.73, still at the peak
    # learning rate, ~22 h to go at the speed of then) the shipped run was
    # shortened to reach a decayed, usable model within a few sessions.
    # No distillation by default: in the first full run (48x320, KL weight 1 from
    # ch_PP-OCRv4) the KL term was larger than the CTC loss and the student read
    # less after 25,600 samples (char acc 0.048) than a run without it after 7,000
    # (0.13); the teacher also needs 48-pixel input. ``--distill 1`` turns it on.
    "full": dict(batch=16, steps=16000, warmup=300, curriculum_samples=150000, distill=0.0,
                 distill_until=0.5, save_every_s=300, eval_every_steps=400,
                 eval_subset=500, final_eval_limit=None, log_every=50, seed=1),
    # A second phase from trained weights (--init, or --resume of a finetune
    # run), e.g. the same network at another input shape: no curriculum (the
    # weights already read), the full augmentation from the first sample, a
    # new sample stream (seed 2, not the images the first phase saw) and half
    # the config's peak learning rate after a short warmup.  The shipped
    # 3x48x320 checkpoint is the 3x32x320 full run's best weights fine-tuned
    # with it (model/README.md).
    "finetune": dict(batch=16, steps=8000, warmup=200, curriculum_samples=0, distill=0.0,
                     distill_until=0.0, save_every_s=300, eval_every_steps=400,
                     eval_subset=500, final_eval_limit=None, log_every=50, seed=2,
                     lr_scale=0.5, needs_init=True),
    # Adapt trained weights -- PaddleOCR's released en_PP-OCRv3 (model.released)
    # -- to the project's data without forgetting what they read: batches mix
    # rendered lines with real photographed crops (--real-train; ``real_fraction``
    # of each batch), batch norm keeps the released statistics (``freeze_bn``: the
    # layers stay in eval mode; with batch statistics a first probe read 80 of 144
    # held-out real crops instead of 107), a peak learning rate 1/50 of the
    # config's, a KL term to the frozen initial network (``distill``, the teacher
    # "init": learning without forgetting), the first ``freeze_stages`` backbone
    # blocks frozen, and validation on the rendered subset *and* the real
    # validation split (--real-val) for every weight average in ``wise``
    # (1.0 = the fine-tuned weights, 0.5 = halfway back to the initial ones,
    # WiSE-FT).  The best (step, average) is kept: not below the initial weights
    # on the real split, then the most words read on both.
    "adapt": dict(batch=16, steps=2000, warmup=100, curriculum_samples=0, distill=1.0,
                  distill_until=1.0, save_every_s=300, eval_every_steps=250,
                  eval_subset=500, final_eval_limit=None, log_every=25, seed=3,
                  lr_scale=0.02, needs_init=True, real_fraction=0.5, freeze_bn=True,
                  freeze_stages=0, teacher="init", wise=[1.0, 0.5]),
}
# Profile keys --profile-set may change, with their types.
PROFILE_TYPES = {"batch": int, "steps": int, "warmup": int, "distill": float, "seed": int,
                 "lr_scale": float, "real_fraction": float, "freeze_bn": bool,
                 "freeze_stages": int, "eval_every_steps": int, "eval_subset": int,
                 "wise": list, "teacher": str, "distill_until": float, "log_every": int,
                 "save_every_s": int, "trainable": list}
LATEST, BEST = "latest", "best"
OUTPUT_FILES = ("model.pdparams", "model.pdopt", "model.states", "train.log",
                "history.json", "curves.png", "metrics.json")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="smoke")
    ap.add_argument("--out", required=True, help="output folder (final files, log, state copy)")
    ap.add_argument("--state-dir", action="append", default=[],
                    help="extra folder for the resume state (repeatable), e.g. outside the work tree")
    ap.add_argument("--resume", action="store_true", help="continue from the newest saved state")
    ap.add_argument("--resume-from", action="append", default=[], metavar="DIR",
                    help="also consider this read-only checkpoint folder (model.pdparams/.pdopt/"
                         ".states, e.g. model/checkpoints/en_PP-OCRv3_rec) when resuming")
    ap.add_argument("--val", help="validation label file (PaddleOCR format) for final metrics")
    ap.add_argument("--test", help="test label file for final metrics")
    ap.add_argument("--nproc", type=int, default=1, help="data-parallel processes on this machine")
    ap.add_argument("--launch-args", default="", help="extra paddle.distributed.launch arguments")
    ap.add_argument("--steps", type=int, help="override the profile's step count")
    ap.add_argument("--distill", type=float, help="override the profile's distillation weight")
    ap.add_argument("--profile-set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a profile value, in YAML (e.g. real_fraction=0.25, wise=[1.0])")
    ap.add_argument("--real-train", help="real crops to train on (PaddleOCR label file, "
                    "model.realdata's train.txt)")
    ap.add_argument("--real-val", help="real validation crops (model.realdata's val.txt): "
                    "validated every eval and in the final metrics")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override, value in YAML (e.g. Global.image_shape=[3,32,320])")
    ap.add_argument("--init", help="start from these weights (.pdparams) instead of random")
    ap.add_argument("--stock-kernels", action="store_true",
                    help="train with Paddle's own CPU kernels only (default: the depthwise "
                         "convolutions and hard_swish run through model/fastops.py, ~1.5x faster)")
    ap.add_argument("--on-config-change", choices=("error", "restart"),
                    default="error",
                    help="--resume finds state saved with another config: stop with an error "
                         "(default), or move that state aside (state.<old hash>) and start over "
                         "(what the SCons graph does: an edited config retrains)")
    return ap.parse_args(argv)


def overrides(pairs, option="--set"):
    out = {}
    for p in pairs:
        if "=" not in p:
            raise ModelError("%s expects KEY=VALUE, got %r" % (option, p))
        k, v = p.split("=", 1)
        try:
            out[k] = yaml.safe_load(v)
        except yaml.YAMLError:
            raise ModelError("%s %s: %r is not a YAML value" % (option, k, v))
    return out


def profile_values(args):
    """The profile's values with --steps/--distill/--profile-set applied (checked)."""
    p = dict(PROFILES[args.profile])
    if args.steps:
        p["steps"] = args.steps
    if args.distill is not None:
        p["distill"] = args.distill
    for key, value in overrides(args.profile_set, "--profile-set").items():
        want = PROFILE_TYPES.get(key)
        if want is None:
            raise ModelError("--profile-set %s: not a profile value (known: %s)"
                             % (key, ", ".join(sorted(PROFILE_TYPES))))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ModelError("--profile-set %s=%r: expected a %s" % (key, value, want.__name__))
        p[key] = value
    if not 0.0 <= p.get("real_fraction", 0.0) <= 1.0:
        raise ModelError("real_fraction must be in [0, 1], got %r" % p["real_fraction"])
    return p


# ---------------------------------------------------------------- launcher
def relaunch_distributed(args, argv):
    """Re-run this command under paddle.distributed.launch with --nproc 1 per
    worker process; returns the launcher's exit code."""
    import subprocess
    entry = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_entry.py")
    rest, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--nproc", "--launch-args"):
            skip = True
            continue
        if a.startswith("--nproc=") or a.startswith("--launch-args="):
            continue
        rest.append(a)
    log_dir = os.path.join(args.out, "launch")
    launch = args.launch_args.split()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if not {"--ips", "--master", "--nnodes"} & {a.split("=")[0] for a in launch}:
        # One machine: everything over loopback, so no step needs the machine's
        # hostname to resolve (the launcher's endpoints, gloo's sockets).
        launch = ["--host", "127.0.0.1"] + launch
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node",
           str(args.nproc), "--log_dir", log_dir] + launch + [entry] + rest
    env.pop("CUDA_VISIBLE_DEVICES", None)  # its presence makes the launcher assume GPUs
    os.makedirs(args.out, exist_ok=True)
    return subprocess.call(cmd, env=env)


# ---------------------------------------------------------------- helpers
def setup_logging(out_dir, rank):
    log = logging.getLogger("model.train")
    log.setLevel(logging.INFO)
    log.handlers.clear()
    log.propagate = False
    fmt = logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S")
    if rank == 0:
        fh = logging.FileHandler(os.path.join(out_dir, "train.log"))
        fh.setFormatter(fmt)
        log.addHandler(fh)
    sh = logging.StreamHandler(sys.stdout)
    sh.setFormatter(fmt)
    log.addHandler(sh)
    return log


def fmt_duration(s):
    s = int(max(s, 0))
    return "%dh%02dm" % (s // 3600, s % 3600 // 60) if s >= 3600 else "%dm%02ds" % (s // 60, s % 60)


def curriculum(ramp_samples):
    """Level 0 -> 1 over the first ``ramp_samples`` samples (quadratic-ish
    start: clean short words long enough for CTC to find its alignment)."""
    def level(i):
        if ramp_samples <= 0:
            return 1.0
        return float(min(1.0, (i / ramp_samples) ** 0.8))
    return level


def distill_weight(profile, step):
    """Full weight for the first ``distill_until`` of training, then a linear
    fade to 0 so the end of training is on ground truth alone."""
    w, until, total = profile["distill"], profile["distill_until"], profile["steps"]
    if w <= 0:
        return 0.0
    frac = step / max(total, 1)
    if frac <= until:
        return w
    return w * max(0.0, 1.0 - (frac - until) / max(1e-9, 0.8 - until))


def evaluate(model, decoder, images, labels, batch=64):
    """Greedy-decode images (already preprocessed CHW arrays); returns preds.
    Leaves the model in eval mode (the trainer restores its training mode)."""
    import paddle
    model.eval()
    preds = []
    with paddle.no_grad():
        for i in range(0, len(images), batch):
            x = paddle.to_tensor(np.stack(images[i:i + batch]))
            out = model(x)
            preds += [t for t, _ in decoder(out)]
    return preds


def plot_curves(history, path):
    """Loss and validation accuracy against samples seen."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    tr = history.get("train", [])
    if tr:
        a1.plot([r["samples"] for r in tr], [r["loss"] for r in tr], label="total")
        a1.plot([r["samples"] for r in tr], [r["ctc"] for r in tr], label="ctc")
        a1.set_yscale("log")
    a1.set_xlabel("samples")
    a1.set_title("training loss")
    a1.legend()
    ev = history.get("val", [])
    for alpha in sorted({r.get("alpha", 1.0) for r in ev}, reverse=True):
        rows = [r for r in ev if r.get("alpha", 1.0) == alpha]
        tag = "" if alpha == 1.0 else " (weights x%.2f + initial)" % alpha
        for key, name, mark in (("val", "rendered", "o-"), ("real", "real", "s-")):
            pts = [(r["samples"], r[key]["word_acc"] if key in r else r["word_acc"]) for r in rows
                   if key in r or (key == "val" and "word_acc" in r)]
            if pts:
                a2.plot(*zip(*pts), mark, label="%s word acc%s" % (name, tag))
    a2.set_ylim(0, 1)
    a2.set_xlabel("samples")
    a2.set_title("validation")
    a2.legend()
    fig.tight_layout()
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    write_atomic(path, buf.getvalue())



# ---------------------------------------------------------------- training
class Trainer:
    def __init__(self, args):
        import paddle
        import paddle.distributed as dist
        from . import checkpoint
        from .config import RecConfig
        from .dataset import LabelFile, RenderedLines

        self.args = args
        self.profile = profile_values(args)
        p = self.profile
        paddle.set_device("cpu")
        self.world = int(os.environ.get("PADDLE_TRAINERS_NUM", "1"))
        if self.world > 1:
            dist.init_parallel_env()
        self.rank = dist.get_rank() if self.world > 1 else 0
        os.makedirs(args.out, exist_ok=True)
        self.log = setup_logging(args.out, self.rank)
        self.cfg = RecConfig(args.config, overrides(args.set))
        self.state_dirs = [os.path.join(args.out, "state")] + [os.path.abspath(d) for d in args.state_dir]

        paddle.seed(p["seed"])
        self.net = self.cfg.build_model()
        if args.init:
            checkpoint.load_into(self.net, args.init)
        self.kernels, self.denormals = "stock", "kept"
        from . import fastops
        try:
            # Denormals flushed whatever the kernels: it is a setting of the thread.
            self.denormals = "flushed" if fastops.flush_denormals() else "kept"
            if not args.stock_kernels:
                self.kernels = "fast %s" % json.dumps(fastops.use_fast_kernels(self.net),
                                                      sort_keys=True)
        except fastops.CompileError as exc:
            self.kernels = "stock (fast kernels unavailable: %s)" % exc
        self.loss_fn = self.cfg.build_loss()
        self.decoder = self.cfg.build_decoder()
        self.opt, self.lr = self.cfg.build_optimizer(self.net, p["steps"], p["warmup"],
                                                     p.get("lr_scale", 1.0))
        self.frozen = self.freeze(p.get("freeze_stages", 0), p.get("trainable"))
        self.model = paddle.DataParallel(self.net) if self.world > 1 else self.net
        order = self.cfg.channel_order
        self.data = RenderedLines(self.cfg.charset, self.cfg.image_shape, "train", p["seed"],
                                  max_len=self.cfg.max_text_length,
                                  curriculum=curriculum(p["curriculum_samples"]), channel_order=order)
        # The periodic validation subset is rendered in memory from the val
        # split's generator, so it does not depend on files that may be rebuilt.
        self.val_sub = RenderedLines(self.cfg.charset, self.cfg.image_shape, "val",
                                     seed=1000 + p["seed"], max_len=self.cfg.max_text_length,
                                     channel_order=order)
        self.real = self.real_val = None
        if p.get("real_fraction", 0.0) > 0:
            if not args.real_train:
                raise ModelError("profile %s mixes real crops into every batch (real_fraction %g): "
                                 "give --real-train LABELS (./scons: real_data=DIR)"
                                 % (args.profile, p["real_fraction"]))
            from .realdata import RealCrops
            self.real = RealCrops(args.real_train, self.cfg.charset, self.cfg.image_shape,
                                  p["seed"], self.cfg.max_text_length, order)
        if args.real_val:
            ds = LabelFile(args.real_val, self.cfg.image_shape, channel_order=order)
            self.real_val = [ds[i] for i in range(len(ds))]
        # The initial weights, kept for the "init" teacher and the weight averages.
        self.init_state = {k: v.numpy().copy() for k, v in self.net.state_dict().items()} \
            if args.init else None
        self.teacher = None
        if p["distill"] > 0:
            if p.get("teacher", "ppocrv4") == "init":
                self.teacher = InitTeacher(self.cfg, args.init)
            else:
                from .pretrained import Teacher
                if self.cfg.image_shape[1] != 48:
                    raise ModelError("distillation needs 48-pixel-high input (the teacher's)")
                self.teacher = Teacher(self.cfg.charset, channel_order=order)
        self.step, self.history, self.best = 0, {"train": [], "val": []}, {"word_acc": -1.0}
        self.elapsed = 0.0

    # -- state ---------------------------------------------------------------
    def states(self):
        return {"step": self.step, "samples": self.samples(), "profile": self.args.profile,
                "profile_values": self.profile, "world": self.world, "config_hash": self.cfg.hash,
                "image_shape": self.cfg.image_shape, "num_classes": self.cfg.charset.num_classes,
                "elapsed_s": self.elapsed, "best": self.best,
                # keys PaddleOCR's own load_model reads
                "epoch": self.step, "best_model_dict": {"acc": self.best["word_acc"]}}

    def samples(self):
        return self.step * self.world * self.profile["batch"]

    def save(self, which=LATEST):
        from . import checkpoint
        if self.rank != 0:
            return
        params, opt = self.net.state_dict(), self.opt.state_dict()
        for d in self.state_dirs:
            checkpoint.save_dir(os.path.join(d, which), params, opt, self.states())
        write_json(os.path.join(self.state_dirs[0], "history.json"), self.history)
        for d in self.state_dirs[1:]:
            shutil.copyfile(os.path.join(self.state_dirs[0], "history.json"),
                            os.path.join(d, "history.json"))

    def try_resume(self):
        """Load the newest complete ``latest`` state among the state dirs."""
        from . import checkpoint
        found = []
        candidates = [(os.path.join(d, LATEST), d) for d in self.state_dirs]
        extra = [(os.path.abspath(d), os.path.abspath(d)) for d in self.args.resume_from]
        for path, d in candidates + extra:
            c = checkpoint.find_dir(path)
            if c:
                st = checkpoint.read_states(checkpoint.files(c)["states"])
                if (path, d) in extra and (st.get("config_hash"), st.get("profile")) != \
                        (self.cfg.hash, self.args.profile):
                    # A read-only fallback (e.g. the committed checkpoint) of another
                    # config or training phase is not this run's state: skip it.
                    self.log.info("not resuming from %s: profile %s, config hash %s (this run: "
                                  "%s, %s)", c, st.get("profile"), st.get("config_hash"),
                                  self.args.profile, self.cfg.hash)
                    continue
                found.append((st.get("step", -1), c, d, st))
        if not found:
            self.log.info("no saved state found: starting from step 0")
            return
        if self.args.on_config_change == "restart":
            found = self.drop_other_configs(found)
            if not found:
                self.log.info("no saved state of this config: starting from step 0")
                return
        step, c, d, st = max(found, key=lambda t: t[0])
        if st.get("config_hash") != self.cfg.hash:
            raise ModelError("saved state in %s was trained with another config (hash %s, now %s); "
                             "use a fresh --out/--state-dir" % (c, st.get("config_hash"), self.cfg.hash))
        if st.get("world", self.world) != self.world:
            self.log.info("note: state saved with %d processes, resuming with %d (sample order "
                          "changes from here on)", st.get("world"), self.world)
        f = checkpoint.files(c)
        checkpoint.load_into(self.net, f["pdparams"])
        import paddle
        if os.path.isfile(f["pdopt"]):
            try:
                self.opt.set_state_dict(paddle.load(f["pdopt"]))
            except Exception as exc:
                raise ModelError("corrupt optimizer state %s: %s" % (f["pdopt"], exc))
        else:  # a published checkpoint without .pdopt: weights only
            self.log.info("no optimizer state in %s: Adam moments start from zero", c)
            self.lr.step(st["step"])
        self.step, self.elapsed = st["step"], st.get("elapsed_s", 0.0)
        self.best = st.get("best", self.best)
        hist = os.path.join(d, "history.json")
        if os.path.isfile(hist):
            with open(hist, encoding="utf-8") as fh:
                self.history = json.load(fh)
            for k in ("train", "val"):  # drop records newer than the state
                self.history[k] = [r for r in self.history.get(k, []) if r["step"] <= self.step]
        self.log.info("resumed from %s at step %d (%d samples, best val word acc %.4f)",
                      c, self.step, self.samples(), self.best["word_acc"])

    def drop_other_configs(self, found):
        """States of this config only; the run's own state folders holding another
        config's state are moved aside to ``<dir>.<old hash>`` (kept, not deleted)."""
        keep = []
        for step, c, d, st in found:
            if st.get("config_hash") == self.cfg.hash:
                keep.append((step, c, d, st))
            elif d in self.state_dirs and self.rank == 0 and os.path.isdir(d):
                aside = "%s.%s" % (d, st.get("config_hash"))
                shutil.rmtree(aside, ignore_errors=True)
                os.rename(d, aside)
                self.log.info("state in %s was trained with another config (hash %s, now %s): "
                              "moved to %s, training this config from the start",
                              d, st.get("config_hash"), self.cfg.hash, aside)
            else:
                self.log.info("ignoring %s: trained with another config (hash %s)",
                              c, st.get("config_hash"))
        return keep

    # -- one step --------------------------------------------------------------
    def batch(self, step):
        """The step's samples on this rank: rendered lines, then (with real data)
        ``real_fraction`` of the batch from the real crops; a pure function of the step."""
        p = self.profile
        slot = step * self.world + self.rank
        n_real = int(round(p["batch"] * p.get("real_fraction", 0.0))) if self.real else 0
        n_rendered = p["batch"] - n_real
        items = [self.data[i] for i in range(slot * n_rendered, (slot + 1) * n_rendered)]
        items += [self.real[i] for i in range(slot * n_real, (slot + 1) * n_real)]
        return [np.stack([it[k] for it in items]) for k in range(3)]

    def freeze(self, stages, trainable=None):
        """Stop the gradient of the backbone's first ``stages`` parts (its stem
        convolution, then its blocks in order) and, when ``trainable`` names the
        network's parts that learn (e.g. ["neck", "head"]), of all the others;
        returns how many tensors are frozen."""
        frozen = []
        if trainable:
            parts = dict(self.net.named_children())
            unknown = sorted(set(trainable) - set(parts))
            if unknown:
                raise ModelError("trainable: the network has no part %s (its parts: %s)"
                                 % (", ".join(unknown), ", ".join(parts)))
            frozen += [t for name, part in parts.items() if name not in trainable
                       for t in part.parameters()]
        if stages > 0:
            backbone = self.net.backbone
            if not hasattr(backbone, "block_list") or not hasattr(backbone, "conv1"):
                raise ModelError("freeze_stages needs a MobileNetV1Enhance backbone (conv1, block_list)")
            parts = [backbone.conv1] + list(backbone.block_list)
            frozen += [t for part in parts[:stages] for t in part.parameters()]
        for t in frozen:
            t.stop_gradient = True
        return len({id(t) for t in frozen})

    def train_mode(self):
        """Training mode, with batch norm kept on its running statistics when
        the profile freezes it."""
        import paddle
        self.net.train()
        if self.profile.get("freeze_bn"):
            for layer in self.net.sublayers():
                if isinstance(layer, (paddle.nn.BatchNorm, paddle.nn.layer.norm._BatchNormBase)):
                    layer.eval()

    def train_step(self, step):
        import paddle
        import paddle.nn.functional as F
        imgs, labels, lens = self.batch(step)
        x = paddle.to_tensor(imgs)
        logits = self.model(x)
        ctc = self.loss_fn(logits, [x, paddle.to_tensor(labels), paddle.to_tensor(lens)])["loss"]
        loss, kl_val = ctc, 0.0
        w = distill_weight(self.profile, step)
        if self.teacher is not None and w > 0:
            tp = paddle.to_tensor(self.teacher.probs(imgs))
            logp = F.log_softmax(logits, axis=-1)
            # KL(teacher || student) summed over classes and time, mean over batch
            kl = (tp * (paddle.log(tp) - logp)).sum(axis=-1).sum(axis=-1).mean()
            loss = ctc + w * kl
            kl_val = float(kl)
        loss.backward()
        self.opt.step()
        self.opt.clear_grad()
        self.lr.step()
        return float(loss), float(ctc), kl_val

    # -- validation -------------------------------------------------------------
    def eval_sets(self):
        """{name: (images, labels)} of this rank's share of every validation set:
        the rendered subset, and the real split when given (built once)."""
        if getattr(self, "_eval_sets", None) is None:
            n = self.profile["eval_subset"]
            idx = range(self.rank, n, self.world)
            sets = {"val": ([self.val_sub[i][0] for i in idx], [self.val_sub.text(i) for i in idx])}
            if self.real_val:
                mine = self.real_val[self.rank::self.world]
                sets["real"] = ([img for img, _ in mine], [label for _, label in mine])
            self._eval_sets = sets
        return self._eval_sets

    def quick_eval(self):
        """{set: (metrics, pairs)} for the current weights, shared across ranks."""
        from . import metrics
        out = {}
        for name, (imgs, labels) in self.eval_sets().items():
            pairs = list(zip(evaluate(self.net, self.decoder, imgs, labels), labels))
            if self.world > 1:
                import paddle.distributed as dist
                gathered = []
                dist.all_gather_object(gathered, pairs)
                pairs = [p for g in gathered for p in g]
            out[name] = (metrics.score([p for p, _ in pairs], [l for _, l in pairs]), pairs)
        self.train_mode()
        return out

    def averaged(self, alpha):
        """Context: the weights alpha * current + (1 - alpha) * initial (WiSE-FT)."""
        import contextlib
        import paddle

        @contextlib.contextmanager
        def swap():
            if alpha == 1.0 or self.init_state is None:
                yield
                return
            current = {k: v.numpy().copy() for k, v in self.net.state_dict().items()}
            mixed = {k: (alpha * v + (1.0 - alpha) * self.init_state[k]).astype(v.dtype)
                     if np.issubdtype(v.dtype, np.floating) else v for k, v in current.items()}
            self.net.set_state_dict({k: paddle.to_tensor(v) for k, v in mixed.items()})
            try:
                yield
            finally:
                self.net.set_state_dict({k: paddle.to_tensor(v) for k, v in current.items()})
        return swap()

    def selection_key(self, rec):
        """Order of validation records: first not below the initial weights on the
        real split (when there is one), then words read on all sets together."""
        base = self.history.get("baseline", {}).get("real")
        ok = base is None or "real" not in rec or rec["real"]["word_acc"] >= base["word_acc"]
        sets = [rec[k] for k in ("val", "real") if k in rec]
        return (ok, sum(m["word_acc"] for m in sets), sum(m["char_acc"] for m in sets))

    def best_key(self):
        """The selection key of the best checkpoint so far (a state saved before
        keys existed was chosen on rendered-val word and character accuracy)."""
        if "key" in self.best:
            return tuple(self.best["key"])
        if self.best.get("word_acc", -1.0) < 0:
            return (False, -1.0, -1.0)
        return (True, self.best["word_acc"], self.best.get("char_acc", 0.0))

    def periodic_eval(self):
        from .metrics import format_misreads, misread_kinds
        # At step 0 every average is the initial network: evaluate it once.
        for alpha in [1.0] if self.step == 0 else self.profile.get("wise", [1.0]):
            with self.averaged(alpha):
                results = self.quick_eval()
                rec = {"step": self.step, "samples": self.samples(), "alpha": alpha}
                for name, (m, pairs) in results.items():
                    rec[name] = m
                    wrong = [(pr, l) for pr, l in pairs if pr != l][:5]
                    self.log.info("VAL step %d samples %d alpha %.2f %s: word acc %.4f, char acc %.4f "
                                  "on %d images; misreads %s; e.g. %s", self.step, self.samples(), alpha,
                                  name, m["word_acc"], m["char_acc"], m["count"],
                                  format_misreads(misread_kinds(*zip(*pairs)) if pairs else {}),
                                  "; ".join("%r->%r" % (l, pr) for pr, l in wrong))
                # Flat keys as before (curves, older readers): the rendered subset.
                rec.update(rec["val"])
                self.history["val"].append(rec)
                if self.step == 0:
                    self.history.setdefault("baseline", {k: rec[k] for k in ("val", "real") if k in rec})
                if tuple(self.selection_key(rec)) > self.best_key():
                    self.best = {"word_acc": rec["word_acc"], "char_acc": rec["char_acc"],
                                 "step": self.step, "samples": self.samples(), "alpha": alpha,
                                 "key": list(self.selection_key(rec)),
                                 **({"real": rec["real"]} if "real" in rec else {})}
                    self.save(BEST)

    # -- main loop --------------------------------------------------------------
    def run(self):
        p = self.profile
        if self.args.resume:
            self.try_resume()
        if self.step == 0 and p.get("needs_init"):
            if not self.args.init:
                raise ModelError("profile %s continues trained weights: give --init PDPARAMS "
                                 "(or --resume a %s run that saved state)"
                                 % (self.args.profile, self.args.profile))
            self.log.info("weights from %s", self.args.init)
        self.log.info("profile %s: %s", self.args.profile, json.dumps(p, sort_keys=True))
        self.log.info("config %s (hash %s), input %s, %s planes, %d classes, %d process(es), "
                      "%d OMP thread(s), MKL_DEBUG_CPU_TYPE=%s, %s kernels, denormals %s, %d frozen tensors, "
                      "real crops: %s train, %s val", self.args.config, self.cfg.hash,
                      self.cfg.image_shape, self.cfg.channel_order, self.cfg.charset.num_classes,
                      self.world, int(os.environ.get("OMP_NUM_THREADS", "0")),
                      os.environ.get("MKL_DEBUG_CPU_TYPE", "unset"), self.kernels, self.denormals, self.frozen,
                      len(self.real) if self.real else 0, len(self.real_val or ()))
        self.train_mode()
        if self.step == 0 and self.args.init and not self.history["val"]:
            self.periodic_eval()  # the starting point: what the initial weights read
        t_save = time.time()
        t_window, s_window = time.time(), self.step
        losses = []
        while self.step < p["steps"]:
            t0 = time.time()
            loss, ctc, kl = self.train_step(self.step)
            if not math.isfinite(loss):
                raise ModelError("loss became %s at step %d" % (loss, self.step))
            self.step += 1
            self.elapsed += time.time() - t0
            losses.append((loss, ctc, kl))
            if self.step % p["log_every"] == 0 or self.step == p["steps"]:
                dt = time.time() - t_window
                sps = (self.step - s_window) * p["batch"] * self.world / max(dt, 1e-9)
                eta = (p["steps"] - self.step) * p["batch"] * self.world / max(sps, 1e-9)
                ml = np.mean(losses, axis=0)
                self.history["train"].append({"step": self.step, "samples": self.samples(),
                                              "loss": float(ml[0]), "ctc": float(ml[1]),
                                              "kl": float(ml[2]), "lr": float(self.opt.get_lr())})
                self.log.info("step %d/%d (%.1f%%) samples %d loss %.3f ctc %.3f kl %.3f lr %.2e "
                              "level %.2f | %.1f samples/s, ETA %s", self.step, p["steps"],
                              100.0 * self.step / p["steps"], self.samples(), ml[0], ml[1], ml[2],
                              self.opt.get_lr(), self.data.curriculum(self.samples()), sps,
                              fmt_duration(eta))
                losses, t_window, s_window = [], time.time(), self.step
            # Validation is scheduled by step, never by clock: all ranks must
            # reach the collective all_gather in quick_eval together.
            if self.step % p["eval_every_steps"] == 0 or self.step == p["steps"]:
                self.periodic_eval()
                t_save = 0  # save right after an eval so best/ and latest/ agree
            if time.time() - t_save >= p["save_every_s"] or self.step == p["steps"]:
                self.save(LATEST)
                if self.rank == 0:
                    plot_curves(self.history, os.path.join(self.args.out, "curves.png"))
                t_save = time.time()
        self.finish()

    def finish(self):
        """Final evaluation of the best checkpoint on the full val/test label
        files (and the real validation split); then the outputs, metrics.json last."""
        from . import checkpoint, metrics
        from .dataset import LabelFile
        from .labelfile import split_digest
        if self.rank != 0:
            return
        best = checkpoint.find_dir(os.path.join(self.state_dirs[0], BEST)) or \
            checkpoint.find_dir(os.path.join(self.state_dirs[0], LATEST))
        checkpoint.load_into(self.net, checkpoint.files(best)["pdparams"])
        best_states = checkpoint.read_states(checkpoint.files(best)["states"])
        result = {"config": os.path.relpath(self.args.config), "config_hash": self.cfg.hash,
                  "profile": self.args.profile, "steps": self.step, "samples": self.samples(),
                  "train_time_s": round(self.elapsed, 1), "processes": self.world,
                  "checkpoint_step": best_states["step"],
                  "checkpoint_alpha": best_states.get("best", {}).get("alpha", 1.0),
                  "image_shape": self.cfg.image_shape, "num_classes": self.cfg.charset.num_classes,
                  "baseline": self.history.get("baseline")}
        import paddle
        result["paddle"] = paddle.__version__
        for split, path in (("val", self.args.val), ("test", self.args.test),
                            ("real_val", self.args.real_val)):
            if not path:
                continue
            ds = LabelFile(path, self.cfg.image_shape,
                           None if split == "real_val" else self.profile["final_eval_limit"],
                           channel_order=self.cfg.channel_order)
            imgs, labels = zip(*[ds[i] for i in range(len(ds))])
            preds = evaluate(self.net, self.decoder, list(imgs), list(labels))
            m = metrics.score(preds, list(labels))
            m["labels"] = os.path.relpath(path)
            m["labels_crc32"] = split_digest(path)
            m["misreads"] = metrics.misread_kinds(preds, labels)
            m["worst"] = sorted(([l, p, round(metrics.norm_edit_distance(p, l), 3)]
                                 for p, l in zip(preds, labels) if p != l),
                                key=lambda r: -r[2])[:10]
            result[split] = m  # top level: host.report reads metrics["test"]["word_acc"]
            self.log.info("FINAL %s: word acc %.4f, char acc %.4f on %d images", split,
                          m["word_acc"], m["char_acc"], m["count"])
        from .errors import check_not_interrupted
        check_not_interrupted()  # an interrupted run publishes nothing
        src = checkpoint.files(best)
        for ext in ("pdparams", "pdopt", "states"):
            tmp = os.path.join(self.args.out, "model.%s.tmp" % ext)
            shutil.copyfile(src[ext], tmp)
            os.replace(tmp, os.path.join(self.args.out, "model." + ext))
        write_json(os.path.join(self.args.out, "history.json"), self.history)
        plot_curves(self.history, os.path.join(self.args.out, "curves.png"))
        write_json(os.path.join(self.args.out, "metrics.json"), result)
        self.log.info("finished: %s", os.path.join(self.args.out, "metrics.json"))


class InitTeacher:
    """The network at its initial weights, frozen (eval mode, no gradients): the
    distillation target that keeps a fine-tune close to what it started from
    (learning without forgetting).  Same input as the student."""

    def __init__(self, cfg, init):
        from . import checkpoint
        if not init:
            raise ModelError("the 'init' teacher distils the initial weights: give --init PDPARAMS")
        self.net = cfg.build_model()
        checkpoint.load_into(self.net, init)
        self.net.eval()
        for t in self.net.parameters():
            t.stop_gradient = True
        try:
            from . import fastops
            fastops.use_fast_kernels(self.net)
        except Exception:  # the stock kernels compute the same, slower
            pass

    def probs(self, batch):
        """[B, T, classes] float32 probabilities (the eval-mode head applies softmax)."""
        import paddle
        with paddle.no_grad():
            p = self.net(paddle.to_tensor(batch)).numpy() + 1e-8
        return (p / p.sum(-1, keepdims=True)).astype(np.float32)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.profile not in PROFILES:
        raise ModelError("unknown profile %r" % args.profile)
    # Never let an old metrics.json stand for a run that is starting again.
    if int(os.environ.get("PADDLE_TRAINER_ID", "0")) == 0:
        for name in ("metrics.json",):
            path = os.path.join(args.out, name)
            if os.path.exists(path):
                os.remove(path)
    if args.nproc > 1 and "PADDLE_TRAINERS_NUM" not in os.environ:
        return relaunch_distributed(args, argv)
    Trainer(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
