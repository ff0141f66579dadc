"""The whole-image half of the graph (pipeline=ocr): detector import, its
codegen under det_ names, the scene app, its inputs and what re-runs after a
change; bad input. One real `deploy pipeline=ocr` per module (detector +
recognizer codegen, firmware, one simulator run), then one change at a time."""
import os

import numpy as np
import pytest

from graph_helpers import actions, built_copy

OCR = ("pipeline=ocr",)


@pytest.fixture(scope="module")
def scene_tree(tmp_path_factory):
    return built_copy(tmp_path_factory, "scene", *OCR)


def test_deploy_reads_the_whole_image_and_a_noop_runs_nothing(scene_tree):
    rc, out = scene_tree.scons("deploy", *OCR)
    assert actions(out) == [], out
    assert "box: " in out and "text: QBHOUSE" in out and "stages: detector " in out, out
    assert os.path.getsize(scene_tree.file("build/deploy/ocr.png")) > 0
    with open(scene_tree.file("build/codegen/det-ppocrv3_en-480x640-llvm-mve-best/model.h")) as handle:
        header = handle.read()
    assert "int det_run(const float *input, float *output);" in header and "#define DET_INPUT_W 640" in header


def test_box_limit_reruns_only_the_config_link_and_run(scene_tree):
    rc, out = scene_tree.scons("deploy", "box_limit=2", *OCR)
    assert sorted(actions(out)) == sorted([
        "SCENE build/scene/config.c", "CC build/firmware/scene/scene/config.o",
        "LINK build/firmware/scene.elf", "SIZE build/firmware/scene.elf.size.json",
        "RUN build/firmware/scene.elf"]), out  # same text, same drawing: ocr.png is up to date


def test_another_detector_size_recompiles_the_detector_only(scene_tree):
    rc, out = scene_tree.scons("-n", "deploy", "det_input=320x320", *OCR)
    steps = actions(out)
    assert "TVM build/codegen/det-ppocrv3_en-320x320-llvm-mve-best/model.h" in steps, out
    assert not [s for s in steps if s.startswith(("TVM build/codegen/en_PP", "DET", "EXPORT"))], out


def test_an_image_without_text_prints_no_text_found(scene_tree):
    from PIL import Image
    Image.fromarray(np.full((200, 300, 3), 190, np.uint8)).save(scene_tree.file("blank.png"))
    rc, out = scene_tree.scons("deploy", "image=blank.png", *OCR)
    assert "no text found (0 boxes, 0 read" in out and "box: " not in out, out


def test_bad_input_is_one_line_and_leaves_nothing(scene_tree):
    rec = scene_tree.file("rec.onnx")
    import shutil
    from model.detector import released_source
    shutil.copy(released_source("ppocrv3_en")[0].replace("_det_", "_rec_"), rec)
    rc, out = scene_tree.scons("deploy", "det_model=rec.onnx", *OCR, check=False)
    assert rc != 0 and "not a DB probability map" in out, out
    assert not os.path.exists(scene_tree.file("build/det/rec/meta.json"))
    from PIL import Image
    Image.fromarray(np.zeros((8, 4100, 3), np.uint8)).save(scene_tree.file("wide.png"))
    rc, out = scene_tree.scons("deploy", "image=wide.png", *OCR, check=False)
    assert rc != 0 and "larger than the blob takes" in out, out
    assert not os.path.exists(scene_tree.file("build/deploy/scene.bin"))
    rc, out = scene_tree.scons("deploy", "det_input=100x64", *OCR, check=False)
    assert rc == 2 and "error: det_input=100x64: must be HxW, both multiples of 32" in out, out
