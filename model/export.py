"""Checkpoint -> Paddle inference model directory: ``python -m model.export``.

    python -m model.export --config CFG --checkpoint X.pdparams --out DIR \
        [--shape 3,48,320] [--name en_PP-OCRv3_rec]

Produces the inference-model-directory contract of docs/architecture.md:
``inference.json`` + ``inference.pdiparams`` (PIR, paddle 3.x), ``dict.txt``,
``meta.json``, with a fixed input shape (the firmware has no dynamic shapes).

Before anything is written to DIR the exported program is run through
``paddle.inference`` on a few inputs and compared with the dynamic-graph
network: the same class at every output step (what the CTC decoder reads)
and max abs diff <= 1e-4 on the probabilities.  (The two runs take different
oneDNN kernel paths: 2e-7..8e-7 on one x86 machine, 1.9e-5 on a rendered word
on an AMD EPYC one; 1e-4 still catches a wrong op or weight.)  The reference is computed *before*
``paddle.jit.to_static`` touches the layer (converting it in place changes
what calling it does).  Everything is assembled in a temporary folder and
renamed into place (model.files), so a failure leaves no directory that looks
up to date.
"""
import argparse
import json
import os
import sys

import numpy as np

from .errors import ModelError, run_main
from .files import sha256, staged

TOLERANCE = 1e-4


def parse_shape(text):
    try:
        shape = [int(v) for v in text.replace("x", ",").split(",")]
    except ValueError:
        shape = []
    if len(shape) != 3 or shape[0] != 3 or min(shape) <= 0:
        raise ModelError("--shape must be C,H,W with C=3, got %r" % text)
    return shape



def probe_inputs(shape, n_random=2):
    """A few verification inputs: rendered words (realistic activations),
    random noise and an all-padding image."""
    from . import ppocr_path
    from .charset import Charset
    from .dataset import RenderedLines
    # Rendered with the English dictionary whatever the model's: the images
    # only need to look like text (a 6,625-class dictionary has no font).
    ds = RenderedLines(Charset.from_file(ppocr_path.en_dict_path()), shape, "val", seed=7, length=4)
    xs = [ds[i][0] for i in range(2)]
    rng = np.random.default_rng(0)
    xs += [rng.uniform(-1, 1, size=shape).astype(np.float32) for _ in range(n_random)]
    xs.append(np.zeros(shape, np.float32))
    return [x[None] for x in xs]


def write_meta(out_dir, **meta):
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")


def write_dict(out_dir, chars):
    with open(os.path.join(out_dir, "dict.txt"), "w", encoding="utf-8") as f:
        for c in chars:
            f.write(c + "\n")


def verify(model_dir, inputs, references, tolerance=TOLERANCE):
    """Run the inference model in model_dir; max abs diff vs references."""
    from .inference import create_predictor, run_predictor
    model_file = os.path.join(model_dir, "inference.json")
    if not os.path.isfile(model_file):
        model_file = os.path.join(model_dir, "inference.pdmodel")
    predictor = create_predictor(model_file, os.path.join(model_dir, "inference.pdiparams"))
    worst = 0.0
    for x, ref in zip(inputs, references):
        out = run_predictor(predictor, x)
        if out.shape != ref.shape:
            raise ModelError("exported model outputs %s, dynamic model %s" % (out.shape, ref.shape))
        worst = max(worst, float(np.abs(out - ref).max()))
        if not np.array_equal(out.argmax(-1), ref.argmax(-1)):
            raise ModelError("exported model reads another class than the dynamic model at some step")
    if worst > tolerance:
        raise ModelError("exported model differs from the dynamic model by %.3g (> %g)"
                         % (worst, tolerance))
    return worst



def export_checkpoint(config, checkpoint_path, out_dir, shape=None, name=None):
    """Build, load, trace, save, verify, then install; returns meta dict."""
    import paddle
    from . import checkpoint
    from .config import RecConfig
    paddle.set_device("cpu")
    cfg = RecConfig(config, {"Global.image_shape": shape} if shape else None)
    shape = cfg.image_shape
    net = cfg.build_model()
    checkpoint.load_into(net, checkpoint_path)
    net.eval()
    inputs = probe_inputs(shape)
    with paddle.no_grad():
        refs = [net(paddle.to_tensor(x)).numpy() for x in inputs]
    with staged(out_dir) as tmp:
        static = paddle.jit.to_static(
            net, input_spec=[paddle.static.InputSpec([1] + shape, "float32", "x")], full_graph=True)
        paddle.jit.save(static, os.path.join(tmp, "inference"))
        for junk in ("inference.pdiparams.info",):
            if os.path.exists(os.path.join(tmp, junk)):
                os.remove(os.path.join(tmp, junk))
        diff = verify(tmp, inputs, refs)
        write_dict(tmp, cfg.charset.dict_chars)
        states_path = os.path.splitext(checkpoint_path)[0] + ".states"
        meta = dict(input_shape=[1] + shape, output_shape=list(refs[0].shape),
                    num_classes=cfg.charset.num_classes, use_space_char=cfg.use_space_char,
                    mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5], input_name="x",
                    channel_order=cfg.channel_order,
                    source="checkpoint %s (config %s, hash %s)" % (
                        checkpoint_path, config, cfg.hash),
                    name=name or os.path.splitext(os.path.basename(config))[0],
                    config_hash=cfg.hash, checkpoint_sha256=sha256(checkpoint_path),
                    verify_tolerance=TOLERANCE, paddle=paddle.__version__, format="pir")
        if os.path.isfile(states_path):
            from .checkpoint import read_states
            meta["checkpoint_step"] = read_states(states_path).get("step")
        write_meta(tmp, **meta)
    return dict(meta, diff=diff)  # the measured diff is machine-dependent: printed, not stored


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m model.export", description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="PaddleOCR recognition yml")
    ap.add_argument("--checkpoint", required=True, help=".pdparams file")
    ap.add_argument("--out", required=True, help="inference model directory to write")
    ap.add_argument("--shape", help="C,H,W input shape (default: the config's Global.image_shape)")
    ap.add_argument("--name", help="model name recorded in meta.json")
    a = ap.parse_args(argv)
    meta = export_checkpoint(a.config, a.checkpoint, a.out,
                             parse_shape(a.shape) if a.shape else None, a.name)
    print("exported %s: input %s -> output %s, max abs diff vs dynamic %.2g"
          % (a.out, meta["input_shape"], meta["output_shape"], meta["diff"]))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
