"""host.predict: Paddle inference reference over an exported model directory."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "model"))

from model_helpers import (clean_words, error_lines, exported_small, ppocrv4_dir,  # noqa: E402,F401
                           run_module, untrained_checkpoint)


def first_images(label_file, n):
    base = os.path.dirname(label_file)
    lines = open(label_file, encoding="utf-8").read().splitlines()[:n]
    return [(os.path.join(base, l.split("\t")[0]), l.split("\t")[1]) for l in lines]


def test_predict_prints_text_and_score_and_writes_reference_json(tmp_path, exported_small, clean_words):  # noqa: F811
    images = [p for p, _ in first_images(clean_words, 3)]
    out = tmp_path / "reference.json"
    rc, output = run_module("host.predict", "--model", exported_small, *images)
    assert rc == 0, output
    rows = [l.split("\t") for l in output.splitlines() if l.count("\t") == 2]
    assert [r[0] for r in rows] == images and all(0.0 <= float(r[2]) <= 1.0 for r in rows)
    # With --json (the build's host reference): the file, and one line instead of one per image.
    rc, output = run_module("host.predict", "--model", exported_small, *images, "--json", out)
    assert rc == 0 and "host reference: 3 images" in output and "\t" not in output, output
    ref = json.load(open(out))
    assert [e["path"] for e in ref["images"]] == images
    assert [(e["text"], "%.6f" % e["score"]) for e in ref["images"]] == [(r[1], r[2]) for r in rows]


def test_predict_matches_the_decoder_on_raw_probabilities(exported_small, clean_words):  # noqa: F811
    from model.preprocess import decode_image as decode
    from model.inference import Recognizer
    rec = Recognizer(exported_small)
    path = first_images(clean_words, 1)[0][0]
    probs = rec.probabilities(decode(path))
    assert probs.shape == (40, 97) and abs(float(probs.sum(-1).mean()) - 1.0) < 1e-4
    text, score = rec.read_file(path)
    idx = probs.argmax(-1)
    expected = "".join(rec.charset.classes[i] for t, i in enumerate(idx)
                       if i != 0 and (t == 0 or idx[t - 1] != i))
    assert text == expected


def test_pretrained_model_reads_a_word(ppocrv4_dir, clean_words):  # noqa: F811
    from model.inference import Recognizer
    rec = Recognizer(ppocrv4_dir)
    hits = sum(rec.read_file(p)[0] == label for p, label in first_images(clean_words, 8))
    assert hits >= 5


def test_unreadable_image_is_one_error_line(tmp_path, exported_small):  # noqa: F811
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG broken")
    rc, output = run_module("host.predict", "--model", exported_small, junk)
    assert rc == 2 and len(error_lines(output)) == 1 and "junk.png" in output


def test_model_dir_with_mismatched_dictionary(tmp_path, exported_small):  # noqa: F811
    import shutil
    broken = tmp_path / "model"
    shutil.copytree(exported_small, broken)
    (broken / "dict.txt").write_text("a\nb\n")
    rc, output = run_module("host.predict", "--model", broken, "x.png")
    assert rc == 2 and "97 output classes but the dictionary gives 4" in output


def test_onnx_reference_reads_what_paddle_reads(tmp_path, exported_small, clean_words):  # noqa: F811
    """--onnx (the int8 build's reference runs the QDQ model with onnxruntime):
    on the fp32 ONNX graph of the same model it reads what Paddle reads."""
    import onnx
    from codegen import frontend
    with open(os.path.join(exported_small, "meta.json")) as f:
        shape = json.load(f)["input_shape"]
    model, _name, _shape, _pred = frontend.load(exported_small, shape)
    path = str(tmp_path / "model.onnx")
    onnx.save(model, path)
    images = [p for p, _ in first_images(clean_words, 3)]
    rc, paddle = run_module("host.predict", "--model", exported_small, *images)
    assert rc == 0, paddle
    rc, ort = run_module("host.predict", "--model", exported_small, "--onnx", path, *images)
    assert rc == 0, ort
    rows = lambda out: [l.split("\t") for l in out.splitlines() if l.count("\t") == 2]  # noqa: E731
    assert [r[:2] for r in rows(ort)] == [r[:2] for r in rows(paddle)]
    assert all(abs(float(a[2]) - float(b[2])) < 1e-4 for a, b in zip(rows(ort), rows(paddle)))
    (tmp_path / "bad.onnx").write_text("not a model")
    rc, out = run_module("host.predict", "--model", exported_small, "--onnx", str(tmp_path / "bad.onnx"),
                         *images)
    assert rc == 2 and len(error_lines(out)) == 1 and "not a model onnxruntime can run" in out, out
