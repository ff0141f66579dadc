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
    """CRC-32 of a split's labels, recorded in metrics.json to tie numbers to
    data: over ``file name<TAB>label`` lines, so the same split written in
    another folder (a real split's paths point at the data from where the split
    was written) has the same digest."""
    return "%08x" % (zlib.crc32("".join(
        "%s\t%s\n" % (os.path.basename(p), label) for p, label in read_label_file(label_path)
    ).encode("utf-8")) & 0xFFFFFFFF)


def images_digest(label_path, limit=None):
    """sha256 over the content (and file name) of the first ``limit`` images of
    a label file, in order: the rendered or photographed pixels the numbers
    were measured on."""
    import hashlib
    outer = hashlib.sha256()
    for path, _ in read_label_file(label_path)[:limit]:
        try:
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        except OSError as exc:
            raise ModelError("image %s of %s: %s" % (path, label_path, exc.strerror or exc))
        outer.update(("%s  %s\n" % (digest, os.path.basename(path))).encode("utf-8"))
    return outer.hexdigest()
