"""Export reference Paddle models used to exercise the code generator.

The project's own recognizer comes from ``model/`` (trained, later). Until it
lands, and forever in the tests, codegen is checked on the same architecture
exported *untrained* (random init): the compiler only cares about the graph and
the numbers flowing through it, not whether they read text.

Run ``python -m codegen.fixtures v3 OUTDIR [--input-shape 1,3,48,320]`` to write
an inference-model directory per the contract (``inference.json``,
``inference.pdiparams``, ``meta.json``, ``dict.txt``) for PP-OCRv3 en rec.
"""
import argparse
import importlib.metadata
import json
import os
import sys

# PP-OCRv3 English recognizer, CTC head only (docs: shared notes/paddle.md).
PPOCR_V3_EN_ARCH = {
    "model_type": "rec",
    "algorithm": "SVTR_LCNet",
    "Transform": None,
    "Backbone": {"name": "MobileNetV1Enhance", "scale": 0.5,
                 "last_conv_stride": [1, 2], "last_pool_type": "avg",
                 "last_pool_kernel_size": [2, 2]},
    "Neck": {"name": "SequenceEncoder", "encoder_type": "svtr", "dims": 64,
             "depth": 2, "hidden_dims": 120, "use_guide": False},
    "Head": {"name": "CTCHead", "fc_decay": 0.00001, "out_channels": 97},
}


def ppocr_on_path():
    """unstructured-paddleocr ships ``ppocr`` inside its package but imports it
    as a top-level package; put that directory on sys.path (one place only)."""
    root = ppocr_root()
    if root not in sys.path:
        sys.path.insert(0, root)


def ppocr_root():
    """The folder that holds the ``ppocr`` package."""
    # Located through the distribution's metadata, not find_spec: importing
    # it (or a stale sys.modules entry) is not needed just to find the folder.
    try:
        dist = importlib.metadata.distribution("unstructured-paddleocr")
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError("unstructured-paddleocr is not installed (it provides ppocr)") from None
    root = str(dist.locate_file("unstructured_paddleocr"))
    if not os.path.isdir(os.path.join(root, "ppocr")):
        raise RuntimeError("%s has no ppocr package" % root)
    return root


def save_layer(layer, input_shape, out_dir, name="inference"):
    """paddle.jit.save a dygraph layer with a fixed input shape -> out_dir/name.*"""
    import paddle
    layer.eval()
    spec = [paddle.static.InputSpec(shape=list(input_shape), dtype="float32", name="x")]
    static = paddle.jit.to_static(layer, input_spec=spec, full_graph=True)
    paddle.jit.save(static, os.path.join(out_dir, name))


def export_ppocr_v3(out_dir, input_shape=(1, 3, 48, 320), seed=0):
    """Build the PP-OCRv3 en rec architecture with random weights and export it."""
    import paddle
    ppocr_on_path()
    from ppocr.modeling.architectures import build_model
    paddle.seed(seed)
    os.makedirs(out_dir, exist_ok=True)
    model = build_model(dict(PPOCR_V3_EN_ARCH))
    # Random init leaves BN at mean 0 / var 1, which would hide bugs in BN
    # folding: give every BN non-trivial statistics.
    for layer in model.sublayers():
        if hasattr(layer, "_mean") and hasattr(layer, "_variance"):
            n = layer._mean.shape[0]
            layer._mean.set_value(paddle.randn([n]) * 0.1)
            layer._variance.set_value(paddle.rand([n]) * 0.5 + 0.75)
    save_layer(model, input_shape, out_dir)
    # The contract's dict.txt: PaddleOCR's 95-character English dictionary
    # (classes = blank + these + space, hence 97).
    with open(os.path.join(ppocr_root(), "ppocr", "utils", "en_dict.txt"), encoding="utf-8") as f:
        chars = f.read()
    with open(os.path.join(out_dir, "dict.txt"), "w", encoding="utf-8") as f:
        f.write(chars)
    meta = {"input_shape": list(input_shape), "num_classes": 97, "use_space_char": True,
            "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
            "source": "untrained PP-OCRv3 en rec architecture (codegen.fixtures)",
            "name": "ppocr_v3_en_untrained"}
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    return out_dir


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", choices=["v3"])
    ap.add_argument("out_dir")
    ap.add_argument("--input-shape", default="1,3,48,320")
    args = ap.parse_args(argv)
    shape = tuple(int(s) for s in args.input_shape.split(","))
    export_ppocr_v3(args.out_dir, shape)
    print(args.out_dir)


if __name__ == "__main__":
    main()
