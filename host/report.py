"""The on-device test verdict: accuracy, agreement with the host, reports.

    python -m host.report --run images_0.json run_0.log [--run ...] \\
        --reference reference.json --metrics metrics.json [--split test] \\
        --out-dir build/test/device [--min-accuracy 0.9] [--title "..."]

For every image the device read (the firmware log of each shard, matched to
the shard's images.json), it checks
  (a) the text is identical to the host reference (Paddle inference; for an
      int8 build onnxruntime's run of the QDQ model) and the score within
      ``--score-tolerance`` (1e-4): the compiled model computes what the host
      does; with ``--min-agreement F`` < 1 only that fraction must agree (an
      int8 build: 0.99, texts only) and the others are listed;
  (b) over the whole set, word accuracy against the labels is at least the
      threshold: ``--min-accuracy`` or, by default, the model's own word
      accuracy on the same kind of images (metrics.json's ``--split``: the
      rendered test split, or ``real_val`` for real crops) less three binomial
      standard errors for a sample of this size, so a correct model fails by
      chance about 1 time in 700.
Writes report.json (with the host's accuracy and the misreads by kind beside
the device's), report.md, contact_sheet.png (misreads first, label under the
reading) and junit.xml to --out-dir; exits 1 naming the failing images when a
check fails.
"""
import argparse
import json
import math
import os
import sys
from xml.etree import ElementTree

from host import logparse
from model.metrics import misread_kinds, norm_edit_distance, score


class ReportError(Exception):
    pass


def _load_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as err:
        raise ReportError("cannot read %s: %s" % (path, err)) from None


def device_results(runs):
    """[{position, path, label, device_text, device_score, instructions}] from (index, log) pairs."""
    rows = []
    for index_path, log_path in runs:
        index = _load_json(index_path)["images"]
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            log = logparse.parse(handle.read())
        if not log.finished or log.run_status != 0:
            raise ReportError("%s: the run did not finish cleanly (status %s)" % (log_path, log.run_status))
        if len(log.results) != len(index):
            raise ReportError("%s: %d results for %d images" % (log_path, len(log.results), len(index)))
        for k, (entry, result) in enumerate(zip(index, log.results)):
            if result.index is not None and result.index != k:
                raise ReportError("%s: result %d names image %d" % (log_path, k, result.index))
            rows.append({"position": entry["position"], "path": entry["path"], "label": entry["label"],
                         "device_text": result.text, "device_score": result.score,
                         "instructions": log.instructions[k] if k < len(log.instructions) else None})
    return sorted(rows, key=lambda row: row["position"])


def accuracy_threshold(metrics, count, split="test"):
    """The model's word accuracy on ``split`` less 3 binomial standard errors at ``count`` images."""
    test = metrics.get(split) or {}
    accuracy = test.get("word_acc", test.get("word_accuracy"))
    if accuracy is None:
        raise ReportError("metrics.json has no %s word accuracy (%s.word_acc)" % (split, split))
    spread = 3.0 * math.sqrt(max(accuracy * (1.0 - accuracy), 0.0) / max(count, 1))
    return max(0.0, accuracy - spread), accuracy


def evaluate(rows, reference, threshold, tolerance, min_agreement=1.0):
    """Accuracy against the labels and agreement with the host. Every image must
    agree (text, score within tolerance) unless min_agreement < 1: then that
    fraction must, and the others are listed in the report, not failures."""
    by_path = {entry["path"]: entry for entry in reference["images"]}
    failures = []
    for row in rows:
        ref = by_path.get(row["path"])
        if ref is None:
            raise ReportError("no host reference for %s" % row["path"])
        row["host_text"], row["host_score"] = ref["text"], ref["score"]
        row["score_diff"] = abs(row["device_score"] - ref["score"])
        row["agrees"] = row["device_text"] == ref["text"] and row["score_diff"] <= tolerance
        row["correct"] = row["label"] is not None and row["device_text"] == row["label"]
        row["char_acc"] = (1.0 - norm_edit_distance(row["device_text"], row["label"])
                           if row["label"] is not None else None)
        if not row["agrees"] and min_agreement >= 1.0:
            failures.append("%s: device read %r (score %.6f), host %r (score %.6f)"
                            % (os.path.basename(row["path"]), row["device_text"], row["device_score"],
                               ref["text"], ref["score"]))
    agreement = sum(row["agrees"] for row in rows) / len(rows) if rows else 0.0
    if min_agreement < 1.0 and agreement < min_agreement:
        failures.append("device = host on %.2f%% of the images, below %.2f%% (disagree: %s)"
                        % (100 * agreement, 100 * min_agreement,
                           ", ".join(os.path.basename(r["path"]) for r in rows if not r["agrees"])))
    labelled = [row for row in rows if row["label"] is not None]
    word_acc = sum(row["correct"] for row in labelled) / len(labelled) if labelled else None
    char_acc = sum(row["char_acc"] for row in labelled) / len(labelled) if labelled else None
    if word_acc is not None and word_acc < threshold:
        wrong = [os.path.basename(row["path"]) for row in labelled if not row["correct"]]
        failures.append("word accuracy %.4f below the threshold %.4f; misread: %s"
                        % (word_acc, threshold, ", ".join(wrong)))
    counts = [row["instructions"] for row in rows if row["instructions"]]
    labels = [row["label"] for row in labelled]
    host = score([row["host_text"] for row in labelled], labels) if labelled else None
    summary = {
        "images": len(rows), "labelled": len(labelled),
        "word_accuracy": word_acc, "char_accuracy": char_acc, "accuracy_threshold": threshold,
        "host_word_accuracy": host["word_acc"] if host else None,
        "host_char_accuracy": host["char_acc"] if host else None,
        "misreads": misread_kinds([row["device_text"] for row in labelled], labels),
        "agreement": agreement, "min_agreement": min_agreement,
        "max_score_diff": max((row["score_diff"] for row in rows), default=0.0),
        "score_tolerance": tolerance,
        "instructions_per_image": {"min": min(counts), "max": max(counts),
                                   "mean": sum(counts) / len(counts)} if counts else None,
        "passed": not failures,
    }
    return summary, failures


def write_markdown(path, summary, rows, failures, sheet_name, title="On-device test"):
    ok = "PASSED" if summary["passed"] else "FAILED"
    lines = ["# %s: %s" % (title, ok), "",
             "| | |", "|---|---|",
             "| images | %d (%d labelled) |" % (summary["images"], summary["labelled"])]
    if summary["word_accuracy"] is not None:
        lines += ["| word accuracy | %.2f%% (threshold %.2f%%) |"
                  % (100 * summary["word_accuracy"], 100 * summary["accuracy_threshold"]),
                  "| character accuracy | %.2f%% |" % (100 * summary["char_accuracy"]),
                  "| host reference (%s) | word %.2f%%, character %.2f%% |"
                  % (summary.get("reference_model") or "Paddle", 100 * summary["host_word_accuracy"],
                     100 * summary["host_char_accuracy"]),
                  "| misreads | %s |" % (", ".join("%s %d" % kv for kv in sorted(
                      summary["misreads"].items(), key=lambda kv: -kv[1]) if kv[1]) or "none")]
    lines += ["| device = host | %.2f%% of images, max score difference %.2g |"
              % (100 * summary["agreement"], summary["max_score_diff"])]
    if summary["instructions_per_image"]:
        lines.append("| instructions per image | %.3g (min %d, max %d) |"
                     % (summary["instructions_per_image"]["mean"], summary["instructions_per_image"]["min"],
                        summary["instructions_per_image"]["max"]))
    if failures:
        lines += ["", "## Failures", ""] + ["- %s" % f for f in failures]
    wrong = [row for row in rows if row["label"] is not None and not row["correct"]]
    wrong.sort(key=lambda row: row["char_acc"])
    if wrong:
        lines += ["", "## Misread images (worst first)", "", "| image | label | device read | score |",
                  "|---|---|---|---|"]
        lines += ["| %s | `%s` | `%s` | %.3f |" % (os.path.basename(r["path"]), r["label"], r["device_text"],
                                                   r["device_score"]) for r in wrong[:50]]
    lines += ["", "![contact sheet](%s)" % sheet_name, ""]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))


def write_contact_sheet(path, rows, columns=4, cell=(320, 48), limit=200):
    """The misread images (worst first), then the rest, each with what the device
    read under it: green when it matches the label, red (and the label) when not."""
    from PIL import Image, ImageDraw, ImageFont
    from model.preprocess import decode_image
    wrong = lambda row: row["label"] is not None and not row["correct"]
    shown = sorted(rows, key=lambda row: (not wrong(row), row["char_acc"] if wrong(row) else 0))[:limit]
    text_h = 18
    rows_n = max(1, math.ceil(len(shown) / columns))
    sheet = Image.new("RGB", (columns * (cell[0] + 8), rows_n * (cell[1] + text_h + 8)), "white")
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 13)
    except OSError:
        font = ImageFont.load_default()
    for k, row in enumerate(shown):
        x = (k % columns) * (cell[0] + 8) + 4
        y = (k // columns) * (cell[1] + text_h + 8) + 4
        image = Image.fromarray(decode_image(row["path"]))
        image.thumbnail(cell)
        sheet.paste(image, (x, y))
        text = row["device_text"][:40] + ("  (%s)" % row["label"][:30] if wrong(row) else "")
        draw.text((x, y + cell[1] + 2), text, fill=(200, 0, 0) if wrong(row) else (0, 128, 0), font=font)
    sheet.save(path, optimize=False)


def write_junit(path, rows, summary, failures):
    suite = ElementTree.Element("testsuite", name="device", tests=str(len(rows) + 1),
                                failures=str(sum(not r["agrees"] for r in rows)
                                             + int(summary["word_accuracy"] is not None
                                                   and summary["word_accuracy"] < summary["accuracy_threshold"])))
    for row in rows:
        case = ElementTree.SubElement(suite, "testcase", classname="device.agreement",
                                      name=os.path.basename(row["path"]))
        if not row["agrees"]:
            ElementTree.SubElement(case, "failure", message="device %r != host %r (score diff %.3g)"
                                   % (row["device_text"], row["host_text"], row["score_diff"]))
    case = ElementTree.SubElement(suite, "testcase", classname="device.accuracy", name="word_accuracy")
    if summary["word_accuracy"] is not None and summary["word_accuracy"] < summary["accuracy_threshold"]:
        ElementTree.SubElement(case, "failure", message="word accuracy %.4f < %.4f"
                               % (summary["word_accuracy"], summary["accuracy_threshold"]))
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", nargs=2, action="append", required=True, metavar=("INDEX", "LOG"))
    parser.add_argument("--reference", required=True)
    parser.add_argument("--metrics", help="the model's metrics.json (default threshold)")
    parser.add_argument("--split", default="test",
                        help="the metrics.json split the threshold comes from (test, real_val)")
    parser.add_argument("--title", default="On-device test", help="report.md's heading")
    parser.add_argument("--min-accuracy", type=float)
    parser.add_argument("--score-tolerance", type=float, default=1e-4)
    parser.add_argument("--min-agreement", type=float, default=1.0,
                        help="fraction of images whose device text must equal the host's "
                             "(1: all; an int8 build against onnxruntime's QDQ run: 0.99)")
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args(argv)
    try:
        rows = device_results(args.run)
        if args.min_accuracy is not None:
            threshold, model_accuracy = args.min_accuracy, None
        elif args.metrics:
            threshold, model_accuracy = accuracy_threshold(_load_json(args.metrics), len(rows), args.split)
        else:
            raise ReportError("give --metrics or --min-accuracy")
        reference = _load_json(args.reference)
        summary, failures = evaluate(rows, reference, threshold, args.score_tolerance, args.min_agreement)
        source = str(reference.get("model", ""))
        summary["reference_model"] = ("onnxruntime, %s" % os.path.basename(source)
                                      if source.endswith(".onnx") else "Paddle")
    except ReportError as err:
        print("error: %s" % err, file=sys.stderr)
        return 1
    summary["model_word_accuracy"] = model_accuracy
    summary["model_word_accuracy_split"] = args.split if model_accuracy is not None else None
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump({"summary": summary, "failures": failures, "images": rows}, handle, indent=1,
                  sort_keys=True)
        handle.write("\n")
    write_markdown(os.path.join(args.out_dir, "report.md"), summary, rows, failures, "contact_sheet.png",
                   args.title)
    write_contact_sheet(os.path.join(args.out_dir, "contact_sheet.png"), rows)
    write_junit(os.path.join(args.out_dir, "junit.xml"), rows, summary, failures)
    word = summary["word_accuracy"]
    print("%s: %d images, word accuracy %s, device = host on %.1f%%: %s"
          % (args.title, len(rows), "%.2f%%" % (100 * word) if word is not None else "n/a",
             100 * summary["agreement"], "PASSED" if summary["passed"] else "FAILED"))
    for failure in failures:
        print("error: %s" % failure, file=sys.stderr)
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    from model.errors import run_main
    sys.exit(run_main(main, paddle=False))
