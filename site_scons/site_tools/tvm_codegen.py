"""Codegen: a Paddle inference model -> dependency-free C for the Cortex-M55.

Builders
  env.Codegen("build/codegen/rec/model.h", [inference.json|.pdmodel, inference.pdiparams
              (, meta.json) (, model.qdq.onnx)], INPUT_SHAPE="1,3,48,320", BACKEND="c",
              SCHEDULE="best")
      (with a .onnx source -- codegen.quantize's int8 QDQ model -- that file is
      compiled, its int8 layers as integer kernels: codegen/qnn.py)
      -> model.h, model.c, kernels.c (BACKEND=c) or kernels.o (BACKEND=llvm-mve),
         weights.bin, report.json, all in the target's folder and all declared,
         so the firmware can depend on any of them by name.

Runs ``python -m codegen`` as a subprocess (pyaction). The graph re-runs TVM
only when something TVM's output depends on changes: the model files, the
options (one ``Value`` node), the codegen package's own .py files and
micro-kernel sources (codegen/ukernels, assembled into kernels.o with the
toolchain of toolchain.cfg, whose version is one of the options), or the
installed TVM / paddle2onnx / onnx / paddle versions (a ``Value`` node of
versions, read from package metadata without importing them). A firmware .c
is not among them. On failure pyaction removes every declared target, so
nothing half-written looks up to date. INPUT_SHAPE may be omitted when the
model's input shape is static or its meta.json gives ``input_shape``.
"""
import os

import pyaction

OUTPUTS = {"c": ["model.h", "model.c", "kernels.c", "weights.bin", "report.json"],
           "llvm-mve": ["model.h", "model.c", "kernels.o", "weights.bin", "report.json"]}
VERSIONED = ("apache-tvm", "paddle2onnx", "onnx", "paddlepaddle", "onnxruntime")


def _options(env):
    opts = {"input_shape": str(env.get("INPUT_SHAPE", "") or ""),
            "backend": env.get("BACKEND", "c"),
            "schedule": env.get("SCHEDULE", "best")}
    if env.get("PREFIX", "model") != "model":  # C names (codegen/naming.py); the default adds nothing
        opts["prefix"] = env["PREFIX"]
    if opts["backend"] == "llvm-mve":
        # the hand-written micro-kernels are assembled into kernels.o
        opts["toolchain_prefix"] = env["CFG"]["gcc_prefix"] if "CFG" in env else "arm-none-eabi-"
        opts["toolchain"] = env.get("ARM_GCC_VERSION", "unknown")
    return opts


def _model_sources(source):
    return [s for s in source if s.__class__.__name__ == "File"
            and os.path.basename(s.path).startswith("inference.")]


def _onnx_sources(source):
    """The QDQ model of codegen.quantize, when the int8 build compiles it."""
    return [s for s in source if s.__class__.__name__ == "File" and s.path.endswith(".onnx")]


def _emitter(target, source, env):
    opts = _options(env)
    if opts["backend"] not in OUTPUTS:
        raise ValueError("Codegen: BACKEND=%s: must be c or llvm-mve" % opts["backend"])
    out_dir = os.path.dirname(target[0].abspath)
    targets = [env.File(os.path.join(out_dir, name)) for name in OUTPUTS[opts["backend"]]]
    versions = {name: pyaction.dist_version(name) for name in VERSIONED}
    code = {str(n): n for n in pyaction.package_sources(env, "codegen")    # incl. codegen/ukernels/*.S|.c
            + pyaction.python_sources(env, "codegen/__main__.py")}         # and what it imports of model/
    extra = [code[k] for k in sorted(code)] + [
        env.Value(sorted(opts.items())), env.Value(sorted(versions.items()))]
    return targets, list(source) + extra


def _argv(target, source, env):
    opts = _options(env)
    models = _model_sources(source)
    if not models:
        raise ValueError("Codegen needs the inference model files as sources")
    argv = ["--model-dir", os.path.dirname(models[0].path),
            "--out", os.path.dirname(target[0].path),
            "--backend", opts["backend"], "--schedule", opts["schedule"]]
    if opts["input_shape"]:
        argv += ["--input-shape", opts["input_shape"]]
    for onnx_file in _onnx_sources(source)[:1]:
        argv += ["--onnx", onnx_file.path]
    if "prefix" in opts:
        argv += ["--prefix", opts["prefix"]]
    if "toolchain_prefix" in opts:
        argv += ["--toolchain-prefix", opts["toolchain_prefix"]]
    return argv


def generate(env):
    env.SetDefault(TVMCOMSTR="")
    env["BUILDERS"]["Codegen"] = env.Builder(
        action=pyaction.module_action("codegen", _argv, "$TVMCOMSTR"),
        emitter=_emitter)


def exists(env):
    return True
