"""Accuracy of an inference model on a label file: ``python -m host.evaluate``.

    python -m host.evaluate --model DIR --labels FILE [--limit N] [--json OUT] [--worst 20]

Word accuracy (exact match) and character accuracy (1 - normalised edit
distance, PaddleOCR's definition, model/metrics.py) over every image of a
PaddleOCR label file, read through host.predict's Paddle inference path, plus
the worst-read examples.  This is how a committed checkpoint's metrics.json is
reproduced independently of the training process.
"""
import argparse
import json
import sys

from host.predict import PredictError, Recognizer, read_labels, write_json


def evaluate(model_dir, labels_path, limit=None, worst=20, progress=None):
    from model import metrics
    entries = read_labels(labels_path)[:limit]
    rec = Recognizer(model_dir)
    rows = []
    for i, (path, label) in enumerate(entries):
        text, score = rec.read_file(path)
        rows.append({"path": path, "label": label, "text": text, "score": score,
                     "ned": metrics.norm_edit_distance(text, label)})
        if progress and (i + 1) % 200 == 0:
            progress("%d/%d" % (i + 1, len(entries)))
    result = metrics.score([r["text"] for r in rows], [r["label"] for r in rows])
    result.update(model=model_dir, labels=labels_path, name=rec.meta.get("name"),
                  worst=sorted((r for r in rows if r["text"] != r["label"]),
                               key=lambda r: (-r["ned"], r["score"]))[:worst])
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="inference model directory")
    ap.add_argument("--labels", required=True, help="PaddleOCR label file (path<TAB>label)")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--worst", type=int, default=20, help="how many misread examples to list")
    ap.add_argument("--json", help="write the result as JSON")
    a = ap.parse_args(argv)
    try:
        r = evaluate(a.model, a.labels, a.limit, a.worst,
                     progress=lambda s: print(s, file=sys.stderr, flush=True))
    except PredictError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    print("%s on %s: word accuracy %.4f, character accuracy %.4f (%d images)"
          % (r["name"] or a.model, a.labels, r["word_acc"], r["char_acc"], r["count"]))
    for w in r["worst"][:10]:
        print("  %r read as %r (score %.3f)  %s" % (w["label"], w["text"], w["score"], w["path"]))
    if a.json:
        write_json(a.json, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
