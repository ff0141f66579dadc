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


def _png_header(path, width, height):
    """A PNG whose header declares width x height (and whose data is cut short)."""
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk)


@pytest.mark.parametrize("make,words", [
    (lambda p: None, "no such image file"),
    (lambda p: p.write_text("not an image"), "not a readable image"),
    (lambda p: Image.new("RGB", (1, 1)).save(p, format="PNG"), "too small"),
    (lambda p: _png_header(p, 20000, 20000), "not a readable image"),  # a decompression bomb
    (lambda p: Image.new("1", (9000, 8000)).save(p, format="PNG"), "pixels is more than"),
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


def test_exif_orientation_is_applied(tmp_path):
    """A photo stored sideways with an EXIF orientation tag is read upright, by the
    one decoder the device blob, the host reference and training share."""
    upright = Image.new("RGB", (90, 30), "white")
    upright.paste((200, 0, 0), (0, 0, 30, 30))  # a red block on the left
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # 30 wide, 90 high, as the sensor wrote it
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    path = tmp_path / "phone.jpg"
    stored.save(path, exif=exif, quality=95)
    rgb = convert.decode(str(path))
    assert rgb.shape == (30, 90, 3)
    assert rgb[15, 10, 0] > 150 and rgb[15, 10, 1] < 80 and rgb[15, 80].min() > 200  # red on the left


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
