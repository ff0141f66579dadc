"""Datasets and label files in PaddleOCR's format."""
import os

import numpy as np
import pytest

from model import ppocr_path
from model.charset import Charset
from model.dataset import LabelFile, RenderedLines, read_label_file, write_split
from model.errors import ModelError
from model.preprocess import resize_for_model, resize_norm

CS = Charset.from_file(ppocr_path.en_dict_path())


@pytest.mark.parametrize("shape", [[3, 48, 320], [3, 32, 320]])
def test_rendered_items_have_model_shapes(shape):
    ds = RenderedLines(CS, shape, "train", seed=0, max_len=25)
    img, label, length = ds[5]
    assert img.shape == tuple(shape) and img.dtype == np.float32
    assert -1.0 <= img.min() and img.max() <= 1.0
    assert label.shape == (25,) and label.dtype == np.int64
    text = ds.raw(5)[1]
    assert length == len(text) and list(label[:length]) == CS.encode(text)
    assert not label[length:].any()
    again = RenderedLines(CS, shape, "train", seed=0, max_len=25)[5]
    assert np.array_equal(img, again[0])
    # the label alone, without rendering, is the same text
    assert [ds.text(i) for i in range(20)] == [ds.raw(i)[1] for i in range(20)]


def test_paddleocr_resize_keeps_aspect_and_pads_with_zeros():
    img = np.full((20, 40, 3), 255, np.uint8)  # aspect 2 -> 96 px wide at height 48
    assert resize_for_model(img, [3, 48, 320]).shape == (48, 96, 3)
    x = resize_norm(img, [3, 48, 320])
    assert np.allclose(x[:, :, :96], 1.0) and not x[:, :, 96:].any()
    wide = np.zeros((10, 1000, 3), np.uint8)
    assert resize_for_model(wide, [3, 48, 320]).shape == (48, 320, 3)


def test_written_split_is_a_paddleocr_label_file(tmp_path):
    label = write_split(str(tmp_path / "val"), "val", 12, 3, CS)
    lines = open(label, encoding="utf-8").read().splitlines()
    assert len(lines) == 12
    for line in lines:
        rel, text = line.split("\t")
        assert rel.startswith("images/") and os.path.isfile(tmp_path / "val" / rel) and text
    ds = LabelFile(label, [3, 48, 320])
    img, text = ds[0]
    assert img.shape == (3, 48, 320) and text == lines[0].split("\t")[1]
    assert not os.path.exists(str(tmp_path / "val") + ".tmp")
    # same seed, same bytes
    label2 = write_split(str(tmp_path / "again"), "val", 12, 3, CS)
    assert open(label2).read() == open(label).read()
    # the manifest: every image's sha256, in sha256sum format, identical for identical splits
    import hashlib
    manifest = open(tmp_path / "val" / "images.sha256").read().splitlines()
    assert [m.split("  ")[1] for m in manifest] == [l.split("\t")[0] for l in lines]
    for m in manifest:
        digest, rel = m.split("  ")
        assert hashlib.sha256(open(tmp_path / "val" / rel, "rb").read()).hexdigest() == digest
    assert open(tmp_path / "again" / "images.sha256").read() == open(tmp_path / "val" / "images.sha256").read()


def test_label_file_errors(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        read_label_file(str(tmp_path / "missing.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text("no tab here\n")
    with pytest.raises(ModelError, match="path<TAB>label"):
        read_label_file(str(bad))


def test_unreadable_image_is_one_model_error(tmp_path):
    from model.preprocess import decode_image
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(ModelError, match="not a readable image"):
        decode_image(str(junk))
