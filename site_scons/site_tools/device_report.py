"""The host side of the on-device test: the Paddle reference and the verdict.

Builders
  env.HostReference(reference_json, [inference model files..., label file],
                    LIMIT=n)
      -> host Paddle inference on the first n images of the label file (host/predict.py)
  env.DeviceReport(report_json, [images_k.json, run_k.log ..., reference.json (, metrics.json)],
                   MIN_ACCURACY=None)
      -> report.json, report.md, contact_sheet.png, junit.xml in the same folder (host/report.py)
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
    return argv


def _reference_emitter(target, source, env):
    code = [env.File("#host/predict.py"), env.File("#host/convert.py")] + \
        pyaction.package_sources(env, "model")
    versions = {"paddlepaddle": pyaction.dist_version("paddlepaddle")}
    manifests = [m for s in source if s.name == "label.txt" for m in splitnodes.split_manifest(env, s)]
    return target, source + manifests + code + [env.Value({"limit": env.get("LIMIT")}),
                                    env.Value(sorted(versions.items()))]


REPORT_FILES = ("report.json", "report.md", "contact_sheet.png", "junit.xml")


def _report_emitter(target, source, env):
    folder = os.path.dirname(target[0].abspath)
    targets = [env.File(os.path.join(folder, name)) for name in REPORT_FILES]
    code = [env.File("#host/report.py"), env.File("#host/logparse.py"), env.File("#model/metrics.py")]
    return targets, source + code + [env.Value({"min_accuracy": env.get("MIN_ACCURACY")})]


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
        argv += ["--metrics", metrics[0]]
    else:
        argv += ["--min-accuracy", 0.0]
    return argv


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


def exists(env):
    return True
