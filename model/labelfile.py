"""PaddleOCR's label-file format, ``path<TAB>label`` per line: the one parser.

Light on purpose (no Paddle import) so host tools can read label files fast.
"""
import os
import zlib

from .errors import ModelError


def read_label_file(path):
    """[(absolute image path, label)]; paths in the file are relative to its
    folder.  Outputs that record a path use ``recorded_path``."""
    if not os.path.isfile(path):
        raise ModelError("label file not found: %s" % path)
    base = os.path.dirname(os.path.abspath(path))
    items = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            if "\t" not in line:
                raise ModelError("%s:%d: expected 'path<TAB>label'" % (path, n))
            rel, label = line.split("\t", 1)
            items.append((os.path.normpath(os.path.join(base, rel)), label))
    if not items:
        raise ModelError("label file %s has no entries" % path)
    return items


def recorded_path(path):
    """An image path as outputs record it: relative to the current directory
    (the repository root, for the build's steps), so a file made on one machine
    holds no machine's absolute path and is byte-identical in any checkout."""
    return os.path.relpath(path)


def split_digest(label_path):
    """CRC-32 of a label file, recorded in metrics.json to tie numbers to data."""
    try:
        with open(label_path, "rb") as f:
            return "%08x" % (zlib.crc32(f.read()) & 0xFFFFFFFF)
    except OSError as exc:
        raise ModelError("cannot read label file %s: %s" % (label_path, exc.strerror or exc))
