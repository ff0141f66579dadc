"""host/detmetrics.py: ICDAR 2015-style detection and end-to-end scores on hand-made cases."""
import json
import os
import subprocess
import sys

import pytest

from host import detmetrics as dm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def box(x, y, w, h):
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def word(points, text):
    return {"points": points, "transcription": text}


def det(points, text="", score=0.9):
    return {"points": points, "transcription": text, "score": score}


GT = {
    "images/a.png": [word(box(10, 10, 100, 20), "QBHOUSE"), word(box(10, 50, 60, 20), "Open")],
    "images/b.png": [word(box(200, 100, 80, 30), "$4.99")],
}


def perfect():
    return {k: [det(w["points"], w["transcription"]) for w in v] for k, v in GT.items()}


def test_perfect_predictions_score_one():
    s = dm.evaluate(GT, perfect())["summary"]
    for key in ("precision", "recall", "hmean", "e2e_precision", "e2e_recall", "e2e_hmean"):
        assert s[key] == 1.0, key
    assert (s["gt_care"], s["det_care"], s["matched"], s["e2e_matched"], s["images"]) == (3, 3, 3, 3, 2)


def test_a_box_shifted_below_iou_half_is_a_miss_and_a_false_positive():
    pred = perfect()
    # 100x20 box moved 40 px right: intersection 60x20, IoU 1200 / 2800 = 0.43
    pred["images/a.png"][0] = det(box(50, 10, 100, 20), "QBHOUSE")
    report = dm.evaluate(GT, pred)
    s = report["summary"]
    assert s["matched"] == 2
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    row = next(r for r in report["images"] if r["image"] == "images/a.png")
    assert [m["gt_text"] for m in row["missed"]] == ["QBHOUSE"]
    assert [f["det"] for f in row["false_positives"]] == [0]
    # 20 px shift: intersection 80x20, IoU 1600 / 2400 = 0.67 matches
    pred["images/a.png"][0] = det(box(30, 10, 100, 20), "QBHOUSE")
    assert dm.evaluate(GT, pred)["summary"]["hmean"] == 1.0


def test_iou_exactly_at_the_threshold_matches():
    gt = {"x": [word(box(0, 0, 30, 10), "w")]}
    pred = {"x": [det(box(10, 0, 30, 10), "w")]}  # intersection 200, union 400
    assert dm.evaluate(gt, pred)["summary"]["matched"] == 1
    assert dm.evaluate(gt, pred, iou_threshold=0.51)["summary"]["matched"] == 0


def test_rotated_quadrilaterals_use_polygon_iou():
    diamond = [[50, 0], [100, 50], [50, 100], [0, 50]]  # area 5000 inside the 100x100 square
    gt = {"x": [word(diamond, "diamond")]}
    assert dm.evaluate(gt, {"x": [det(box(0, 0, 100, 100), "diamond")]})["summary"]["matched"] == 1  # IoU 0.5
    assert dm.evaluate(gt, {"x": [det(box(0, 0, 110, 110), "diamond")]})["summary"]["matched"] == 0
    row = dm.evaluate(gt, {"x": [det(diamond, "diamond")]})["images"][0]
    assert row["matches"][0]["iou"] == 1.0


def test_duplicate_detections_are_false_positives():
    pred = perfect()
    pred["images/b.png"].append(det(box(201, 101, 80, 30), "$4.99"))
    report = dm.evaluate(GT, pred)
    s = report["summary"]
    assert (s["matched"], s["det_care"]) == (3, 4)
    assert s["recall"] == 1.0 and s["precision"] == 0.75 and s["e2e_precision"] == 0.75
    row = next(r for r in report["images"] if r["image"] == "images/b.png")
    assert row["matches"][0]["det"] == 0  # the better IoU is the match
    assert [f["det"] for f in row["false_positives"]] == [1]


def test_dont_care_words_and_detections_on_them_are_ignored():
    gt = {"x": [word(box(0, 0, 100, 20), "Keep"), word(box(0, 100, 100, 20), "###")]}
    missed_dont_care = {"x": [det(box(0, 0, 100, 20), "keep")]}
    s = dm.evaluate(gt, missed_dont_care)["summary"]
    assert (s["gt"], s["gt_care"], s["hmean"], s["e2e_hmean"]) == (2, 1, 1.0, 1.0)
    found_dont_care = {"x": [det(box(0, 0, 100, 20), "keep"), det(box(2, 101, 96, 18), "blurry")]}
    report = dm.evaluate(gt, found_dont_care)
    assert report["summary"]["det_care"] == 1 and report["summary"]["precision"] == 1.0
    assert report["images"][0]["dont_care_dets"] == [1]
    # a detection only partly (< half of its area) on a don't-care region still counts
    half = {"x": [det(box(0, 0, 100, 20), "keep"), det(box(0, 80, 100, 30), "x")]}
    assert dm.evaluate(gt, half)["summary"]["det_care"] == 2


def test_end_to_end_needs_the_text_case_insensitively():
    pred = perfect()
    pred["images/a.png"][0]["transcription"] = "qbhouse"  # case does not matter
    pred["images/a.png"][1]["transcription"] = "Opem"  # a misread
    report = dm.evaluate(GT, pred)
    s = report["summary"]
    assert s["hmean"] == 1.0 and s["e2e_matched"] == 2
    assert s["e2e_recall"] == pytest.approx(2 / 3) and s["e2e_precision"] == pytest.approx(2 / 3)
    row = next(r for r in report["images"] if r["image"] == "images/a.png")
    assert [(m["gt_text"], m["det_text"], m["text_ok"]) for m in row["matches"]] == [
        ("QBHOUSE", "qbhouse", True), ("Open", "Opem", False)]
    assert "`Open`→`Opem`" not in dm.markdown(report) and "Open→Opem" in dm.markdown(report)
    # no text at all: detection is perfect, end to end is zero
    blind = {k: [det(w["points"]) for w in v] for k, v in GT.items()}
    s = dm.evaluate(GT, blind)["summary"]
    assert s["hmean"] == 1.0 and s["e2e_hmean"] == 0.0


def test_a_misread_duplicate_does_not_take_the_word_from_a_correct_one():
    gt = {"x": [word(box(0, 0, 100, 20), "Exit")]}
    pred = {"x": [det(box(0, 0, 100, 20), "Exlt"), det(box(4, 0, 100, 20), "EXIT")]}
    s = dm.evaluate(gt, pred)["summary"]
    assert (s["matched"], s["e2e_matched"], s["det_care"]) == (1, 1, 2)
    assert s["e2e_recall"] == 1.0 and s["e2e_precision"] == 0.5


def test_missing_images_empty_images_and_global_totals():
    # b.png not predicted at all: its word is missed
    pred = perfect()
    del pred["images/b.png"]
    s = dm.evaluate(GT, pred)["summary"]
    assert s["recall"] == pytest.approx(2 / 3) and s["precision"] == 1.0
    # an image without words: a detection there is a false positive; none is perfect
    gt = dict(GT, **{"images/empty.png": []})
    report = dm.evaluate(gt, perfect())
    empty = next(r for r in report["images"] if r["image"] == "images/empty.png")
    assert (empty["precision"], empty["recall"], empty["hmean"]) == (1.0, 1.0, 1.0)
    pred = dict(perfect(), **{"images/empty.png": [det(box(0, 0, 10, 10), "x")]})
    report = dm.evaluate(gt, pred)
    empty = next(r for r in report["images"] if r["image"] == "images/empty.png")
    assert (empty["precision"], empty["recall"]) == (0.0, 1.0)
    assert report["summary"]["precision"] == 0.75  # totals, not an average of images
    assert dm.evaluate({"x": []}, {})["summary"]["hmean"] == 1.0
    assert dm.prh(0, 5, 0) == (0.0, 0.0, 0.0)


def test_prediction_keys_by_path_or_file_name_and_min_score():
    pred = {"a.png": perfect()["images/a.png"], "images/b.png": [det(box(200, 100, 80, 30), "$4.99", 0.2)]}
    assert dm.evaluate(GT, pred)["summary"]["hmean"] == 1.0
    assert dm.evaluate(GT, pred, min_score=0.5)["summary"]["recall"] == pytest.approx(2 / 3)
    with pytest.raises(dm.DetMetricsError, match="no such image"):
        dm.evaluate(GT, {"c.png": []})
    with pytest.raises(dm.DetMetricsError, match="ambiguous"):
        dm.evaluate({"x/a.png": [], "y/a.png": []}, {"a.png": []})


@pytest.mark.parametrize("items, words", [
    ([{"points": [[0, 0], [1, 1]]}], "at least 3 points"),
    ([{"points": "nope"}], "pairs"),
    ([{"transcription": "x"}], "points"),
    ([{"points": box(0, 0, 1, 1), "transcription": 5}], "string"),
    ({"points": box(0, 0, 1, 1)}, "list"),
    ([{"points": [[0, 0], [1, float("nan")], [1, 1]]}], "finite"),
])
def test_bad_predictions_are_one_clear_error(items, words):
    with pytest.raises(dm.DetMetricsError) as err:
        dm.evaluate({"x": []}, {"x": items})
    assert words in str(err.value) and "predictions x" in str(err.value)


def test_a_bow_tie_quadrilateral_counts_as_its_two_triangles():
    bow = [[0, 0], [100, 20], [100, 0], [0, 20]]  # points out of order: crossing edges
    gt = {"x": [word(box(0, 0, 100, 20), "w")]}
    row = dm.evaluate(gt, {"x": [det(bow, "w")]})["images"][0]
    assert row["det_care"] == 1 and row["matches"][0]["iou"] == 0.5  # triangles of 500 + 500 of 2000
    assert dm.evaluate(gt, {"x": [det(bow, "w")]}, iou_threshold=0.6)["summary"]["matched"] == 0


def test_cli_reads_a_paddleocr_label_file_and_writes_reports(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("".join("%s\t%s\n" % (k, json.dumps(v)) for k, v in GT.items()), encoding="utf-8")
    assert dm.read_gt(str(labels)) == GT
    pred = perfect()
    pred["images/b.png"][0]["transcription"] = "$4.90"
    (tmp_path / "pred.json").write_text(json.dumps(pred))
    env = dict(os.environ, PYTHONPATH=ROOT)
    run = lambda *args: subprocess.run([sys.executable, "-m", "host.detmetrics"] + [str(a) for a in args],
                                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    proc = run("--gt", labels, "--pred", tmp_path / "pred.json", "--out", tmp_path / "report.json",
               "--md", tmp_path / "report.md")
    assert proc.returncode == 0, proc.stderr
    assert "detection P 1.0000 R 1.0000 H 1.0000" in proc.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["e2e_matched"] == 2 and len(report["images"]) == 2
    md = (tmp_path / "report.md").read_text()
    assert "| detection | 1.0000 | 1.0000 | 1.0000 | 3 |" in md and "$4.99→$4.90" in md
    (tmp_path / "bad.json").write_text("{not json")
    for args in (["--gt", labels, "--pred", tmp_path / "bad.json", "--out", tmp_path / "r2.json"],
                 ["--gt", tmp_path / "none.txt", "--pred", tmp_path / "pred.json",
                  "--out", tmp_path / "r2.json"],
                 ["--gt", labels, "--out", tmp_path / "r2.json"]):
        proc = run(*args)
        output = (proc.stdout + proc.stderr).strip()
        assert proc.returncode == 2 and len(output.splitlines()) == 1, output
        assert proc.stderr.startswith("error: ")
        assert not (tmp_path / "r2.json").exists()


def test_scene_labels_score_one_against_themselves(tmp_path):
    from model import scenes
    out = scenes.write_scenes(str(tmp_path / "s"), 4, 9, jobs=1)
    gt = dm.read_gt(out)
    pred = {k: [dict(e, score=1.0) for e in v] for k, v in gt.items()}
    s = dm.evaluate(gt, pred)["summary"]
    assert s["hmean"] == 1.0 and s["e2e_hmean"] == 1.0 and s["images"] == 4
