"""What the OCR firmware reads besides the model: labels and images.

Builders
  env.Labels(labels_c, [meta.json, dict.txt])
      -> the C table of classes and normalisation (host/labels.py)
  env.ConvertImages(images_bin, [meta.json, image files or a label file],
                    LABELS=True|False, LIMIT=n, SHARD="i/n")
      -> the image blob and ``images.json`` beside it (host/convert.py)

Both declare every output; the host package's own .py files are dependencies.
"""
import os

import pyaction
import splitnodes


def _model_dir(source):
    return os.path.dirname(source[0].path)


def _labels_argv(target, source, env):
    return ["--model-dir", _model_dir(source), "--out", target[0].path]


def _labels_emitter(target, source, env):
    return target, source + pyaction.python_sources(env, "host/labels.py")


def _convert_argv(target, source, env):
    argv = ["--model-dir", _model_dir(source), "--out", target[0].path, "--index", target[1].path,
            "--shard", env.get("SHARD", "0/1")]
    inputs = [s.path for s in source[1:] if s.__class__.__name__ == "File" and not s.path.endswith(".py")]
    if env.get("LABELS"):
        argv += ["--labels", inputs[0]]
        if env.get("LIMIT"):
            argv += ["--limit", env["LIMIT"]]
    else:
        argv += inputs
    return argv


def _convert_emitter(target, source, env):
    index = env.File(os.path.splitext(target[0].abspath)[0] + ".json")
    options = env.Value({"shard": env.get("SHARD", "0/1"), "limit": env.get("LIMIT"),
                         "labels": bool(env.get("LABELS"))})
    code = pyaction.python_sources(env, "host/convert.py")
    manifests = splitnodes.label_images(env, source)
    return [target[0], index], source + manifests + code + [options]


def generate(env):
    env.SetDefault(LABELSCOMSTR="", IMAGESCOMSTR="")
    env["BUILDERS"]["Labels"] = env.Builder(
        action=pyaction.module_action("host.labels", _labels_argv, "$LABELSCOMSTR"),
        emitter=_labels_emitter, suffix=".c")
    env["BUILDERS"]["ConvertImages"] = env.Builder(
        action=pyaction.module_action("host.convert", _convert_argv, "$IMAGESCOMSTR"),
        emitter=_convert_emitter, suffix=".bin")


def exists(env):
    return True
