"""Whole-image OCR on the host: the device's inputs, its reference and its report.

    python -m host.scene blob --out images.bin --index images.json IMAGE...
    python -m host.scene config --det DET_DIR --rec REC_DIR --out config.c [--max-boxes 32 ...]
    python -m host.scene reference --det DET_DIR --det-input 480x640 --rec REC_DIR \
        --json reference.json IMAGE...
    python -m host.scene report --log run.log --reference reference.json \
        --out report.json [--draw ocr.png]
    python -m host.scene draw --log run.log --out ocr.png IMAGE

``blob``: the firmware's OCRS image blob (firmware/app/scene/scene_image.h):
each image decoded as the rest of the project decodes (model.preprocess.
decode_image), stored at full resolution in B G R order.

``config``: the pipeline's settings as C (scene_config.h): PaddleOCR's DB
post-processing parameters (thresh 0.3, box_thresh 0.6, unclip_ratio 1.5,
min_size 3: DBPostProcess's defaults in PaddleOCR's det configs), the box
limit, TextSystem's drop_score (0.5), the detector's normalisation and the
recognizer's channel order, from the two models' meta.json.

``reference``: the same pipeline with PaddleOCR's own code where the device
has its own C: the detector input made exactly as the device makes it
(``fit``, ``detector_input`` mirror resample.c), the detector run by
onnxruntime, ppocr's ``DBPostProcess`` on the valid region of the map,
predict_det's box filter and predict_system's reading order (a few lines,
re-written here: their modules import all of ppocr), ppocr's
``get_rotate_crop_image`` and the recognizer on Paddle Inference
(model.inference.Recognizer, the recognizer's reference everywhere else).

``draw``: the image with the boxes and texts of the device's log drawn
(``./scons deploy pipeline=ocr`` writes build/deploy/ocr.png).

``report``: the device's log against the reference: the same number of boxes
per image, every corner within ``--corner-tolerance`` pixels (2), the same
texts; report.json and report.md, and with ``--draw`` the image with the
device's boxes and texts drawn. Exit 1 when they disagree.
"""
import argparse
import json
import os
import re
import struct
import sys

import numpy as np

MAGIC, VERSION = b"OCRS", 1
HEADER = struct.Struct("<4sHHH6x")     # magic, version, count, channels
RECORD = struct.Struct("<HH12x")       # width, height
ALIGN = 16
MAX_SIDE = 4096                        # a u16 in the record; DDR holds far more
DB_PARAMS = {"threshold": 0.3, "box_threshold": 0.6, "unclip_ratio": 1.5, "min_size": 3}
BOX_CAPACITY = 64                      # SCENE_BOX_CAPACITY in scene_config.h
LINE = re.compile(r"^(?:image: (\d+), )?box: (-?\d+(?:,-?\d+){7}), text: (.*), score: ([0-9.]+)\s*$")
STAGES = re.compile(r"^(?:image: (\d+), )?stages: detector (\d+), post-processing (\d+), recognition (\d+) "
                    r"\((\d+) lines\)")
SUMMARY = re.compile(r"^(?:image: (\d+), )?(?:no text found|texts: \d+) \((\d+) boxes, (\d+) read")


class SceneError(Exception):
    """Bad input: one line for the user."""


# ---------------------------------------------------------------------------
# The device's geometry, mirrored (firmware/app/scene/resample.c)
# ---------------------------------------------------------------------------
def fit(src_w, src_h, in_w, in_h):
    """(w, h) the image takes inside the detector input: scene_fit."""
    if src_w * in_h >= src_h * in_w:
        w, h = in_w, (2 * src_h * in_w + src_w) // (2 * src_w)
    else:
        w, h = (2 * src_w * in_h + src_h) // (2 * src_h), in_h
    return min(max(w, 1), in_w), min(max(h, 1), in_h)


def _taps(n_out, n_in):
    step = np.float32(n_in) / np.float32(n_out)
    at = np.maximum((np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * step - np.float32(0.5),
                    np.float32(0))
    lower = at.astype(np.int64)
    weight = at - lower.astype(np.float32)
    last = lower >= n_in - 1
    lower = np.where(last, n_in - 1, lower)
    weight = np.where(last, np.float32(0), weight).astype(np.float32)
    upper = np.where(weight > 0, lower + 1, lower)
    return lower, upper, weight


def detector_input(bgr, fit_w, fit_h, in_w, in_h, mean, std):
    """[1, 3, in_h, in_w] float32: scene_detector_input in numpy."""
    h, w = bgr.shape[:2]
    x0, x1, wx = _taps(fit_w, w)
    y0, y1, wy = _taps(fit_h, h)
    img = bgr.astype(np.float32)
    top0, top1 = img[y0][:, x0], img[y0][:, x1]
    bot0, bot1 = img[y1][:, x0], img[y1][:, x1]
    wx, wy = wx[None, :, None], wy[:, None, None]
    upper = top0 + (top1 - top0) * wx
    lower = bot0 + (bot1 - bot0) * wx
    value = upper + (lower - upper) * wy
    scale = np.float32(1.0) / (np.float32(255.0) * np.asarray(std, np.float32))
    shift = np.asarray(mean, np.float32) / np.asarray(std, np.float32)
    out = np.zeros((1, 3, in_h, in_w), np.float32)
    out[0, :, :fit_h, :fit_w] = (value * scale - shift).transpose(2, 0, 1)
    return out


# ---------------------------------------------------------------------------
# blob and config
# ---------------------------------------------------------------------------
def decode_bgr(path):
    from model.errors import ModelError
    from model.preprocess import decode_image
    try:
        rgb = decode_image(path)
    except ModelError as err:
        raise SceneError(str(err)) from None
    if max(rgb.shape[:2]) > MAX_SIDE:
        raise SceneError("%s: %dx%d is larger than the blob takes (%d pixels a side)"
                         % (path, rgb.shape[1], rgb.shape[0], MAX_SIDE))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def write_blob(paths, out, index_path):
    from model.files import write_atomic
    from model.labelfile import recorded_path
    if not paths:
        raise SceneError("no images given")
    records, index = [], []
    for position, path in enumerate(paths):
        bgr = decode_bgr(path)
        h, w = bgr.shape[:2]
        body = RECORD.pack(w, h) + bgr.tobytes()
        records.append(body + b"\0" * (-len(body) % ALIGN))
        index.append({"position": position, "path": recorded_path(path), "width": w, "height": h})
    blob = HEADER.pack(MAGIC, VERSION, len(records), 3) + b"".join(records)
    write_atomic(out, blob)
    write_atomic(index_path, json.dumps({"images": index}, indent=1) + "\n")


def read_meta(folder):
    path = os.path.join(folder, "meta.json")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as err:
        raise SceneError("cannot read %s: %s" % (path, err)) from None


def config_c(det_meta, rec_meta, max_boxes, drop_score, params=DB_PARAMS):
    if det_meta.get("model_type") != "det" or det_meta.get("channel_order") != "BGR":
        raise SceneError("the detector's meta.json is not a BGR DB detector's (model.detector writes it)")
    if not 1 <= max_boxes <= BOX_CAPACITY:
        raise SceneError("box limit %d: must be between 1 and %d" % (max_boxes, BOX_CAPACITY))
    order = rec_meta.get("channel_order", "RGB")
    if order not in ("RGB", "BGR"):
        raise SceneError("the recognizer's channel_order %r is neither RGB nor BGR" % order)

    def floats(values):
        return ", ".join("%.9gf" % float(v) for v in values)
    return "\n".join([
        "/* Generated by host/scene.py config: do not edit. */",
        '#include "scene_config.h"', "",
        "const ocr_db_params scene_db_params = {%.9gf, %.9gf, %.9gf, %d};"
        % (params["threshold"], params["box_threshold"], params["unclip_ratio"], params["min_size"]),
        "const unsigned scene_max_boxes = %du;" % max_boxes,
        "const float scene_drop_score = %.9gf;" % drop_score,
        "const float scene_det_mean[3] = {%s};" % floats(det_meta["mean"]),
        "const float scene_det_std[3] = {%s};" % floats(det_meta["std"]),
        "const int scene_rec_bgr = %d;" % (order == "BGR"), ""])


# ---------------------------------------------------------------------------
# reference: PaddleOCR's post-processing and crop
# ---------------------------------------------------------------------------
def order_points_clockwise(pts):
    """predict_det.TextDetector.order_points_clockwise: top-left (smallest x + y),
    top-right, bottom-right (largest x + y), bottom-left."""
    pts = np.asarray(pts, np.float32)
    s = pts.sum(1)
    rest = np.delete(pts, (np.argmin(s), np.argmax(s)), axis=0)
    d = np.diff(rest, axis=1)
    return np.array([pts[np.argmin(s)], rest[np.argmin(d)], pts[np.argmax(s)], rest[np.argmax(d)]], np.float32)


def filter_boxes(boxes, h, w):
    """predict_det.TextDetector.filter_tag_det_res (with clip_det_res): corners
    ordered clockwise, clipped to the image as whole pixels, boxes 3 pixels or
    less across dropped -> [(index in boxes, box)]."""
    kept = []
    for k, box in enumerate(boxes):
        box = order_points_clockwise(box)
        box[:, 0] = np.clip(box[:, 0], 0, w - 1).astype(np.int64)
        box[:, 1] = np.clip(box[:, 1], 0, h - 1).astype(np.int64)
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        kept.append((k, box))
    return kept


def reading_order(items, box=lambda item: item):
    """predict_system.sorted_boxes: by the top-left corner's y then x, then
    boxes within 10 pixels vertically swapped into left-to-right order
    (``box(item)`` is an item's corners)."""
    out = sorted(items, key=lambda it: (box(it)[0][1], box(it)[0][0]))
    for i in range(len(out) - 1):
        for j in range(i, -1, -1):
            a, b = box(out[j]), box(out[j + 1])
            if abs(b[0][1] - a[0][1]) < 10 and b[0][0] < a[0][0]:
                out[j], out[j + 1] = out[j + 1], out[j]
            else:
                break
    return out


def db_postprocess(module):
    """ppocr's DBPostProcess with PaddleOCR's inference settings (DB_PARAMS)."""
    return module.DBPostProcess(thresh=DB_PARAMS["threshold"], box_thresh=DB_PARAMS["box_threshold"],
                                max_candidates=1000, unclip_ratio=DB_PARAMS["unclip_ratio"],
                                use_dilation=False, score_mode="fast", box_type="quad")


class Reference:
    def __init__(self, det_dir, det_input, rec_dir, max_boxes=32, drop_score=0.5, rec_onnx=None):
        import onnxruntime as ort
        from model.inference import Recognizer
        self.det_meta = read_meta(det_dir)
        self.in_h, self.in_w = det_input
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        onnx_path = os.path.join(det_dir, "inference.onnx")
        if not os.path.isfile(onnx_path):
            raise SceneError("%s: the host reference runs the detector's ONNX file" % onnx_path)
        self.session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
        if rec_onnx:  # precision=int8: the QDQ model the device runs, on onnxruntime
            from host.predict import onnx_recognizer
            self.recognizer = onnx_recognizer(rec_dir, rec_onnx)
        else:
            self.recognizer = Recognizer(rec_dir)
        from model import ppocr_path
        self.post = db_postprocess(ppocr_path.db_postprocess())
        self.crop = ppocr_path.load_file("tools/infer/utility.py").get_rotate_crop_image
        self.max_boxes, self.drop_score = max_boxes, drop_score

    def boxes(self, bgr):
        h, w = bgr.shape[:2]
        fit_w, fit_h = fit(w, h, self.in_w, self.in_h)
        x = detector_input(bgr, fit_w, fit_h, self.in_w, self.in_h, self.det_meta["mean"], self.det_meta["std"])
        prob = self.session.run(None, {self.session.get_inputs()[0].name: x})[0][0, 0]
        valid = prob[:fit_h, :fit_w]
        found = self.post({"maps": valid[None, None]}, [[h, w, fit_h / h, fit_w / w]])[0]["points"]
        return reading_order([b for _, b in filter_boxes(found, h, w)])

    def read(self, path):
        bgr = decode_bgr(path)
        boxes = self.boxes(bgr)
        lines, dropped = [], 0
        for box in boxes[:self.max_boxes]:
            crop = self.crop(bgr, box.astype(np.float32))
            text, score = self.recognizer.read(np.ascontiguousarray(crop[:, :, ::-1]))
            if score < self.drop_score:
                dropped += 1
                continue
            lines.append({"points": np.asarray(box).astype(int).tolist(), "text": text,
                          "score": round(float(score), 6)})
        return {"path": path, "boxes": len(boxes), "read": min(len(boxes), self.max_boxes),
                "dropped": dropped, "lines": lines}


# ---------------------------------------------------------------------------
# report: device log vs reference
# ---------------------------------------------------------------------------
def parse_log(text):
    """{image index: {"lines": [...], "boxes": n, "read": n}} from the scene app's log."""
    out = {}
    for raw in text.splitlines():
        m = LINE.match(raw.strip())
        if m:
            i = int(m.group(1) or 0)
            xy = [int(v) for v in m.group(2).split(",")]
            out.setdefault(i, {"lines": []})["lines"].append(
                {"points": [xy[k:k + 2] for k in range(0, 8, 2)], "text": m.group(3),
                 "score": float(m.group(4))})
            continue
        m = STAGES.match(raw.strip())
        if m:
            det, post, rec, lines = (int(v) for v in m.groups()[1:])
            out.setdefault(int(m.group(1) or 0), {"lines": []})["stages"] = {
                "detector": det, "post_processing": post, "recognition": rec, "lines": lines,
                "total": det + post + rec}
            continue
        m = SUMMARY.match(raw.strip())
        if m:
            entry = out.setdefault(int(m.group(1) or 0), {"lines": []})
            entry["boxes"], entry["read"] = int(m.group(2)), int(m.group(3))
    return out


def device_results(runs):
    """{image path: parsed entry} from [(log text, images.json content)] of
    the runs (one per blob shard): the log numbers images within its blob."""
    out = {}
    for text, index in runs:
        parsed = parse_log(text)
        for entry in index["images"]:
            if entry["position"] in parsed:
                out[entry["path"]] = parsed[entry["position"]]
    return out


def compare(device, reference, tolerance=2):
    """device: {image path: entry} (device_results); reference: reference.json."""
    rows = []
    for ref in reference["images"]:
        dev = device.get(ref["path"], {"lines": []})
        problems = []
        if "boxes" not in dev:
            problems.append("no summary line on the device")
        elif dev["boxes"] != ref["boxes"]:
            problems.append("%d boxes on the device, %d in the reference" % (dev["boxes"], ref["boxes"]))
        pairs = list(zip(dev["lines"], ref["lines"]))
        if len(dev["lines"]) != len(ref["lines"]):
            problems.append("%d texts on the device, %d in the reference" % (len(dev["lines"]), len(ref["lines"])))
        worst = 0
        for k, (d, r) in enumerate(pairs):
            diff = int(np.abs(np.asarray(d["points"]) - np.asarray(r["points"])).max())
            worst = max(worst, diff)
            if diff > tolerance:
                problems.append("box %d: a corner %d pixels from the reference's" % (k, diff))
            if d["text"] != r["text"]:
                problems.append("box %d: device %r, reference %r" % (k, d["text"], r["text"]))
        rows.append({"image": ref["path"], "device": dev["lines"], "reference": ref["lines"],
                     "instructions": dev.get("stages"),
                     "max_corner_diff": worst, "agree": not problems, "problems": problems})
    agree = sum(r["agree"] for r in rows)
    return {"images": len(rows), "agree": agree, "passed": agree == len(rows) and bool(rows),
            "corner_tolerance": tolerance, "rows": rows}


def read_det_labels(path):
    """{image path: [{"points", "transcription"}]} from a PaddleOCR detection
    label file (``image<TAB>json list``), paths relative to its folder."""
    from model.labelfile import recorded_path
    out = {}
    folder = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                name, _, data = line.rstrip("\n").partition("\t")
                out[recorded_path(os.path.join(folder, name))] = json.loads(data)
    return out


def accuracy(labels_path, device, reference):
    """Detection P/R/hmean (IoU >= 0.5) and end-to-end word recall of the
    device and of the host reference against the ground truth."""
    from host import detmetrics
    gt = read_det_labels(labels_path)

    def predictions(source):
        return {path: [{"points": l["points"], "transcription": l["text"], "score": l["score"]}
                       for l in source.get(path, {"lines": []})["lines"]] for path in gt}
    ref = {r["path"]: r for r in reference["images"]}
    return {"device": detmetrics.evaluate(gt, predictions(device)),
            "host": detmetrics.evaluate(gt, predictions(ref))}


def markdown(report):
    lines = ["# Whole-image OCR: device vs host reference", "",
             "%d of %d images agree (same boxes within %d px, same texts)."
             % (report["agree"], report["images"], report["corner_tolerance"]), "",
             "| image | texts (device) | max corner diff | agree |", "|---|---|---:|---|"]
    for r in report["rows"]:
        lines.append("| %s | %s | %d | %s |" % (os.path.basename(r["image"]),
                                               " / ".join(t["text"] for t in r["device"]) or "(none)",
                                               r["max_corner_diff"], "yes" if r["agree"] else
                                               "no: " + "; ".join(r["problems"])))
    return "\n".join(lines) + "\n"


def draw(path, lines, out):
    """The image with the boxes and texts drawn (PIL's built-in font: no font files)."""
    from PIL import Image, ImageDraw, ImageFont
    from model.files import write_atomic
    import io
    image = Image.fromarray(decode_bgr(path)[:, :, ::-1].copy())
    pen = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for line in lines:
        pts = [tuple(p) for p in line["points"]]
        pen.line(pts + [pts[0]], fill=(255, 0, 0), width=2)
        x, y = pts[0]
        pen.text((x, max(0, y - 12)), "%s %.2f" % (line["text"], line["score"]), fill=(255, 0, 0), font=font)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False, compress_level=6)
    write_atomic(out, buf.getvalue())


def bench(reports):
    """{det_input: report.json} -> the pipeline's bench: instructions per scene
    and per stage, detection and end-to-end scores of the device, per size."""
    sizes = []
    for size, report in sorted(reports.items(), key=lambda kv: _shape(kv[0])[0] * _shape(kv[0])[1]):
        stages = [r["instructions"] for r in report["rows"] if r.get("instructions")]
        lines = sum(s["lines"] for s in stages)
        summary = report.get("accuracy", {}).get("device", {}).get("summary", {})
        sizes.append({
            "det_input": size, "scenes": len(stages), "agree_with_host": report["agree"],
            "instructions_per_scene_mean": int(np.mean([s["total"] for s in stages])) if stages else None,
            "instructions_per_scene_max": max((s["total"] for s in stages), default=None),
            "detector_instructions": int(np.mean([s["detector"] for s in stages])) if stages else None,
            "post_processing_instructions_mean": int(np.mean([s["post_processing"] for s in stages]))
            if stages else None,
            "recognition_instructions_per_line": int(sum(s["recognition"] for s in stages) / lines)
            if lines else None,
            "lines_read": lines,
            "detection_hmean": summary.get("hmean"), "detection_precision": summary.get("precision"),
            "detection_recall": summary.get("recall"), "e2e_recall": summary.get("e2e_recall"),
            "e2e_hmean": summary.get("e2e_hmean")})
    return {"pipeline": "ocr", "sizes": sizes,
            "targets": {"detection_hmean": 0.95, "e2e_recall": 0.90,
                        "instructions_640_wide_scene_le_10_lines": 2_000_000_000}}


def bench_markdown(result):
    lines = ["# Whole-image OCR on the device (rendered scenes)", "",
             "| detector input | scenes | device = host | instructions / scene (mean, max) | detector | "
             "recognition / line | detection hmean | e2e recall |", "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def num(v, fmt="{:,}"):
        return "-" if v is None else fmt.format(v)
    for s in result["sizes"]:
        lines.append("| %s | %d | %d | %s, %s | %s | %s | %s | %s |" % (
            s["det_input"], s["scenes"], s["agree_with_host"], num(s["instructions_per_scene_mean"]),
            num(s["instructions_per_scene_max"]), num(s["detector_instructions"]),
            num(s["recognition_instructions_per_line"]), num(s["detection_hmean"], "{:.3f}"),
            num(s["e2e_recall"], "{:.3f}")))
    lines += ["", "Targets (issue 16): detection hmean >= 0.95, end-to-end recall >= 0.90, <= 2 G instructions "
              "for a 640-wide scene with <= 10 lines."]
    return "\n".join(lines) + "\n"


def _shape(text):
    m = re.fullmatch(r"(\d+)x(\d+)", text or "")
    if not m or int(m.group(1)) % 32 or int(m.group(2)) % 32 or not int(m.group(1)) or not int(m.group(2)):
        raise SceneError("det_input=%s: give HxW, both multiples of 32 (e.g. 480x640)" % text)
    return int(m.group(1)), int(m.group(2))


def main(argv=None):
    from model.files import write_atomic, write_json
    ap = argparse.ArgumentParser(prog="python -m host.scene", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("blob")
    b.add_argument("--out", required=True)
    b.add_argument("--index", required=True)
    b.add_argument("images", nargs="+")
    c = sub.add_parser("config")
    for p in (c,):
        p.add_argument("--det", required=True)
        p.add_argument("--rec", required=True)
    c.add_argument("--out", required=True)
    r = sub.add_parser("reference")
    r.add_argument("--det", required=True)
    r.add_argument("--rec", required=True)
    r.add_argument("--det-input", required=True)
    r.add_argument("--json", required=True)
    r.add_argument("--rec-onnx", help="the recognizer as this ONNX file on onnxruntime (the int8 QDQ model)")
    r.add_argument("images", nargs="+")
    for p in (c, r):
        p.add_argument("--max-boxes", type=int, default=32)
        p.add_argument("--drop-score", type=float, default=0.5)
    rep = sub.add_parser("report")
    rep.add_argument("--log", action="append", required=True, help="a run's log (one per shard)")
    rep.add_argument("--index", action="append", required=True, help="its blob's images.json")
    rep.add_argument("--reference", required=True)
    rep.add_argument("--labels", help="ground truth (PaddleOCR det labels): detection and end-to-end scores")
    rep.add_argument("--out", required=True)
    rep.add_argument("--corner-tolerance", type=int, default=2)
    rep.add_argument("--draw-dir", help="one PNG per image with the device's boxes and texts")
    bn = sub.add_parser("bench")
    bn.add_argument("--report", action="append", required=True, metavar="HxW=REPORT",
                    help="a scene report.json per detector input size")
    bn.add_argument("--out", required=True)
    d = sub.add_parser("draw")
    d.add_argument("--log", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("image")
    a = ap.parse_args(argv)
    try:
        if a.command == "blob":
            write_blob(a.images, a.out, a.index)
        elif a.command == "config":
            write_atomic(a.out, config_c(read_meta(a.det), read_meta(a.rec), a.max_boxes, a.drop_score))
        elif a.command == "reference":
            ref = Reference(a.det, _shape(a.det_input), a.rec, a.max_boxes, a.drop_score, a.rec_onnx)
            write_json(a.json, {"det_input": a.det_input, "images": [ref.read(p) for p in a.images]},
                       sort_keys=False)
        elif a.command == "bench":
            reports = {}
            for item in a.report:
                size, _, path = item.partition("=")
                _shape(size)
                with open(path, encoding="utf-8") as handle:
                    reports[size] = json.load(handle)
            result = bench(reports)
            write_json(a.out, result, sort_keys=False)
            write_atomic(os.path.splitext(a.out)[0] + ".md", bench_markdown(result))
        elif a.command == "draw":
            with open(a.log, encoding="utf-8", errors="replace") as handle:
                device = parse_log(handle.read())
            draw(a.image, device.get(0, {"lines": []})["lines"], a.out)
        else:
            if len(a.log) != len(a.index):
                raise SceneError("give one --index per --log")
            runs = []
            for log, index in zip(a.log, a.index):
                with open(log, encoding="utf-8", errors="replace") as handle, \
                        open(index, encoding="utf-8") as index_file:
                    runs.append((handle.read(), json.load(index_file)))
            device = device_results(runs)
            with open(a.reference, encoding="utf-8") as handle:
                reference = json.load(handle)
            report = compare(device, reference, a.corner_tolerance)
            if a.labels:
                report["accuracy"] = accuracy(a.labels, device, reference)
            write_json(a.out, report, sort_keys=False)
            write_atomic(os.path.splitext(a.out)[0] + ".md", markdown(report))
            if a.draw_dir:
                os.makedirs(a.draw_dir, exist_ok=True)
                for ref in reference["images"]:
                    name = os.path.splitext(os.path.basename(ref["path"]))[0] + ".png"
                    draw(ref["path"], device.get(ref["path"], {"lines": []})["lines"],
                         os.path.join(a.draw_dir, name))
            print("scene report: %d of %d images agree with the host reference -> %s"
                  % (report["agree"], report["images"], a.out))
            return 0 if report["passed"] else 1
    except SceneError as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from model.errors import run_main
    sys.exit(run_main(main))
