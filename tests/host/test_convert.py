"""host/convert.py: the image blob format the OCR firmware reads."""
import json
import struct

import numpy as np
import pytest
from PIL import Image

from host import convert
from model.preprocess import resize_norm


def _meta_dir(tmp_path, order="RGB", shape=(1, 3, 48, 320)):
    (tmp_path / "meta.json").write_text(json.dumps({"input_shape": list(shape), "channel_order": order,
                                                    "num_classes": 97}))
    return str(tmp_path)


def _image(path, size=(120, 30), mode="RGB", colour=(10, 200, 30)):
    Image.new(mode, size, colour if mode == "RGB" else 128).save(path)
    return str(path)


def _records(blob):
    magic, version, count, c, h, w, _ = convert.HEADER.unpack_from(blob)
    stride = (16 + c * h * w + 15) // 16 * 16
    for k in range(count):
        start = 16 + k * stride
        valid, = struct.unpack_from("<H", blob, start)
        pixels = np.frombuffer(blob, np.uint8, c * h * w, start + 16).reshape(h, w, c)
        yield valid, pixels


def test_blob_matches_the_host_preprocessing(tmp_path):
    """Normalising the blob's pixels as the device does gives the host model input."""
    rng = np.random.default_rng(0)
    path = tmp_path / "x.png"
    Image.fromarray(rng.integers(0, 255, (37, 150, 3), dtype=np.uint8)).save(path)
    out, index = tmp_path / "i.bin", tmp_path / "i.json"
    convert.convert([(0, (str(path), "lbl"))], convert.read_meta(_meta_dir(tmp_path)), str(out), str(index))
    blob = out.read_bytes()
    assert blob[:4] == b"OCRI" and len(blob) % 16 == 0
    (valid, pixels), = list(_records(blob))
    device = np.zeros((3, 48, 320), np.float32)
    device[:, :, :valid] = (pixels[:, :valid].astype(np.float32).transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    host = resize_norm(np.asarray(Image.open(path).convert("RGB")), (3, 48, 320))
    np.testing.assert_allclose(device, host, atol=1e-6)
    assert valid == 195  # ceil(48 * 150 / 37)
    assert json.loads(index.read_text())["images"][0]["label"] == "lbl"


def test_bgr_models_get_bgr_pixels_and_wide_images_are_clamped(tmp_path):
    path = _image(tmp_path / "wide.png", size=(2000, 20))
    out, index = tmp_path / "i.bin", tmp_path / "i.json"
    convert.convert([(0, (path, None))], convert.read_meta(_meta_dir(tmp_path, "BGR")), str(out), str(index))
    (valid, pixels), = list(_records(out.read_bytes()))
    assert valid == 320
    assert tuple(pixels[10, 10]) == (30, 200, 10)


def test_grey_alpha_and_palette_images(tmp_path):
    for mode in ("L", "LA", "P", "RGBA", "I;16"):
        path = tmp_path / ("img_%s.png" % mode.replace(";", ""))
        Image.new(mode, (60, 20)).save(path)
        assert convert.decode(str(path)).shape == (20, 60, 3)


@pytest.mark.parametrize("make,words", [
    (lambda p: None, "no such image file"),
    (lambda p: p.write_text("not an image"), "not a readable image"),
    (lambda p: Image.new("RGB", (1, 1)).save(p, format="PNG"), "too small"),
])
def test_bad_images_are_one_clear_error(tmp_path, make, words, capsys):
    path = tmp_path / "bad.png"
    make(path)
    out = tmp_path / "i.bin"
    rc = convert.main(["--model-dir", _meta_dir(tmp_path), "--out", str(out), "--index",
                       str(tmp_path / "i.json"), str(path)])
    assert rc == 1 and not out.exists()
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and err.count("\n") == 1


def test_label_file_limit_and_shards(tmp_path):
    (tmp_path / "imgs").mkdir()
    lines = []
    for k in range(5):
        _image(tmp_path / "imgs" / ("%d.png" % k))
        lines.append("imgs/%d.png\tword%d" % (k, k))
    (tmp_path / "labels.txt").write_text("\n".join(lines) + "\n")
    entries = convert.read_label_file(str(tmp_path / "labels.txt"), limit=4)
    assert [label for _, label in entries] == ["word0", "word1", "word2", "word3"]
    assert entries[0][0] == str(tmp_path / "imgs" / "0.png")
    assert [pos for pos, _ in convert.shard(entries, "1/2")] == [1, 3]
    with pytest.raises(convert.ConvertError):
        convert.shard(entries, "2/2")
