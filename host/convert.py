"""Text-line images -> the OCR firmware's image blob (firmware/app/ocr/images.h).

    python -m host.convert --model-dir DIR --out images.bin --index images.json IMAGE...
    python -m host.convert --model-dir DIR --out images.bin --index images.json \\
        --labels test/labels.txt --limit 100 --shard 0/2

The host only decodes the file and applies PaddleOCR's resize (keep the aspect
ratio at the model height, at most the model width); normalisation and
padding run on the device. ``images.json`` records, per image, its path, its
label (when a label file was given) and the valid width, for the reports.
Bad input (missing file, not an image, unusable image) is one error line.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

from model.files import write_atomic
from model.labelfile import recorded_path

MAGIC = b"OCRI"
VERSION = 1
HEADER = struct.Struct("<4sHHHHHH")   # magic, version, count, channels, height, width, reserved
RECORD = struct.Struct("<H14x")       # valid width, reserved
ALIGN = 16


class ConvertError(Exception):
    pass


def read_meta(model_dir):
    path = os.path.join(model_dir, "meta.json")
    try:
        with open(path, encoding="utf-8") as handle:
            meta = json.load(handle)
    except (OSError, ValueError) as err:
        raise ConvertError("cannot read %s: %s" % (path, err)) from None
    return meta


def decode(path):
    """RGB uint8 HxWx3: model.preprocess.decode_image, the decoder the host
    reference and training use too (EXIF orientation, transparency, 16-bit)."""
    from model.errors import ModelError
    from model.preprocess import decode_image
    try:
        return decode_image(path)
    except ModelError as err:
        raise ConvertError(str(err)) from None


def encode_record(rgb, image_shape, channel_order):
    """16-byte record header + HWC pixels padded to the model width and 16 bytes."""
    from model.preprocess import resize_for_model
    channels, height, width = image_shape
    resized = resize_for_model(rgb, image_shape)
    if channel_order == "BGR":
        resized = resized[:, :, ::-1]
    valid = resized.shape[1]
    pixels = np.zeros((height, width, channels), np.uint8)
    pixels[:, :valid, :] = resized
    body = RECORD.pack(valid) + pixels.tobytes()
    return body + b"\0" * (-len(body) % ALIGN), valid


def read_label_file(path, limit=None):
    """[(image path, label)] from PaddleOCR's ``path<TAB>label`` format; relative
    paths are relative to the label file's folder."""
    from model.errors import ModelError
    from model.labelfile import read_label_file as read
    try:
        entries = read(path)
    except (ModelError, OSError) as err:
        raise ConvertError(str(err)) from None
    return entries[:limit] if limit else entries


def shard(entries, spec):
    """Every n-th entry starting at i for spec 'i/n' (a stable split for parallel runs)."""
    index, count = (int(x) for x in spec.split("/"))
    if not 0 <= index < count:
        raise ConvertError("--shard %s: need 0 <= i < n" % spec)
    return [(pos, entry) for pos, entry in enumerate(entries) if pos % count == index]


def convert(entries, meta, out, index_path):
    shape = [int(v) for v in meta["input_shape"]]
    image_shape = shape[1:]
    if len(shape) != 4 or image_shape[0] != 3:
        raise ConvertError("model input shape %s is not 1x3xHxW" % shape)
    order = meta.get("channel_order", "RGB")
    if order not in ("RGB", "BGR"):
        raise ConvertError("meta.json channel_order must be RGB or BGR, not %r" % order)
    records, index = [], []
    for position, (path, label) in entries:
        record, valid = encode_record(decode(path), image_shape, order)
        records.append(record)
        index.append({"position": position, "path": recorded_path(path), "label": label,
                      "valid_width": valid})
    if not records:
        raise ConvertError("no images to convert")
    if len(records) > 0xFFFF:
        raise ConvertError("at most 65535 images per blob")
    header = HEADER.pack(MAGIC, VERSION, len(records), *image_shape, 0)
    for path, data in ((out, header + b"".join(records)),
                       (index_path, json.dumps({"input_shape": shape, "channel_order": order,
                                                "images": index}, indent=1) + "\n")):
        write_atomic(path, data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="inference model dir (meta.json)")
    parser.add_argument("--out", required=True, help="image blob to write")
    parser.add_argument("--index", required=True, help="images.json to write")
    parser.add_argument("--labels", help="PaddleOCR label file instead of IMAGE arguments")
    parser.add_argument("--limit", type=int, help="use the first N entries of the label file")
    parser.add_argument("--shard", default="0/1", help="i/n: every n-th entry from i")
    parser.add_argument("images", nargs="*")
    args = parser.parse_args(argv)
    try:
        if args.labels:
            entries = read_label_file(args.labels, args.limit)
        else:
            entries = [(path, None) for path in args.images]
        convert(shard(entries, args.shard), read_meta(args.model_dir), args.out, args.index)
    except ConvertError as err:
        print("error: %s" % err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from model.errors import run_main
    sys.exit(run_main(main, paddle=False))
