"""Paddle inference reference: ``python -m host.predict IMAGE...``.

    python -m host.predict [--model build/model/en_PP-OCRv3_rec] IMAGE... \
        [--labels FILE] [--json reference.json]

Reads an inference model directory (docs/architecture.md: inference.json or
.pdmodel + .pdiparams, dict.txt, meta.json), applies PaddleOCR's
preprocessing (aspect-preserving resize to the model height, width clamped,
``(x/255-0.5)/0.5``, zero right-padding) and a greedy CTC decode (collapse
repeats, drop blanks; score = mean probability of the kept steps, as
PaddleOCR's CTCLabelDecode).  Images are decoded exactly as host.convert
decodes them for the device, so this is the reference the firmware's output
is compared with.  Prints ``path<TAB>text<TAB>score`` per image; ``--json``
writes ``{"model":..., "images": [{"path","text","score"}, ...]}``.
"""
import argparse
import json
import os
import sys

import numpy as np

DEFAULT_MODEL = "build/model/en_PP-OCRv3_rec"


class PredictError(Exception):
    pass


class Recognizer:
    """A loaded inference model directory."""

    def __init__(self, model_dir):
        from model.charset import Charset
        from model.errors import ModelError
        from model.pretrained import create_predictor
        self.model_dir = model_dir
        meta_path = os.path.join(model_dir, "meta.json")
        try:
            with open(meta_path, encoding="utf-8") as f:
                self.meta = json.load(f)
        except (OSError, ValueError) as exc:
            raise PredictError("cannot read %s: %s" % (meta_path, exc))
        shape = self.meta.get("input_shape")
        if not (isinstance(shape, list) and len(shape) == 4 and shape[1] == 3):
            raise PredictError("%s: input_shape must be [1, 3, H, W], got %r" % (meta_path, shape))
        self.image_shape = shape[1:]
        self.bgr = self.meta.get("channel_order", "RGB") == "BGR"
        model_file = next((os.path.join(model_dir, n) for n in ("inference.json", "inference.pdmodel")
                           if os.path.isfile(os.path.join(model_dir, n))), None)
        if model_file is None:
            raise PredictError("%s has no inference.json or inference.pdmodel" % model_dir)
        try:
            self.charset = Charset.from_file(os.path.join(model_dir, "dict.txt"),
                                             bool(self.meta.get("use_space_char", True)))
            self.charset.check_head(int(self.meta["num_classes"]), meta_path)
            self.predictor = create_predictor(model_file, os.path.join(model_dir, "inference.pdiparams"))
        except ModelError as exc:
            raise PredictError(str(exc))

    def preprocess(self, rgb):
        from model.preprocess import resize_norm
        img = rgb[:, :, ::-1] if self.bgr else rgb
        return resize_norm(img, self.image_shape, self.meta.get("mean", (0.5,) * 3),
                           self.meta.get("std", (0.5,) * 3))

    def probabilities(self, rgb):
        """[T, classes] softmax output for one RGB uint8 image."""
        from model.pretrained import run_predictor
        out = run_predictor(self.predictor, self.preprocess(rgb)[None])[0]
        if out.shape[-1] != self.charset.num_classes:
            raise PredictError("model outputs %d classes, dict.txt gives %d"
                               % (out.shape[-1], self.charset.num_classes))
        return out

    def read(self, rgb):
        """(text, score) for one RGB uint8 image."""
        probs = self.probabilities(rgb)
        return self.charset.decode(probs.argmax(-1), probs.max(-1))

    def read_file(self, path):
        from host.convert import ConvertError, decode
        try:
            rgb = decode(path)
        except ConvertError as exc:
            raise PredictError(str(exc))
        return self.read(rgb)


def read_labels(path):
    from host.convert import ConvertError, read_label_file
    try:
        entries = read_label_file(path)
    except ConvertError as exc:
        raise PredictError(str(exc))
    if not entries:
        raise PredictError("label file %s has no entries" % path)
    return entries


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host.predict", description=__doc__.split("\n")[0])
    ap.add_argument("images", nargs="*", help="image files")
    ap.add_argument("--model", default=DEFAULT_MODEL, help="inference model directory")
    ap.add_argument("--labels", help="also read the images of a PaddleOCR label file")
    ap.add_argument("--limit", type=int, help="at most this many label-file images")
    ap.add_argument("--json", help="write the results as JSON (host.report's --reference)")
    a = ap.parse_args(argv)
    try:
        entries = [(p, None) for p in a.images]
        if a.labels:
            entries += read_labels(a.labels)[:a.limit]
        if not entries:
            raise PredictError("no images given")
        rec = Recognizer(a.model)
        results = []
        for path, label in entries:
            text, score = rec.read_file(path)
            results.append({"path": path, "text": text, "score": score, "label": label})
            print("%s\t%s\t%.6f" % (path, text, score), flush=True)
        if a.json:
            write_json(a.json, {"model": a.model, "images": results})
    except PredictError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
