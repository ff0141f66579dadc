"""The host side of the on-device test: the Paddle reference and the verdict.

Builders
  env.HostReference(reference_json, [inference model files..., label file],
                    LIMIT=n)
      -> host Paddle inference on the first n images of the label file (host/predict.py)
  env.DeviceReport(report_json, [images_k.json, run_k.log ..., reference.json (, metrics.json)],
                   MIN_ACCURACY=None, SPLIT="test", TITLE="On-device test")
      -> report.json, report.md, contact_sheet.png, junit.xml in the same folder (host/report.py)

Method
  env.DeviceEvaluation(out_dir, model, labels, firmware, count, shards, ...)
      -> the report node: the images of a label file converted in shards, each
         shard linked into an OCR firmware (firmware(name, images_bin) -> ELF
         nodes) and run on the simulator, the host reference on the same images,
         and the report over both.  ``./scons test`` and ``./scons eval`` use it.
"""
import os

import pyaction
import splitnodes


def _reference_argv(target, source, env):
    model = next(s for s in source if os.path.basename(s.path) == "meta.json")
    labels = next(s for s in source if s.path.endswith(".txt") and os.path.basename(s.path) != "dict.txt")
    argv = ["--model", os.path.dirname(model.path), "--labels", labels.path, "--json", target[0].path]
    if env.get("LIMIT"):
        argv += ["--limit", env["LIMIT"]]
    onnx = [s for s in source if str(s).endswith(".onnx")]
    if onnx:
        argv += ["--onnx", onnx[0].path]
    return argv


def _reference_emitter(target, source, env):
    code = pyaction.python_sources(env, "host/predict.py")
    versions = {"paddlepaddle": pyaction.dist_version("paddlepaddle")}
    if any(str(s).endswith(".onnx") for s in source):
        versions["onnxruntime"] = pyaction.dist_version("onnxruntime")
    manifests = splitnodes.label_images(env, source)
    return target, source + manifests + code + [env.Value({"limit": env.get("LIMIT")}),
                                    env.Value(sorted(versions.items()))]


REPORT_FILES = ("report.json", "report.md", "contact_sheet.png", "junit.xml")


def _report_emitter(target, source, env):
    folder = os.path.dirname(target[0].abspath)
    targets = [env.File(os.path.join(folder, name)) for name in REPORT_FILES]
    targets.append(env.File(pyaction.ok_marker(targets[0].abspath)))  # the verdict: passed
    code = pyaction.python_sources(env, "host/report.py")
    return targets, source + code + [env.Value({"min_accuracy": env.get("MIN_ACCURACY"),
                                                "split": env.get("SPLIT", "test"),
                                                "title": env.get("TITLE", ""),
                                                "min_agreement": env.get("MIN_AGREEMENT"),
                                                "score_tolerance": env.get("SCORE_TOLERANCE")})]


def _report_argv(target, source, env):
    paths = [s.path for s in source if s.__class__.__name__ == "File"]
    indices = [p for p in paths if os.path.basename(p).startswith("images")and p.endswith(".json")]
    logs = [p for p in paths if p.endswith(".log")]
    argv = []
    for index, log in zip(indices, logs):
        argv += ["--run", index, log]
    argv += ["--reference", next(p for p in paths if p.endswith("reference.json")),
             "--out-dir", os.path.dirname(target[0].path)]
    metrics = [p for p in paths if p.endswith("metrics.json")]
    if env.get("MIN_ACCURACY") is not None:
        argv += ["--min-accuracy", env["MIN_ACCURACY"]]
    elif metrics:
        argv += ["--metrics", metrics[0], "--split", env.get("SPLIT", "test")]
    else:
        argv += ["--min-accuracy", 0.0]
    if env.get("MIN_AGREEMENT") is not None:
        argv += ["--min-agreement", env["MIN_AGREEMENT"]]
    if env.get("SCORE_TOLERANCE") is not None:
        argv += ["--score-tolerance", env["SCORE_TOLERANCE"]]
    if env.get("TITLE"):
        argv += ["--title", env["TITLE"]]
    return argv


def device_evaluation(env, out_dir, model, labels, firmware, count, shards, limit=None,
                      metrics=None, split="test", min_accuracy=None, title="On-device test",
                      reference_onnx=None, min_agreement=None, score_tolerance=None):
    """See the module docstring; ``count`` is how many images the runs read
    (for the simulator's timeout), ``limit`` how many of the label file to take.
    reference_onnx: the host reference runs that ONNX file (the int8 QDQ model)
    with onnxruntime; min_agreement / score_tolerance: how much of the device's
    text must equal it (default: all, scores within 1e-4)."""
    runs = []
    shards = max(1, min(shards, count))
    for shard in range(shards):
        spec = "%d/%d" % (shard, shards)
        images = env.ConvertImages("%s/images_%d.bin" % (out_dir, shard), [model["meta"], labels],
                                   LABELS=True, LIMIT=limit, SHARD=spec)
        elf = firmware("%s_%d" % (out_dir.replace("build/", "").replace("/", "_"), shard), images[0])
        runs += [images[1]] + env.Simulate("%s/run_%d.log" % (out_dir, shard), elf[0],
                                           IMAGES=len(range(shard, count, shards)))[:1]
    reference = env.HostReference("%s/reference.json" % out_dir,
                                  model["inference"] + [labels] + ([reference_onnx] if reference_onnx else []),
                                  LIMIT=limit)
    return env.DeviceReport("%s/report.json" % out_dir, runs + reference + ([metrics] if metrics else []),
                            MIN_ACCURACY=min_accuracy, SPLIT=split, TITLE=title,
                            MIN_AGREEMENT=min_agreement, SCORE_TOLERANCE=score_tolerance)


def generate(env):
    env.SetDefault(REFERENCECOMSTR="", REPORTCOMSTR="")
    env["BUILDERS"]["HostReference"] = env.Builder(
        action=pyaction.module_action("host.predict", _reference_argv, "$REFERENCECOMSTR"),
        emitter=_reference_emitter)
    # The report is written even when the verdict is "failed": keep it for reading.
    env["BUILDERS"]["DeviceReport"] = env.Builder(
        action=pyaction.module_action("host.report", _report_argv, "$REPORTCOMSTR",
                                      keep_on_failure=True),
        emitter=_report_emitter)
    env.AddMethod(device_evaluation, "DeviceEvaluation")


def exists(env):
    return True
