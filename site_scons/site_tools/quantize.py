"""Quantize: an inference model + calibration images -> an int8 QDQ ONNX model.

Builders
  env.Quantize("build/quant/<model>/model.qdq.onnx",
               [inference model files, meta.json, dict.txt], CALIB=[label-file nodes],
               SELECT={"val": label node, "real_val": label node}, SELECT_LIMIT=600,
               MAX_DROP={"val": 0.005, "real_val": 0.01},
               EVAL={"real_val": label node, "test": label node}, CALIB_COUNT=200,
               EVAL_LIMIT=600)
      -> model.qdq.onnx, report.json (per-layer sensitivity, which layers stay
         fp32, fp32 vs int8 accuracy on the EVAL splits)

Runs ``python -m codegen.quantize`` (onnxruntime's quantize_static, see
codegen/quantize.py). The signature holds the model files, the label files and
what stands for their images (splitnodes.label_images), the options (one Value),
the quantizer's own .py files and the onnxruntime / onnx / paddle2onnx / paddle
versions. On failure pyaction removes both targets.
"""
import os

import pyaction
import splitnodes

OUTPUTS = ["model.qdq.onnx", "report.json"]
VERSIONED = ("onnxruntime", "onnx", "paddle2onnx", "paddlepaddle")


def _options(env):
    max_drop = env.get("MAX_DROP", 0.005)
    return {"calib_count": int(env.get("CALIB_COUNT", 200)),
            "select_count": int(env.get("SELECT_COUNT", 300)),
            "select_limit": int(env.get("SELECT_LIMIT", 0) or 0),
            "max_drop": sorted((str(k), float(v)) for k, v in max_drop.items())
            if isinstance(max_drop, dict) else [("", float(max_drop))],
            "order": str(env.get("SELECT_ORDER", "graph")),
            "percentile": float(env.get("PERCENTILE", 99.99)),
            "bias_correction_count": int(env.get("BIAS_CORRECTION_COUNT", 100)),
            "eval_limit": int(env.get("EVAL_LIMIT", 0) or 0)}


def _labels(env, key):
    value = env.get(key) or []
    return list(value.items()) if isinstance(value, dict) else list(enumerate(value))


def _emitter(target, source, env):
    out_dir = os.path.dirname(target[0].abspath)
    targets = [env.File(os.path.join(out_dir, name)) for name in OUTPUTS]
    labels = [n for _, n in _labels(env, "CALIB")] + [n for _, n in _labels(env, "SELECT")] \
        + [n for _, n in sorted(_labels(env, "EVAL"))]
    labels = list(dict.fromkeys(labels))  # a split may both select and be reported
    versions = {name: pyaction.dist_version(name) for name in VERSIONED}
    code = pyaction.python_sources(env, "codegen/quantize.py")
    extra = labels + splitnodes.label_images(env, labels) + code + [
        env.Value(sorted(_options(env).items())),
        env.Value(sorted((str(k), str(n)) for k, n in _labels(env, "EVAL"))),
        env.Value([(str(k), str(n)) for k, n in _labels(env, "SELECT")]),
        env.Value(sorted(versions.items()))]
    return targets, list(source) + extra


def _argv(target, source, env):
    opts = _options(env)
    models = [s for s in source if s.__class__.__name__ == "File"
              and os.path.basename(s.path).startswith("inference.")]
    if not models:
        raise ValueError("Quantize needs the inference model files as sources")
    argv = ["--model-dir", os.path.dirname(models[0].path), "--out", os.path.dirname(target[0].path),
            "--calib-count", opts["calib_count"], "--select-count", opts["select_count"],
            "--order", opts["order"], "--percentile", opts["percentile"],
            "--bias-correction-count", opts["bias_correction_count"]]
    for name, drop in opts["max_drop"]:
        argv += ["--max-drop", "%s=%r" % (name, drop) if name else repr(drop)]
    select_limit = ":%d" % opts["select_limit"] if opts["select_limit"] else ""
    for name, node in _labels(env, "SELECT"):
        argv += ["--select", "%s=%s%s" % (name, node.path, select_limit)]
    for _, node in _labels(env, "CALIB"):
        argv += ["--calib", node.path]
    limit = ":%d" % opts["eval_limit"] if opts["eval_limit"] else ""
    for name, node in sorted(_labels(env, "EVAL")):
        argv += ["--eval", "%s=%s%s" % (name, node.path, limit)]
    return argv


def generate(env):
    env.SetDefault(QUANTCOMSTR="")
    env["BUILDERS"]["Quantize"] = env.Builder(
        action=pyaction.module_action("codegen.quantize", _argv, "$QUANTCOMSTR"),
        emitter=_emitter)


def exists(env):
    return True
