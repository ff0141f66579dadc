"""Text detection and end-to-end metrics in the ICDAR 2015 way (IoU protocol).

    python -m host.detmetrics --gt labels.txt --pred pred.json --out report.json \\
        [--md report.md] [--iou 0.5] [--min-score S]

``--gt`` is a PaddleOCR detection label file (``image<TAB>[{"transcription": ...,
"points": [[x, y], ...]}, ...]`` a line, as model.scenes writes); ``--pred`` a JSON
object ``{image: [{"points": [[x, y], ...], "transcription": str, "score": float}]}``
(an image may be missing: it had no detections; a prediction for an image the
ground truth does not have is an error).  Prediction keys are matched to the
label file's image paths exactly, or by file name when that is unambiguous.

The protocol is ICDAR 2015 Robust Reading Challenge 4's (its ``script.py`` with
the IoU criterion; where this differs, it says so):
  * ground truth transcribed ``###`` is don't-care: neither found nor missed;
    a detection whose area lies more than half inside don't-care regions is
    dropped from the count, as in the official script;
  * a pair matches when their polygon IoU (shapely) is at least ``--iou``
    (0.5; the official script: strictly more), one-to-one, matched greedily by
    decreasing IoU (the official script takes pairs in index order; the two
    agree whenever neither the words nor the detections overlap each other).
    A second detection of a matched word is a false positive;
  * detection precision = matched / detections, recall = matched / words,
    hmean their harmonic mean, over all images together (not an average of
    per-image values); with no words at all recall is 1 and precision 1 if
    there are no detections either, else 0 (the official per-image rule);
  * end to end ("generic" vocabulary, no lexicon): a match also needs the
    recognized text equal to the transcription ignoring case (str.casefold,
    spaces kept); the pairs are matched one-to-one among those with equal
    text, so a duplicate detection with a misread cannot take a word from a
    correct one.  The official end-to-end script also drops punctuation at a
    word's ends; this one compares the strings as they are.

``evaluate(gt, pred)`` returns the report: ``{"summary": {precision, recall,
hmean, e2e_precision, e2e_recall, e2e_hmean, matched, e2e_matched, gt, gt_care,
det, det_care, images, iou_threshold, ...}, "images": [one row per image, sorted
by name: the same counts and scores, "matches" (gt/det index, iou, both texts,
text_ok, e2e), "missed", "false_positives", "dont_care_dets"]}``;
``markdown(report)`` renders it; ``read_gt(path)`` parses a label file (keys: the
image paths as written in it).
"""
import argparse
import json
import math
import os
import sys

from model.errors import ModelError

DONT_CARE = "###"
AREA_PRECISION_CONSTRAINT = 0.5  # a detection this much inside don't-care regions is ignored


class DetMetricsError(ModelError):
    """Bad ground truth or predictions (one line, exit code 2 from the CLI)."""


# ------------------------------------------------------------------ input
def _polygon(points, where):
    from shapely.geometry import Polygon
    from shapely.validation import make_valid
    try:
        pts = [(float(x), float(y)) for x, y in points]
    except (TypeError, ValueError):
        raise DetMetricsError("%s: points must be a list of [x, y] pairs" % where) from None
    if len(pts) < 3:
        raise DetMetricsError("%s: a polygon needs at least 3 points, got %d" % (where, len(pts)))
    if not all(math.isfinite(v) for p in pts for v in p):
        raise DetMetricsError("%s: points must be finite numbers" % where)
    poly = Polygon(pts)
    if not poly.is_valid:  # self-intersecting (a bow tie, points out of order): its polygonal part
        fixed = make_valid(poly)
        parts = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")]
        from shapely.ops import unary_union
        poly = unary_union(parts) if parts else Polygon()
    return poly


def _entries(items, where, need_text):
    if not isinstance(items, list):
        raise DetMetricsError("%s: expected a list of {points, transcription}" % where)
    out = []
    for k, item in enumerate(items):
        at = "%s[%d]" % (where, k)
        if not isinstance(item, dict) or "points" not in item:
            raise DetMetricsError("%s: expected an object with points" % at)
        text = item.get("transcription", "")
        if need_text and "transcription" not in item:
            raise DetMetricsError("%s: ground truth needs a transcription" % at)
        if not isinstance(text, str):
            raise DetMetricsError("%s: transcription must be a string" % at)
        score = item.get("score")
        if score is not None and not isinstance(score, (int, float)):
            raise DetMetricsError("%s: score must be a number" % at)
        out.append({"polygon": _polygon(item["points"], at), "transcription": text,
                    "points": item["points"], "score": score})
    return out


def read_gt(path):
    """{image path as written in the file: [{"points", "transcription"}]} of a
    PaddleOCR detection label file."""
    if not os.path.isfile(path):
        raise DetMetricsError("ground truth not found: %s" % path)
    gt = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if "\t" not in line:
                raise DetMetricsError("%s:%d: expected 'image<TAB>json'" % (path, n))
            image, blob = line.split("\t", 1)
            try:
                gt[image] = json.loads(blob)
            except ValueError as exc:
                raise DetMetricsError("%s:%d: not JSON: %s" % (path, n, exc)) from None
    if not gt:
        raise DetMetricsError("ground truth %s has no images" % path)
    return gt


def read_pred(path):
    try:
        with open(path, encoding="utf-8") as f:
            pred = json.load(f)
    except OSError as exc:
        raise DetMetricsError("cannot read predictions %s: %s" % (path, exc.strerror or exc)) from None
    except ValueError as exc:
        raise DetMetricsError("predictions %s: not JSON: %s" % (path, exc)) from None
    if not isinstance(pred, dict):
        raise DetMetricsError("predictions %s: expected {image: [detections]}" % path)
    return pred


def _align(gt, pred):
    """pred re-keyed by the ground truth's image names (exact, else by file name)."""
    by_name = {}
    for image in gt:
        by_name.setdefault(os.path.basename(image), []).append(image)
    out = {}
    for key, dets in pred.items():
        if key in gt:
            image = key
        else:
            cands = by_name.get(os.path.basename(key), [])
            if len(cands) != 1:
                raise DetMetricsError("prediction for %r: %s" % (
                    key, "no such image in the ground truth" if not cands else
                    "its file name is ambiguous in the ground truth (%s)" % ", ".join(cands)))
            image = cands[0]
        if image in out:
            raise DetMetricsError("two prediction entries for image %s" % image)
        out[image] = dets
    return out


# ------------------------------------------------------------------ matching
def _iou(a, b):
    if a.is_empty or b.is_empty or a.area <= 0 or b.area <= 0:
        return 0.0
    ax0, ay0, ax1, ay1 = a.bounds
    bx0, by0, bx1, by1 = b.bounds
    if ax0 >= bx1 or bx0 >= ax1 or ay0 >= by1 or by0 >= ay1:
        return 0.0
    inter = a.intersection(b).area
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _greedy(pairs):
    """One-to-one matching of (iou, gt, det) candidates, highest IoU first."""
    used_g, used_d, out = set(), set(), []
    for iou, g, d in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if g not in used_g and d not in used_d:
            used_g.add(g)
            used_d.add(d)
            out.append((g, d, iou))
    return sorted(out)


def prh(matched, n_gt, n_det):
    """(precision, recall, hmean) by the official rule for empty sets."""
    if n_gt == 0:
        recall, precision = 1.0, (0.0 if n_det > 0 else 1.0)
    else:
        recall = matched / n_gt
        precision = matched / n_det if n_det else 0.0
    hmean = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, hmean


def _same_text(a, b):
    return a.casefold() == b.casefold()


def evaluate_image(gts, dets, iou_threshold=0.5):
    """One image's row (without its name); gts/dets as from ``_entries``."""
    care_g = [i for i, g in enumerate(gts) if g["transcription"] != DONT_CARE]
    dont = [gts[i]["polygon"] for i, g in enumerate(gts) if g["transcription"] == DONT_CARE]
    care_d = []
    for j, d in enumerate(dets):
        area = d["polygon"].area
        inside = sum(d["polygon"].intersection(p).area for p in dont) if dont and area > 0 else 0.0
        if not (dont and area > 0 and inside / area > AREA_PRECISION_CONSTRAINT):
            care_d.append(j)
    pairs = []
    for i in care_g:
        for j in care_d:
            iou = _iou(gts[i]["polygon"], dets[j]["polygon"])
            if iou >= iou_threshold:
                pairs.append((iou, i, j))
    det_matches = _greedy(pairs)
    e2e_matches = _greedy([p for p in pairs if _same_text(gts[p[1]]["transcription"],
                                                          dets[p[2]]["transcription"])])
    p, r, h = prh(len(det_matches), len(care_g), len(care_d))
    ep, er, eh = prh(len(e2e_matches), len(care_g), len(care_d))
    found_g = {g for g, _, _ in det_matches}
    found_d = {d for _, d, _ in det_matches}
    e2e_pairs = {(g, d) for g, d, _ in e2e_matches}
    return {
        "gt": len(gts), "gt_care": len(care_g), "det": len(dets), "det_care": len(care_d),
        "matched": len(det_matches), "e2e_matched": len(e2e_matches),
        "precision": p, "recall": r, "hmean": h,
        "e2e_precision": ep, "e2e_recall": er, "e2e_hmean": eh,
        "matches": [{"gt": g, "det": d, "iou": round(iou, 4),
                     "gt_text": gts[g]["transcription"], "det_text": dets[d]["transcription"],
                     "text_ok": _same_text(gts[g]["transcription"], dets[d]["transcription"]),
                     "e2e": (g, d) in e2e_pairs}
                    for g, d, iou in det_matches],
        "missed": [{"gt": i, "gt_text": gts[i]["transcription"]} for i in care_g if i not in found_g],
        "false_positives": [{"det": j, "det_text": dets[j]["transcription"]}
                            for j in care_d if j not in found_d],
        "dont_care_dets": [j for j in range(len(dets)) if j not in care_d],
    }


def evaluate(gt, pred, iou_threshold=0.5, min_score=None):
    """The report of predictions ``pred`` against ground truth ``gt`` (both
    {image: [{"points": N x 2, "transcription": str[, "score"]}]})."""
    if not isinstance(gt, dict) or not isinstance(pred, dict):
        raise DetMetricsError("ground truth and predictions must be {image: [...]} objects")
    if not 0 < iou_threshold <= 1:
        raise DetMetricsError("the IoU threshold must be in (0, 1], got %r" % (iou_threshold,))
    pred = _align(gt, pred)
    rows, totals = [], {"gt": 0, "gt_care": 0, "det": 0, "det_care": 0, "matched": 0, "e2e_matched": 0}
    for image in sorted(gt):
        gts = _entries(gt[image], "ground truth %s" % image, need_text=True)
        dets = _entries(pred.get(image, []), "predictions %s" % image, need_text=False)
        if min_score is not None:
            dets = [d for d in dets if d["score"] is None or d["score"] >= min_score]
        row = dict(image=image, **evaluate_image(gts, dets, iou_threshold))
        rows.append(row)
        for k in totals:
            totals[k] += row[k]
    p, r, h = prh(totals["matched"], totals["gt_care"], totals["det_care"])
    ep, er, eh = prh(totals["e2e_matched"], totals["gt_care"], totals["det_care"])
    summary = dict(totals, images=len(rows), iou_threshold=iou_threshold, min_score=min_score,
                   precision=p, recall=r, hmean=h, e2e_precision=ep, e2e_recall=er, e2e_hmean=eh,
                   protocol="ICDAR 2015 IoU (greedy by IoU, IoU >= threshold, '###' don't care); "
                            "end to end: + case-insensitive equal text")
    return {"summary": summary, "images": rows}


# ------------------------------------------------------------------ reports
def markdown(report, worst=30, title="Text detection and end-to-end recognition"):
    s = report["summary"]
    out = ["# %s" % title, "",
           "%d images, %d words (%d don't care), %d detections; IoU >= %g%s." % (
               s["images"], s["gt"], s["gt"] - s["gt_care"], s["det"], s["iou_threshold"],
               "" if s.get("min_score") is None else ", score >= %g" % s["min_score"]),
           "",
           "| | precision | recall | hmean | matched |",
           "|---|---:|---:|---:|---:|",
           "| detection | %.4f | %.4f | %.4f | %d |" % (s["precision"], s["recall"], s["hmean"],
                                                     s["matched"]),
           "| end to end | %.4f | %.4f | %.4f | %d |" % (s["e2e_precision"], s["e2e_recall"], s["e2e_hmean"],
                                                      s["e2e_matched"]),
           ""]
    rows = sorted(report["images"], key=lambda r: (r["hmean"], r["e2e_hmean"], r["image"]))
    bad = [r for r in rows if r["hmean"] < 1 or r["e2e_hmean"] < 1][:worst]
    if bad:
        out += ["## Images with misses (worst %d of %d)" % (len(bad), sum(
                    1 for r in rows if r["hmean"] < 1 or r["e2e_hmean"] < 1)), "",
                "| image | words | detections | matched | e2e | missed | false positives | misread |",
                "|---|---:|---:|---:|---:|---|---|---|"]
        for r in bad:
            misread = ["%s→%s" % (m["gt_text"], m["det_text"]) for m in r["matches"] if not m["e2e"]]
            out.append("| %s | %d | %d | %d | %d | %s | %s | %s |" % (
                r["image"], r["gt_care"], r["det_care"], r["matched"], r["e2e_matched"],
                _cell(m["gt_text"] for m in r["missed"]), _cell(f["det_text"] for f in r["false_positives"]),
                _cell(misread)))
    else:
        out.append("Every word found and read.")
    return "\n".join(out) + "\n"


def _cell(texts):
    texts = ["`%s`" % t.replace("|", "\\|").replace("`", "'") for t in texts]
    return ", ".join(texts[:6]) + (" (+%d)" % (len(texts) - 6) if len(texts) > 6 else "")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise DetMetricsError("%s: %s" % (self.prog, message))


def main(argv=None):
    ap = _Parser(prog="python -m host.detmetrics", description=__doc__.split("\n")[0])
    ap.add_argument("--gt", required=True, help="PaddleOCR detection label file")
    ap.add_argument("--pred", required=True, help="{image: [{points, transcription, score}]} JSON")
    ap.add_argument("--out", required=True, help="report.json")
    ap.add_argument("--md", help="also write the report as markdown")
    ap.add_argument("--iou", type=float, default=0.5)
    ap.add_argument("--min-score", type=float, help="ignore detections scored below this")
    a = ap.parse_args(argv)
    report = evaluate(read_gt(a.gt), read_pred(a.pred), a.iou, a.min_score)
    from model.files import write_atomic, write_json
    write_json(a.out, report)
    if a.md:
        write_atomic(a.md, markdown(report))
    s = report["summary"]
    print("%d images: detection P %.4f R %.4f H %.4f; end to end P %.4f R %.4f H %.4f: %s"
          % (s["images"], s["precision"], s["recall"], s["hmean"], s["e2e_precision"],
             s["e2e_recall"], s["e2e_hmean"], a.out))
    return 0


if __name__ == "__main__":
    from model.errors import run_main
    sys.exit(run_main(main, paddle=False))
