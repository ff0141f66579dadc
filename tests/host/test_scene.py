"""host/scene.py: the scene app's inputs (blob, config), the device-mirrored
geometry, the log parser and the device-vs-reference comparison."""
import json
import struct

import numpy as np
import pytest

from host import scene


def test_fit_keeps_the_aspect_ratio_inside_the_input():
    assert scene.fit(640, 480, 640, 480) == (640, 480)
    assert scene.fit(1280, 480, 640, 480) == (640, 240)
    assert scene.fit(100, 1000, 640, 480) == (48, 480)
    assert scene.fit(3, 2, 640, 480) == (640, 427)   # small images grow to fit
    assert scene.fit(5000, 1, 640, 480) == (640, 1)  # never 0


def test_detector_input_resizes_normalises_and_pads():
    bgr = np.zeros((4, 6, 3), np.uint8)
    bgr[..., 0] = 255  # blue everywhere
    x = scene.detector_input(bgr, 6, 4, 8, 6, [0.5, 0.5, 0.5], [0.25, 0.5, 1.0])
    assert x.shape == (1, 3, 6, 8) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, 0, :4, :6], 2.0, atol=1e-6)   # (1 - 0.5) / 0.25
    np.testing.assert_allclose(x[0, 1, :4, :6], -1.0, atol=1e-6)  # (0 - 0.5) / 0.5
    assert not x[0, :, 4:, :].any() and not x[0, :, :, 6:].any()  # padding: 0 after normalising
    ramp = np.tile(np.arange(0, 256, 32, dtype=np.uint8)[None, :, None], (2, 1, 3))  # 8 columns
    half = scene.detector_input(ramp, 4, 1, 4, 1, [0, 0, 0], [1 / 255.0] * 3)
    # pixel centres onto pixel centres: column j of 4 reads source 2j + 0.5
    np.testing.assert_allclose(half[0, 0, 0], [16, 80, 144, 208], atol=1e-3)


def test_blob_layout(tmp_path):
    from PIL import Image
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(np.full((3, 5, 3), (10, 20, 30), np.uint8)).save(a)
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(b)
    scene.write_blob([str(a), str(b)], str(tmp_path / "x.bin"), str(tmp_path / "x.json"))
    data = (tmp_path / "x.bin").read_bytes()
    magic, version, count, channels = struct.unpack_from("<4sHHH", data)
    assert (magic, version, count, channels) == (b"OCRS", 1, 2, 3)
    w, h = struct.unpack_from("<HH", data, 16)
    assert (w, h) == (5, 3)
    assert data[32:35] == bytes([30, 20, 10])  # B G R
    second = 32 + (5 * 3 * 3 + 15) // 16 * 16
    assert struct.unpack_from("<HH", data, second) == (2, 2)
    assert len(data) == second + 16 + 16
    index = json.loads((tmp_path / "x.json").read_text())
    assert [e["width"] for e in index["images"]] == [5, 2]


def test_bad_input_is_one_error(tmp_path):
    with pytest.raises(scene.SceneError, match="no such image"):
        scene.write_blob([str(tmp_path / "missing.png")], str(tmp_path / "x.bin"), str(tmp_path / "x.json"))
    with pytest.raises(scene.SceneError, match="no images"):
        scene.write_blob([], str(tmp_path / "x.bin"), str(tmp_path / "x.json"))
    det = {"model_type": "det", "channel_order": "BGR", "mean": [0.4] * 3, "std": [0.2] * 3}
    with pytest.raises(scene.SceneError, match="box limit"):
        scene.config_c(det, {"channel_order": "BGR"}, 0, 0.5)
    with pytest.raises(scene.SceneError, match="DB detector"):
        scene.config_c({"model_type": "rec"}, {}, 4, 0.5)
    assert scene.main(["reference", "--det", str(tmp_path), "--rec", str(tmp_path), "--det-input", "100x64",
                       "--json", str(tmp_path / "r.json"), "x.png"]) == 2
    assert not (tmp_path / "r.json").exists()


def test_config_c_holds_the_settings():
    det = {"model_type": "det", "channel_order": "BGR", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    text = scene.config_c(det, {"channel_order": "RGB"}, 12, 0.5)
    assert "scene_db_params = {0.3f, 0.6f, 1.5f, 3};" in text
    assert "scene_max_boxes = 12u;" in text and "scene_rec_bgr = 0;" in text
    assert "scene_det_mean[3] = {0.485f, 0.456f, 0.406f};" in text


def test_reading_order_and_filter_follow_paddleocr():
    def box(x, y, w=40, h=12):
        return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]
    ordered = scene.reading_order([np.array(b, np.float32) for b in (box(100, 50), box(10, 55), box(10, 10))])
    assert [tuple(b[0]) for b in ordered] == [(10, 10), (10, 55), (100, 50)]
    kept = [b for _, b in scene.filter_boxes([box(-5, 3, 30, 10), box(50, 50, 3, 10), [[70, 5], [10, 5], [10, 20], [70, 20]]],
                              60, 100)]
    assert len(kept) == 2
    assert kept[0][0].tolist() == [0, 3]                     # clipped
    assert kept[1].tolist() == [[10, 5], [70, 5], [70, 20], [10, 20]]  # clockwise from top-left


LOG = """scene: detector 480x640 (90 kernels), recognizer 3x48x320 (84 kernels), shared arena 1 bytes
box: 10,20,110,20,110,50,10,50, text: HELLO, score: 0.990000
box: 10,60,110,60,110,90,10,90, text: WORLD, score: 0.950000
texts: 2 (3 boxes, 3 read, 1 below score 0.50)
stages: detector 1, post-processing 2, recognition 3 (3 lines)
instructions: 6
"""


def test_log_parser_and_comparison():
    device = scene.device_results([(LOG, {"images": [{"position": 0, "path": "a.png"}]})])["a.png"]
    assert device["boxes"] == 3 and [l["text"] for l in device["lines"]] == ["HELLO", "WORLD"]
    device = {"a.png": device}
    assert device["a.png"]["boxes"] == 3 
    ref_lines = [{"points": [[11, 21], [110, 20], [110, 50], [10, 52]], "text": "HELLO", "score": 0.99},
                 {"points": [[10, 60], [110, 60], [110, 90], [10, 90]], "text": "WORLD", "score": 0.95}]
    reference = {"images": [{"path": "a.png", "boxes": 3, "read": 3, "dropped": 1, "lines": ref_lines}]}
    report = scene.compare(device, reference)
    assert report["passed"] and report["rows"][0]["max_corner_diff"] == 2
    ref_lines[1]["text"] = "W0RLD"
    ref_lines[0]["points"][0] = [14, 21]
    report = scene.compare(device, reference)
    assert not report["passed"] and len(report["rows"][0]["problems"]) == 2
    assert "no: " in scene.markdown(report)
    assert not scene.compare({}, reference)["passed"]  # a crashed run has no summary line
    multi = scene.parse_log("image: 1, no text found (0 boxes, 0 read, 0 below score 0.50)\n")
    assert multi[1] == {"lines": [], "boxes": 0, "read": 0}
