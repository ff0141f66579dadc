"""model/scenes.py: rendered scenes with exact quadrilaterals, byte-identical on every run."""
import hashlib
import json
import os

import numpy as np
import pytest
import shapely
from PIL import Image
from shapely.geometry import Polygon

from model import scenes, texts
from model.errors import ModelError
from model_helpers import error_lines, run_module

W, H = scenes.REF_W, scenes.REF_H
SEED = 3
N_DEBUG = 80  # scenes rendered in memory with their ink maps for the geometry checks


@pytest.fixture(scope="module")
def debug_scenes():
    return [scenes.render_scene(SEED, i, debug=True) for i in range(N_DEBUG)]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Seven scenes written by one process and by two."""
    root = tmp_path_factory.mktemp("scenes")
    one = scenes.write_scenes(str(root / "one"), 7, 11, jobs=1)
    two = scenes.write_scenes(str(root / "two"), 7, 11, jobs=2)
    return root, os.path.dirname(one), os.path.dirname(two)


def _files(folder):
    out = {}
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


def _luma(rgb):
    rgb = np.asarray(rgb, np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


# ------------------------------------------------------------------ determinism and files
def test_two_generations_are_byte_identical_with_any_number_of_processes(written):
    root, one, two = written
    a, b = _files(one), _files(two)
    assert sorted(a) == sorted(["labels.txt", "manifest.json"] + ["images/scene_%04d.png" % i
                                                                 for i in range(7)])
    assert a == b
    assert not [n for n in os.listdir(root) if ".tmp" in n or ".old" in n]  # swapped into place


def test_spawned_workers_make_the_same_files(written, tmp_path):
    """A process with other threads (Paddle's, in a whole test session) starts its
    workers with spawn instead of fork: the same bytes."""
    _, one, _ = written
    work = [(str(tmp_path / ("%d.png" % i)), 11, i, W, H, "test") for i in range(3)]
    results = list(scenes._scene_files(2, work, "spawn"))
    manifest = json.loads(open(os.path.join(one, "manifest.json")).read())
    for i, (file_digest, pixel_digest, labels) in enumerate(results):
        rel = "images/scene_%04d.png" % i
        assert (file_digest, pixel_digest) == (manifest["files"][rel], manifest["pixels"][rel])
        assert open(tmp_path / ("%d.png" % i), "rb").read() == open(os.path.join(one, rel), "rb").read()


def test_image_k_does_not_depend_on_count_or_on_the_other_images(written, tmp_path):
    _, one, _ = written
    three = os.path.dirname(scenes.write_scenes(str(tmp_path / "three"), 3, 11, jobs=1))
    a, c = _files(one), _files(three)
    for i in range(3):
        rel = "images/scene_%04d.png" % i
        assert a[rel] == c[rel], rel
    assert a["labels.txt"].decode().splitlines()[:3] == c["labels.txt"].decode().splitlines()
    # the written PNG holds exactly the pixels of the in-memory scene
    scene = scenes.render_scene(11, 5)
    assert np.array_equal(np.asarray(Image.open(os.path.join(one, "images/scene_0005.png"))), scene.image)
    assert json.loads(a["labels.txt"].decode().splitlines()[5].split("\t")[1]) == scene.labels
    # another seed, other scenes
    assert not np.array_equal(scenes.render_scene(12, 5).image, scene.image)


def test_manifest_names_every_file_with_its_digest(written):
    _, one, _ = written
    files = _files(one)
    m = json.loads(files["manifest.json"])
    assert (m["count"], m["seed"], m["width"], m["height"], m["split"]) == (7, 11, W, H, "test")
    assert m["version"] == scenes.VERSION and m["generator"] == "model.scenes"
    assert m["render_lock"] == hashlib.sha256(open(scenes.fontlib.LOCK, "rb").read()).hexdigest()
    assert set(m["files"]) == set(files) - {"manifest.json"}
    for rel, digest in m["files"].items():
        assert hashlib.sha256(files[rel]).hexdigest() == digest, rel
    for rel, digest in m["pixels"].items():  # the pixels, whatever zlib wrote
        pixels = np.asarray(Image.open(os.path.join(one, rel)).convert("RGB"))
        assert hashlib.sha256(pixels.tobytes()).hexdigest() == digest, rel


def test_label_file_is_paddleocr_detection_format(written):
    _, one, _ = written
    alphabet = set(scenes._en_alphabet())
    lines = open(os.path.join(one, "labels.txt"), encoding="utf-8").read().splitlines()
    assert len(lines) == 7
    for i, line in enumerate(lines):
        rel, blob = line.split("\t")
        assert rel == "images/scene_%04d.png" % i
        img = Image.open(os.path.join(one, rel))
        assert img.format == "PNG" and img.mode == "RGB" and img.size == (W, H)
        for entry in json.loads(blob):
            assert set(entry) == {"transcription", "points"}
            text, points = entry["transcription"], entry["points"]
            assert text and text == text.strip() and set(text) <= alphabet and text != "###"
            assert len(points) == 4 and all(len(p) == 2 and all(isinstance(v, float) for v in p)
                                            for p in points)


# ------------------------------------------------------------------ geometry
def test_quads_are_clockwise_from_top_left_inside_the_image_and_never_overlap(debug_scenes):
    lines = 0
    for k, scene in enumerate(debug_scenes):
        assert scene.image.shape == (H, W, 3) and scene.image.dtype == np.uint8
        polys = []
        for entry in scene.labels:
            pts = np.array(entry["points"])
            assert (pts >= scenes.EDGE_MARGIN - 0.05).all(), (k, entry)
            assert (pts[:, 0] <= W - scenes.EDGE_MARGIN + 0.05).all() and \
                (pts[:, 1] <= H - scenes.EDGE_MARGIN + 0.05).all(), (k, entry)
            poly = Polygon(pts)
            # clockwise on screen (y down) is counter-clockwise in shapely's y-up sense
            assert poly.is_valid and poly.exterior.is_ccw
            assert abs(poly.area - poly.convex_hull.area) < 1e-6 * poly.area + 1e-6
            assert np.argmin(pts.sum(1)) == 0  # the first point is the line's top-left
            # ink height 14..60 px, give or take the perspective's stretch
            height = (np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])) / 2
            assert 14 * 0.8 <= height - 2 * scenes.QUAD_PAD <= 60 * 1.2, (k, entry, height)
            polys.append(poly)
        for i in range(len(polys)):
            for j in range(i + 1, len(polys)):
                assert polys[i].distance(polys[j]) >= 1.0, (k, scene.labels[i], scene.labels[j])
        lines += len(polys)
    assert lines >= 3 * N_DEBUG  # 1..8 lines a scene with text


def test_quads_hold_their_ink_and_are_tight_on_every_side(debug_scenes):
    checked = 0
    for k, scene in enumerate(debug_scenes):
        polys = [Polygon(e["points"]) for e in scene.labels]
        for i, (entry, ink) in enumerate(zip(scene.labels, scene.ink)):
            x0, y0, x1, y1 = ink["box"]
            alpha = ink["alpha"]
            ys, xs = np.nonzero(alpha > 0.25)
            px, py = xs + x0 + 0.5, ys + y0 + 0.5  # pixel centres
            inside = shapely.contains_xy(polys[i], px, py)
            assert inside.mean() >= 0.99, (k, entry, inside.mean())
            yy, xx = np.mgrid[y0:y1, x0:x1]
            weight = shapely.contains_xy(polys[i], xx + 0.5, yy + 0.5)
            assert (alpha * weight).sum() >= 0.995 * alpha.sum(), (k, entry)
            # tight: each of the four sides has ink within 3 px
            pts = np.array(entry["points"])
            for s in range(4):
                p, q = pts[s], pts[(s + 1) % 4]
                n = np.array([q[1] - p[1], p[0] - q[0]]) / np.linalg.norm(q - p)
                assert np.abs((px - p[0]) * n[0] + (py - p[1]) * n[1]).min() <= 3.0, (k, entry, s)
            # no other line's ink inside this quad
            for j, other in enumerate(scene.ink):
                if j != i:
                    ox0, oy0, ox1, oy1 = other["box"]
                    oy, ox = np.nonzero(other["alpha"] > 0.05)
                    assert not shapely.contains_xy(polys[i], ox + ox0 + 0.5, oy + oy0 + 0.5).any(), (k, i, j)
            checked += 1
    assert checked >= 3 * N_DEBUG


# ------------------------------------------------------------------ line-level spacing
N_SPACING = 200  # scenes whose labels the spacing checks measure


@pytest.fixture(scope="module")
def spacing_labels():
    return [(s.layout, s.labels) for s in (scenes.render_scene(SEED + 1, i) for i in range(N_SPACING))]


def _frame(q):
    u = (q[1] - q[0]) + (q[2] - q[3])
    u = u / np.linalg.norm(u)
    height = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    return u, np.array([-u[1], u[0]]), height


def _relations(qa, qb):
    """How two label quads sit, measured in the frame of each (u along its baseline, n
    across it): [("side", gap along u / larger height)] when their n spans overlap by more
    than 30% of the smaller height and their u spans are apart, [("stacked", gap along n /
    smaller height)] when their u spans overlap and their n spans are apart, [("apart",
    distance / smaller height)] for diagonal neighbours (or when no frame separates them)."""
    qa, qb = np.asarray(qa, float), np.asarray(qb, float)
    lo, hi = sorted((_frame(qa)[2], _frame(qb)[2]))
    distance = Polygon(qa).distance(Polygon(qb)) / lo
    out = []
    for ref in (qa, qb):
        u, n, _ = _frame(ref)
        au, bu, an, bn = qa @ u, qb @ u, qa @ n, qb @ n
        u_gap = max(bu.min() - au.max(), au.min() - bu.max())
        n_gap = max(bn.min() - an.max(), an.min() - bn.max())
        if u_gap >= 0 and -n_gap > 0.3 * lo:
            out.append(("side", u_gap / hi))
        elif u_gap < 0 and n_gap >= 0:
            out.append(("stacked", n_gap / lo))
        elif u_gap >= 0:
            out.append(("apart", distance))
    return out or [("apart", distance)]


def _pairs(labelled):
    """{kind: [(ratio, layout, scene index, text a, text b)]} over every pair of lines."""
    out = {"side": [], "stacked": [], "apart": []}
    for k, (layout, labels) in enumerate(labelled):
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                for kind, ratio in _relations(labels[i]["points"], labels[j]["points"]):
                    out[kind].append((ratio, layout, k, labels[i]["transcription"],
                                      labels[j]["transcription"]))
    return out


def test_lines_side_by_side_are_two_and_a_half_heights_apart(spacing_labels):
    """PP-OCRv3's DB detector finds text lines: a receipt's item and its price 16 px apart
    (text 22 px high) came out as one box.  Two labelled lines on one line of sight are
    at least 2.5x the larger height apart along it (prices right-aligned in a column)."""
    side = _pairs(spacing_labels)["side"]
    assert len(side) >= 100 and {p[1] for p in side} >= {"receipt", "scatter", "shopfront"}
    assert min(p[0] for p in side) >= scenes.SIDE_GAP == 2.5, min(side)
    # receipt rows: an item and its price, one label each (pairs seen from both frames)
    receipt = [p for p in side if p[1] == "receipt"]
    assert len(receipt) >= 50 and min(p[0] for p in receipt) >= 2.5


def test_stacked_and_neighbouring_lines_are_a_third_of_a_height_apart(spacing_labels):
    """Lines stacked closer than ~0.25x their height merge in DB's map too: at least 0.35x
    the smaller height between stacked lines, and between any other two (diagonal)."""
    pairs = _pairs(spacing_labels)
    stacked, apart = pairs["stacked"], pairs["apart"]
    assert len(stacked) >= 300 and {p[1] for p in stacked} >= {"sign", "receipt", "labels", "scatter"}
    assert min(p[0] for p in stacked) >= scenes.STACK_GAP == 0.35, min(stacked)
    assert len(apart) >= 100 and min(p[0] for p in apart) >= 0.35, min(apart)
    # the lines of a block are stacked: a sign's or a receipt's rows, 0.35..~1 height apart
    rows = [p[0] for p in stacked if p[1] in ("sign", "receipt") and p[0] < 1.0]
    assert len(rows) >= 100


def test_spacing_rule_on_hand_made_quads():
    """_spaced, the generator's check, on the measured failure and its neighbours."""
    def box(x, y, w, h):
        return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]
    item, h = box(100, 100, 150, 23), 23.0  # "SEEPED Jonquil", 22 px ink + the quad's padding
    for gap, ok in ((16, False), (2.4 * h, False), (2.5 * h + 0.1, True), (200, True)):
        price = box(250 + gap, 100, 110, 23)
        assert scenes._spaced(item, price) == ok == all(r >= 2.5 for _, r in _relations(item, price)), gap
    # a smaller line beside a taller one: the larger height counts; barely overlapping rows do not
    assert not scenes._spaced(box(0, 0, 100, 40), box(180, 20, 50, 14))
    assert scenes._spaced(box(0, 0, 100, 40), box(201, 20, 50, 14))
    for dy, ok in ((0.2 * h, False), (0.34 * h, False), (0.36 * h, True)):
        below = box(120, 123 + dy, 90, 23)  # stacked under the item
        assert scenes._spaced(item, below) == ok, dy
        diagonal = box(250.5, 123 + dy, 90, 23)  # below and just right of the item
        assert scenes._spaced(item, diagonal) == ok, dy
    # rotated copies: the line's own frame, not the image axes
    import math
    c, s = math.cos(math.radians(17)), math.sin(math.radians(17))
    turn = lambda q: [[c * x - s * y, s * x + c * y] for x, y in q]
    assert not scenes._spaced(turn(item), turn(box(250 + 2.4 * h, 100, 110, 23)))
    assert scenes._spaced(turn(item), turn(box(250 + 2.6 * h, 100, 110, 23)))
    assert not scenes._spaced(turn(item), turn(box(120, 123 + 0.3 * h, 90, 23)))
    assert scenes._spaced(turn(item), turn(box(120, 123 + 0.4 * h, 90, 23)))


def test_receipt_blocks_lay_prices_out_in_a_far_column():
    """The block layout itself keeps LAYOUT_*_GAP (more than the rule: room for the
    perspective warp), whatever pad and gap a layout asks for."""
    class L:
        def __init__(self, w, h):
            self.ink_w, self.ink_h, self.w, self.h = w, h, w + 2, h + 2
    rows = [[L(150, 20), L(90, 21)], [L(60, 19)], [L(220, 22), L(100, 22)]]
    block = scenes._Block(rows, pad=5, gap=0.1)
    (a, ax, ay), (b, bx, by), (c, cx, cy), (d, dx, dy), (e, ex, ey) = block.items
    assert ex + e.ink_w == bx + b.ink_w  # prices right-aligned
    assert ex - (dx + d.ink_w) - 1 >= scenes.LAYOUT_SIDE_GAP * (22 + 1)
    assert bx - (ax + a.ink_w) - 1 > ex - (dx + d.ink_w) - 1
    assert cy - (by + b.ink_h) - 1 >= scenes.LAYOUT_STACK_GAP * (19 + 1)
    assert dy - (cy + c.ink_h) - 1 >= scenes.LAYOUT_STACK_GAP * (19 + 1)


def test_text_contrasts_with_what_is_under_it(debug_scenes):
    for k, scene in enumerate(debug_scenes):
        for entry, ink in zip(scene.labels, scene.ink):
            mean, lo, hi = ink["stats"]
            fg = float(_luma(ink["colour"]))
            assert abs(fg - mean) >= scenes.MEAN_CONTRAST - 0.5, (k, entry)
            assert min(abs(fg - lo), abs(fg - hi)) >= scenes.EDGE_CONTRAST - 0.5, (k, entry)
            # and in the finished picture: solid ink vs the same pixels without the text
            x0, y0, x1, y1 = ink["box"]
            solid = (ink["alpha"] if ink["fill"] is None else ink["fill"]) > 0.9  # not an outline
            if solid.sum() >= 10:
                final = _luma(scene.image[y0:y1, x0:x1][solid])
                under = _luma(scene.background[y0:y1, x0:x1][solid])
                # after softness, uneven light and noise
                assert abs(final.mean() - under.mean()) >= 45, (k, entry)


def test_scene_mix_has_every_layout_and_some_images_without_text(debug_scenes):
    layouts = {s.layout for s in debug_scenes}
    assert layouts >= {"sign", "shopfront", "receipt", "labels", "scatter"}, layouts
    empty = [s for s in debug_scenes if not s.labels]
    assert 1 <= len(empty) <= 15
    for s in empty:
        assert s.layout == "none" or not s.labels
        assert s.image.std() > 1  # still a picture
    counts = [len(s.labels) for s in debug_scenes if s.labels]
    assert min(counts) >= 1 and max(counts) <= scenes.MAX_LINES and len(set(counts)) >= 5


def test_words_come_from_the_split_s_partition(debug_scenes):
    alphabet = scenes._en_alphabet()
    vocabulary = {w.lower() for ws in texts.load_words(alphabet).values() for w in ws}
    months = {m.lower() for m in texts.MONTHS}
    words = [t for s in debug_scenes for e in s.labels for t in e["transcription"].split()
             if t.isalpha() and len(t) >= 5 and t.lower() in vocabulary and t.lower() not in months]
    assert len(words) > 100
    assert {texts.split_of(w) for w in words} == {"test"}
    val = scenes.render_scene(SEED, 0, split="val")
    assert all(texts.split_of(t) == "val" for e in val.labels for t in e["transcription"].split()
               if t.isalpha() and len(t) >= 5 and t.lower() in vocabulary and t.lower() not in months)


def test_other_sizes_scale_the_text_and_stay_inside():
    for i in range(4):
        s = scenes.render_scene(SEED, i, width=960, height=720)
        assert s.image.shape == (720, 960, 3)
        for e in s.labels:
            pts = np.array(e["points"])
            assert (pts >= 1.9).all() and (pts[:, 0] <= 958.1).all() and (pts[:, 1] <= 718.1).all()
            height = np.linalg.norm(pts[3] - pts[0]) - 1
            assert 21 * 0.8 <= height <= 90 * 1.2


def test_png_writer_round_trips():
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path_bytes = scenes.png_bytes(img)
    import io
    back = Image.open(io.BytesIO(path_bytes))
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), img)
    assert scenes.png_bytes(img) == path_bytes


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("kwargs, words", [
    ({"count": 0}, "--count"), ({"count": -3}, "--count"), ({"seed": -1}, "--seed"),
    ({"width": 100}, "--width"), ({"height": 99999}, "--height"), ({"split": "train"}, "--split"),
    ({"jobs": 0}, "--jobs"),
])
def test_bad_arguments_are_one_model_error(tmp_path, kwargs, words):
    args = dict(count=2, seed=1, width=W, height=H, split="test")
    args.update(kwargs)
    with pytest.raises(ModelError) as err:
        scenes.write_scenes(str(tmp_path / "out"), **args)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert not os.path.exists(tmp_path / "out")


def test_out_must_be_a_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelError, match="not a folder"):
        scenes.write_scenes(str(tmp_path / "file"), 1, 1)
    with pytest.raises(ModelError, match="does not exist"):
        scenes.write_scenes(str(tmp_path / "no" / "such"), 1, 1)


def test_cli_writes_a_split_and_bad_arguments_are_one_line(tmp_path):
    out = tmp_path / "cli"
    rc, output = run_module("model.scenes", "--out", out, "--count", 2, "--seed", 4, "--jobs", 1)
    assert rc == 0, output
    assert "wrote 2 scenes" in output and (out / "labels.txt").is_file()
    for args in (["--count", 0, "--seed", 1], ["--count", "many", "--seed", 1], ["--count", 2],
                 ["--count", 2, "--seed", 1, "--width", 64]):
        rc, output = run_module("model.scenes", "--out", tmp_path / "bad", *args)
        assert rc == 2, output
        assert len(output.strip().splitlines()) == 1 and len(error_lines(output)) == 1, output
        assert not (tmp_path / "bad").exists()
