"""Accuracy of an inference model on a label file: ``python -m model.evaluate``.

    python -m model.evaluate --model DIR --labels FILE [--limit N] [--json OUT] [--worst 20]
    python -m model.evaluate --model DIR --labels FILE --expect METRICS.json [--split test]

Word accuracy (exact match) and character accuracy (1 - normalised edit
distance, PaddleOCR's definition, model/metrics.py) over every image of a
PaddleOCR label file, read through model.inference's Paddle reference, plus
the worst-read examples and how many misreads are of each kind
(model.metrics.misread_kind: case, spacing, repeated letters, look-alikes...).
This is how a committed checkpoint's metrics.json is reproduced
independently of the training process: ``--expect`` reads the
split's numbers from a metrics.json (model.publish / model.train write them),
scores the same number of images, checks the label file is the one recorded
(CRC-32) and exits 1 with one error line when the numbers differ by more than
one image's worth.
"""
import argparse
import json
import sys

from . import metrics
from .errors import ModelError
from .files import write_json
from .inference import Recognizer, read_labels
from .labelfile import images_digest, recorded_path, split_digest


def evaluate(model_dir, labels_path, limit=None, worst=20, progress=None):
    entries = read_labels(labels_path)[:limit]
    rec = Recognizer(model_dir)
    rows = []
    for i, (path, label) in enumerate(entries):
        text, score = rec.read_file(path)
        rows.append({"path": recorded_path(path), "label": label, "text": text, "score": score,
                     "ned": metrics.norm_edit_distance(text, label)})
        if progress and (i + 1) % 200 == 0:
            progress("%d/%d" % (i + 1, len(entries)))
    preds, labels = [r["text"] for r in rows], [r["label"] for r in rows]
    result = metrics.score(preds, labels)
    result.update(model=model_dir, labels=labels_path, name=rec.meta.get("name"),
                  misreads=metrics.misread_kinds(preds, labels),
                  worst=sorted((r for r in rows if r["text"] != r["label"]),
                               key=lambda r: (-r["ned"], r["score"]))[:worst])
    return result


def expected(metrics_path, split):
    """The split's recorded numbers from a metrics.json: {"word_acc", "char_acc", "count", ...}."""
    try:
        with open(metrics_path, encoding="utf-8") as handle:
            recorded = json.load(handle)[split]
        float(recorded["word_acc"]), float(recorded["char_acc"]), int(recorded["count"])
    except (OSError, ValueError) as exc:
        raise ModelError("cannot read %s: %s" % (metrics_path, exc))
    except (KeyError, TypeError):
        raise ModelError("%s has no %s word_acc/char_acc/count" % (metrics_path, split))
    return recorded


def compare(result, recorded, metrics_path):
    """None when result reproduces recorded (within one image), else the reason."""
    n = int(recorded["count"])
    if result["count"] != n:
        return "scored %d images, %s scored %d" % (result["count"], metrics_path, n)
    for key, what in (("word_acc", "word accuracy"), ("char_acc", "character accuracy")):
        if abs(result[key] - float(recorded[key])) > 1.0 / n + 1e-9:
            return "%s %.4f does not reproduce %s's %.4f (%d images)" % (
                what, result[key], metrics_path, float(recorded[key]), n)
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="inference model directory")
    ap.add_argument("--labels", required=True, help="PaddleOCR label file (path<TAB>label)")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--worst", type=int, default=20, help="how many misread examples to list")
    ap.add_argument("--json", help="write the result as JSON")
    ap.add_argument("--expect", metavar="METRICS_JSON",
                    help="check the result against this metrics.json (same image count)")
    ap.add_argument("--split", default="test", help="which split of --expect (default: test)")
    a = ap.parse_args(argv)
    try:
        recorded = expected(a.expect, a.split) if a.expect else None
        limit = a.limit
        if recorded is not None:
            limit = limit or int(recorded["count"])
            crc = recorded.get("labels_crc32")
            if crc and split_digest(a.labels) != crc:
                raise ModelError("%s is not the label file %s was measured on (CRC-32 %s, recorded %s)"
                                 % (a.labels, a.expect, split_digest(a.labels), crc))
            pixels = recorded.get("images_sha256")
            if pixels and images_digest(a.labels, limit) != pixels:
                raise ModelError("the images of %s are not the ones %s was measured on (another "
                                 "renderer, font or file): sha256 %s, recorded %s"
                                 % (a.labels, a.expect, images_digest(a.labels, limit), pixels))
        r = evaluate(a.model, a.labels, limit, a.worst,
                     progress=lambda s: print(s, file=sys.stderr, flush=True))
        mismatch = compare(r, recorded, a.expect) if recorded is not None else None
    except ModelError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    print("%s on %s: word accuracy %.4f, character accuracy %.4f (%d images)"
          % (r["name"] or a.model, a.labels, r["word_acc"], r["char_acc"], r["count"]))
    print("  misreads: %s" % metrics.format_misreads(r["misreads"]))
    for w in r["worst"][:10]:
        print("  %r read as %r (score %.3f)  %s" % (w["label"], w["text"], w["score"], w["path"]))
    if a.json:
        write_json(a.json, r)
    if mismatch:
        print("error: %s" % mismatch, file=sys.stderr)
        return 1
    if recorded is not None:
        print("reproduces %s (%s split)" % (a.expect, a.split))
    return 0


if __name__ == "__main__":
    sys.exit(main())
