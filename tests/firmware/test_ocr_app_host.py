"""The OCR app's C (preprocess, CTC decode, image blob) compiled for the host
and checked against the Python definitions the host reference uses."""
import ctypes
import json
import subprocess

import numpy as np
import pytest
from PIL import Image

from host import convert
from model.preprocess import resize_norm

SOURCES = ["firmware/app/ocr/ctc.c", "firmware/app/ocr/preprocess.c", "firmware/app/ocr/images.c"]


class CtcResult(ctypes.Structure):
    _fields_ = [("score", ctypes.c_float), ("length", ctypes.c_uint)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    so = tmp_path_factory.mktemp("ocr") / "libocr.so"
    subprocess.run(["gcc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    "-Ifirmware/app/ocr", "-o", str(so)] + SOURCES, check=True)
    lib = ctypes.CDLL(str(so))
    lib.ocr_ctc_greedy.restype = CtcResult
    lib.ocr_images_check.restype = ctypes.c_char_p
    return lib


def python_ctc(probs, labels):
    """PaddleOCR's CTCLabelDecode: argmax, merge repeats, drop blanks, mean score."""
    best = probs.argmax(axis=1)
    keep = np.ones(len(best), bool)
    keep[1:] = best[1:] != best[:-1]
    keep &= best != 0
    text = "".join(labels[k] for k in best[keep])
    conf = probs.max(axis=1)[keep]
    return text, float(conf.mean()) if len(conf) else 0.0


def c_ctc(lib, probs, labels):
    steps, classes = probs.shape
    table = (ctypes.c_char_p * classes)(*[s.encode("utf-8") for s in labels])
    text = ctypes.create_string_buffer(4 * steps + 1)
    data = np.ascontiguousarray(probs, np.float32)
    result = lib.ocr_ctc_greedy(data.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), steps, classes,
                                table, text, len(text))
    return text.value.decode("utf-8"), result.score


def test_ctc_matches_paddleocrs_decoder(lib):
    rng = np.random.default_rng(1)
    labels = [""] + list("abcdefghij") + ["\u00e9", " "]
    for trial in range(200):
        steps = int(rng.integers(1, 60))
        logits = rng.normal(size=(steps, len(labels))) * 3
        logits[:, 0] += rng.uniform(0, 4)  # blanks are common in real outputs
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        probs = probs.astype(np.float32)
        want_text, want_score = python_ctc(probs, labels)
        text, score = c_ctc(lib, probs, labels)
        assert text == want_text
        assert abs(score - want_score) < 1e-6


def test_ctc_repeats_across_a_blank_are_kept_and_empty_is_zero(lib):
    labels = ["", "l", "o"]
    seq = [1, 1, 0, 1, 2, 2, 0]
    probs = np.full((len(seq), 3), 0.1, np.float32)
    for t, k in enumerate(seq):
        probs[t, k] = 0.8
    assert c_ctc(lib, probs, labels) == ("llo", pytest.approx(0.8))
    blank = np.zeros((5, 3), np.float32)
    blank[:, 0] = 1.0
    assert c_ctc(lib, blank, labels) == ("", 0.0)


def test_device_preprocessing_matches_host_reference(lib, tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "x.png"
    Image.fromarray(rng.integers(0, 255, (31, 90, 3), dtype=np.uint8)).save(path)
    (tmp_path / "meta.json").write_text(json.dumps({"input_shape": [1, 3, 48, 320]}))
    blob_path = tmp_path / "i.bin"
    convert.convert([(0, (str(path), None))], convert.read_meta(str(tmp_path)), str(blob_path),
                    str(tmp_path / "i.json"))
    blob = (ctypes.c_uint8 * blob_path.stat().st_size).from_buffer_copy(blob_path.read_bytes())
    assert lib.ocr_images_check(blob, 3, 48, 320, len(blob)) is None
    assert b"shape" in lib.ocr_images_check(blob, 3, 32, 320, len(blob))
    assert b"truncated" in lib.ocr_images_check(blob, 3, 48, 320, len(blob) - 16)
    valid = ctypes.c_uint()
    lib.ocr_image_pixels.restype = ctypes.c_void_p
    pixels = lib.ocr_image_pixels(blob, 0, ctypes.byref(valid))
    out = np.zeros(3 * 48 * 320, np.float32)
    mean = (ctypes.c_float * 3)(0.5, 0.5, 0.5)
    std = (ctypes.c_float * 3)(0.5, 0.5, 0.5)
    lib.ocr_preprocess(ctypes.c_void_p(pixels), valid, 3, 48, 320, mean, std,
                       out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    host = resize_norm(np.asarray(Image.open(path).convert("RGB")), (3, 48, 320))
    np.testing.assert_allclose(out.reshape(3, 48, 320), host, atol=1e-6)
