"""PaddleOCR's DB text-detection post-processing in C (firmware/app/scene/dbpost.c), compiled
for the host and checked against ppocr's own DBPostProcess followed by predict_det's
filter_tag_det_res and predict_system's sorted_boxes, on generated probability maps; and
compiled once for the Cortex-M55.

The maps are text-like: rotated rectangles (10..200 x 6..40 px, -30..30 degrees, many of them
axis-aligned like document lines) drawn as 0/1 masks, Gaussian-blurred and scaled so the values
ramp like a detector's, some touching the borders, some tiny or faint (must be dropped), with
padding outside the valid region and source sizes different from the map.
"""
import os
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from host import scene
from model import ppocr_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENE = os.path.join(ROOT, "firmware", "app", "scene")
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = [os.path.join(SCENE, "dbpost.c"), os.path.join(HERE, "dbpost_check.c")]

M55_FLAGS = ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-O3", "-std=gnu11",
             "-ffreestanding", "-Wall", "-Wextra", "-Werror"]

CORNER_TOLERANCE = 2.0  # source pixels
SCORE_TOLERANCE = 0.02


# ---------------------------------------------------------------- the C side

@pytest.fixture(scope="module")
def dbpost(tmp_path_factory):
    """dbpost(prob, valid_h, valid_w, src_h, src_w, max_boxes=None, work_bytes=None)
    -> dict(result, found, work, boxes=[(corners 4x2, score)])."""
    out = tmp_path_factory.mktemp("dbpost")
    exe = str(out / "dbpost_check")
    subprocess.run(["gcc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I", SCENE,
                    "-o", exe] + SOURCES + ["-lm"], check=True)
    counter = [0]

    def run(prob, valid_h, valid_w, src_h, src_w, max_boxes=None, work_bytes=None):
        prob = np.ascontiguousarray(prob, np.float32)
        counter[0] += 1
        path = out / ("map%d.f32" % counter[0])
        prob.tofile(path)
        cmd = [exe, str(path), str(prob.shape[0]), str(prob.shape[1]), str(valid_h), str(valid_w),
               str(src_h), str(src_w)]
        if max_boxes is not None or work_bytes is not None:
            cmd.append(str(1000 if max_boxes is None else max_boxes))
        if work_bytes is not None:
            cmd.append(str(work_bytes))
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        path.unlink()
        res = {"boxes": []}
        for line in text.splitlines():
            f = line.split()
            if f[0] == "work":
                res["work"] = int(f[1])
            elif f[0] == "result":
                res["result"], res["found"] = int(f[1]), int(f[3])
            elif f[0] == "box":
                v = [float(x) for x in f[1:]]
                res["boxes"].append((np.array(v[:8]).reshape(4, 2), v[8]))
        return res

    return run


# ---------------------------------------------------------------- the ppocr side

@pytest.fixture(scope="module")
def ppocr_db():
    """ppocr/postprocess/db_postprocess.py loaded on its own (model.ppocr_path)."""
    return ppocr_path.db_postprocess()


def make_post(module):
    return scene.db_postprocess(module)


def filter_tag_det_res(boxes, scores, src_h, src_w):
    """predict_det's filter (host.scene.filter_boxes), keeping each box's score alongside."""
    return [(box, scores[k]) for k, box in scene.filter_boxes(boxes, src_h, src_w)]


def sorted_boxes(items):
    """predict_system's sorted_boxes (host.scene.reading_order) on (box, score) pairs."""
    return scene.reading_order(items, box=lambda item: item[0])


def reference(module, prob, src_h, src_w, contours_mode=None):
    """[(corners 4x2 float32, score)] as PaddleOCR's text detector produces them for the valid
    region `prob`. contours_mode replaces RETR_LIST (to count what the hole contours add)."""
    post = make_post(module)
    valid_h, valid_w = prob.shape
    shape = [[src_h, src_w, src_h / valid_h, src_w / valid_w]]
    real_cv2 = module.cv2
    if contours_mode is not None:
        module.cv2 = _ContoursMode(real_cv2, contours_mode)
    try:
        points = post({"maps": prob[None, None]}, shape)[0]["points"]
        # the scores, which __call__ drops: the same boxes_from_bitmap it runs
        boxes, scores = post.boxes_from_bitmap(prob, prob > post.thresh, src_w, src_h)
    finally:
        module.cv2 = real_cv2
    assert np.array_equal(np.asarray(points).reshape(-1, 4, 2), np.asarray(boxes).reshape(-1, 4, 2))
    return sorted_boxes(filter_tag_det_res(boxes, scores, src_h, src_w))


class _ContoursMode:
    """cv2 with findContours forced to another retrieval mode."""

    def __init__(self, real, mode):
        self._real, self._mode = real, mode

    def __getattr__(self, name):
        return getattr(self._real, name)

    def findContours(self, image, mode, method):
        return self._real.findContours(image, self._mode, method)


# ---------------------------------------------------------------- maps

def draw_blob(prob, cx, cy, w, h, angle, peak, sigma):
    corners = cv2.boxPoints(((float(cx), float(cy)), (float(w), float(h)), float(angle)))
    mask = np.zeros(prob.shape, np.float32)
    cv2.fillPoly(mask, [np.round(corners).astype(np.int32)], 1.0)
    np.maximum(prob, cv2.GaussianBlur(mask, (0, 0), sigma) * peak, out=prob)


def text_map(rng, h, w, lines, axis_aligned=0.5):
    """A detector-like map: `lines` text lines plus tiny and faint distractors, low noise."""
    prob = (rng.random((h, w), dtype=np.float32) * 0.05).astype(np.float32)
    for _ in range(lines):
        bw, bh = rng.uniform(10, 200), rng.uniform(6, 40)
        angle = 0.0 if rng.random() < axis_aligned else rng.uniform(-30, 30)
        if rng.random() < 0.2:  # touching or crossing a border
            cx, cy = rng.choice([0, w]) + rng.uniform(-bw / 3, bw / 3), rng.uniform(0, h)
        else:
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        draw_blob(prob, cx, cy, bw, bh, angle, rng.uniform(0.8, 1.0), rng.uniform(0.7, 2.5))
    for _ in range(int(rng.integers(0, 4))):  # tiny: dropped by min_size or the filter
        draw_blob(prob, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1, 4),
                  rng.uniform(1, 3), 0.0, 0.95, 0.5)
    for _ in range(int(rng.integers(0, 3))):  # faint: over the threshold, under box_thresh
        draw_blob(prob, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(20, 120),
                  rng.uniform(8, 25), rng.uniform(-20, 20), rng.uniform(0.35, 0.5), 1.5)
    return prob


def map_cases():
    """[(name, full map, valid_h, valid_w, src_h, src_w)], deterministic."""
    rng = np.random.default_rng(20240611)
    cases = []
    for i in range(44):
        h = int(rng.integers(1, 21)) * 32
        w = int(rng.integers(1, 21)) * 32
        padded = i % 3 == 1
        valid_h = int(rng.integers(h // 2, h + 1)) if padded else h
        valid_w = int(rng.integers(w // 2, w + 1)) if padded else w
        valid_h, valid_w = max(valid_h, 8), max(valid_w, 8)
        prob = np.zeros((h, w), np.float32)
        lines = int(rng.integers(1, 5 + (h * w) // 6000))
        prob[:valid_h, :valid_w] = text_map(rng, valid_h, valid_w, lines, axis_aligned=0.5)
        if padded:  # padding the post-processing must never look at: make it text-like too
            junk = text_map(rng, h, w, 6)
            junk[:valid_h, :valid_w] = 0
            prob = np.maximum(prob, junk)
        if i % 4 == 0:
            src_h, src_w = valid_h, valid_w
        else:
            src_h = max(8, int(round(valid_h * rng.uniform(0.5, 2.0))))
            src_w = max(8, int(round(valid_w * rng.uniform(0.5, 2.0))))
        cases.append(("map%02d_%dx%d" % (i, h, w), prob, valid_h, valid_w, src_h, src_w))
    # a page of horizontal lines at the detector's usual 640 side
    prob = np.zeros((640, 640), np.float32)
    for r in range(20):
        x = 20.0
        while x < 600:
            wd = rng.uniform(30, 160)
            draw_blob(prob, x + wd / 2, 24 + 30 * r, wd, 14, 0.0, 0.95, 1.2)
            x += wd + rng.uniform(12, 40)
    cases.append(("page_640", prob, 640, 640, 1280, 1280))
    return cases


CASES = map_cases()
# what the comparisons measured, per group of tests (printed by test_accuracy_summary)
STATS = {}


def compare(name, got, want, group="maps"):
    st = STATS.setdefault(group, {"maps": 0, "boxes": 0, "exact": 0, "corner": 0.0, "score": 0.0})
    st["maps"] += 1
    assert len(got) == len(want), "%s: %d boxes, ppocr %d" % (name, len(got), len(want))
    for k, ((corners, score), (ref, ref_score)) in enumerate(zip(got, want)):
        diff = float(np.abs(corners - ref).max())
        st["corner"] = max(st["corner"], diff)
        st["score"] = max(st["score"], abs(score - ref_score))
        st["exact"] += diff == 0
        st["boxes"] += 1
        assert diff <= CORNER_TOLERANCE, "%s box %d: %s vs ppocr %s" % (
            name, k, corners.tolist(), ref.tolist())
        assert abs(score - ref_score) <= SCORE_TOLERANCE, "%s box %d: score %f vs %f" % (
            name, k, score, ref_score)


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_boxes_match_ppocr(dbpost, ppocr_db, case):
    name, prob, valid_h, valid_w, src_h, src_w = case
    valid = np.ascontiguousarray(prob[:valid_h, :valid_w])
    want = reference(ppocr_db, valid, src_h, src_w)
    res = dbpost(prob, valid_h, valid_w, src_h, src_w)
    assert res["result"] == res["found"] == len(res["boxes"])
    compare(name, res["boxes"], want)
    # how often do hole contours (which the C code traces like findContours) add boxes here?
    holes = len(want) - len(reference(ppocr_db, valid, src_h, src_w, cv2.RETR_EXTERNAL))
    STATS["hole_boxes_on_maps"] = STATS.get("hole_boxes_on_maps", 0) + holes


def test_hole_contours_are_boxes_like_ppocr(dbpost, ppocr_db):
    """RETR_LIST also returns the inner borders of holes, and ppocr boxes them like any other
    contour: a small hole in a confident blob gives a small extra box. The C code traces them
    too, so the boxes agree, extra ones included."""
    rng = np.random.default_rng(7)
    extra = 0
    for i in range(6):
        prob = text_map(rng, 160, 320, 4, axis_aligned=0.7)
        for _ in range(6):  # punch 2..6 px holes into the confident regions
            ys, xs = np.nonzero(prob > 0.85)
            if len(ys) == 0:
                break
            k = int(rng.integers(len(ys)))
            s = int(rng.integers(2, 7))
            prob[ys[k]:ys[k] + s, xs[k]:xs[k] + s] = 0.05
        want = reference(ppocr_db, prob, 160, 320)
        extra += len(want) - len(reference(ppocr_db, prob, 160, 320, cv2.RETR_EXTERNAL))
        compare("holes%d" % i, dbpost(prob, 160, 320, 160, 320)["boxes"], want, "holes")
    STATS["hole_boxes_on_hole_maps"] = extra
    assert extra > 0, "no map exercised a hole contour"


def test_more_contours_than_max_candidates(dbpost, ppocr_db):
    """ppocr scores only contours[:1000]; OpenCV lists the contours last-found first, so the
    top rows of a 35 x 35 grid of blobs (1225 contours) are never boxed."""
    prob = np.zeros((640, 640), np.float32)
    for r in range(35):
        for c in range(35):
            prob[8 + 18 * r:8 + 18 * r + 10, 8 + 18 * c:8 + 18 * c + 10] = 0.9
    want = reference(ppocr_db, prob, 640, 640)
    assert len(want) == 1000
    res = dbpost(prob, 640, 640, 640, 640)
    assert res["found"] == 1000
    compare("grid", res["boxes"], want, "grid")


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (9, 1), (2, 2), (3, 64), (64, 96)])
def test_degenerate_and_full_maps(dbpost, ppocr_db, shape):
    """Maps of one pixel, one row or column, and all foreground (one contour along the border)."""
    h, w = shape
    prob = np.full(shape, 0.9, np.float32)
    want = reference(ppocr_db, prob, h * 2, w * 2)
    compare("full%dx%d" % shape, dbpost(prob, h, w, h * 2, w * 2)["boxes"], want, "degenerate")


def test_max_boxes_keeps_the_reading_order_prefix(dbpost):
    name, prob, valid_h, valid_w, src_h, src_w = CASES[-1]
    full = dbpost(prob, valid_h, valid_w, src_h, src_w)
    assert full["found"] > 5
    part = dbpost(prob, valid_h, valid_w, src_h, src_w, max_boxes=5)
    assert part["result"] == 5 and part["found"] == full["found"]
    for (a, sa), (b, sb) in zip(part["boxes"], full["boxes"][:5]):
        assert np.array_equal(a, b) and sa == sb
    none = dbpost(prob, valid_h, valid_w, src_h, src_w, max_boxes=0)
    assert none["result"] == 0 and none["found"] == full["found"]


def test_work_buffer_too_small_and_empty_map(dbpost):
    prob = CASES[0][1]
    h, w = prob.shape
    res = dbpost(prob, h, w, h, w)
    assert res["work"] > 0
    short = dbpost(prob, h, w, h, w, max_boxes=10, work_bytes=res["work"] - 1)
    assert short["result"] == -1 and short["found"] == 0
    exact = dbpost(prob, h, w, h, w, max_boxes=1000, work_bytes=res["work"])
    assert exact["result"] == res["result"]
    zero = dbpost(np.zeros((64, 96), np.float32), 64, 96, 64, 96)
    assert zero["result"] == 0 and zero["found"] == 0


def test_accuracy_summary():
    """Runs after the comparisons: what they measured (shown with -s)."""
    if STATS.get("maps", {}).get("maps", 0) < len(CASES):
        pytest.skip("needs the map tests in the same run")
    print()
    for group in ("maps", "holes", "grid", "degenerate"):
        if group in STATS:
            print("dbpost vs ppocr, %s: %d maps, %d boxes, %d with identical corners; worst corner "
                  "%.1f px, worst score %.2e" % ((group,) + tuple(STATS[group][k] for k in (
                      "maps", "boxes", "exact", "corner", "score"))))
    print("boxes from hole contours: %d on the maps, %d on the maps with punched holes"
          % (STATS.get("hole_boxes_on_maps", 0), STATS.get("hole_boxes_on_hole_maps", 0)))
    for group in ("maps", "holes", "grid", "degenerate"):
        if group in STATS:
            assert STATS[group]["corner"] <= CORNER_TOLERANCE
            assert STATS[group]["score"] <= SCORE_TOLERANCE


def test_builds_for_the_cortex_m55(tmp_path):
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc is not installed")
    result = subprocess.run([gcc] + M55_FLAGS + ["-c", SOURCES[0], "-o", str(tmp_path / "dbpost.o")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
