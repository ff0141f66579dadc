"""Real photographed word crops as training and validation data (``real_data=``).

    python -m model.realdata --source DIR|LABELS --config CFG --out build/data/real \
        [--val svt=all,iiit5k=300,*=0.1]

A source is a folder holding ``labels.tsv`` or ``label.txt``, or a label file
itself, in PaddleOCR's format (``image path<TAB>label``, paths relative to the
label file).  The data stays where it is (research datasets without an open
licence are read, never copied); ``--out`` gets

* ``train.txt`` and ``val.txt`` — PaddleOCR label files whose paths point at
  the source images (relative to ``--out``, so no absolute path is written);
* ``images.sha256`` — every image's digest and label, the one file the build
  graph depends on instead of thousands of image nodes;
* ``report.json`` — counts per source and split, and what was skipped.

The split is deterministic and needs no list: an image's *source* is its file
name up to the first ``_`` (``svt_train_12.jpg`` -> ``svt``); ``--val`` says
how many images of each source go to validation (``all``, a count, or a
fraction; ``*`` for any other source), chosen in the order of a hash of the
file name.  The validation images are never trained on.

Bad input is one ModelError line: a missing or unreadable image, an empty
source.  A label with a character outside the dictionary cannot be trained
on: it is skipped, and the count (with examples) is printed and recorded.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np

from .errors import ModelError, run_main
from .files import staged
from .labelfile import read_label_file

LABEL_FILES = ("labels.tsv", "label.txt")
MANIFEST = "images.sha256"
DEFAULT_VAL = "svt=all,iiit5k=300,*=0.1"


def label_file_of(source):
    """The label file a ``real_data=`` value names (a folder or the file)."""
    if os.path.isdir(source):
        for name in LABEL_FILES:
            if os.path.isfile(os.path.join(source, name)):
                return os.path.join(source, name)
        raise ModelError("real_data=%s: the folder has no %s" % (source, " or ".join(LABEL_FILES)))
    if not os.path.isfile(source):
        raise ModelError("real_data=%s: no such folder or label file" % source)
    return source


def source_of(path):
    """Which dataset an image comes from: its file name up to the first '_'."""
    return os.path.basename(path).split("_", 1)[0].lower()


def parse_val_rule(text):
    """'svt=all,iiit5k=300,*=0.1' -> {source: "all" | int | float}."""
    rule = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        try:
            if not sep or not key:
                raise ValueError
            rule[key.lower()] = "all" if value == "all" else (
                float(value) if "." in value else int(value))
            if rule[key.lower()] != "all" and not 0 <= rule[key.lower()]:
                raise ValueError
        except ValueError:
            raise ModelError("real validation rule %r: expected source=all|COUNT|FRACTION, ..." % text)
    rule.setdefault("*", 0.1)
    return rule


def name_order(path):
    return hashlib.sha1(os.path.basename(path).encode("utf-8")).hexdigest()


def split(items, rule):
    """(train, val) lists of (path, label), deterministic for the same file names."""
    by_source = {}
    for item in items:
        by_source.setdefault(source_of(item[0]), []).append(item)
    train, val = [], []
    for source in sorted(by_source):
        group = sorted(by_source[source], key=lambda it: name_order(it[0]))
        want = rule.get(source, rule["*"])
        n = len(group) if want == "all" else (
            int(round(want * len(group))) if isinstance(want, float) else min(want, len(group)))
        chosen = {id(it) for it in group[:n]}
        for it in by_source[source]:  # keep the label file's order within each list
            (val if id(it) in chosen else train).append(it)
    order = {id(it): i for i, it in enumerate(items)}
    return sorted(train, key=lambda it: order[id(it)]), sorted(val, key=lambda it: order[id(it)])


def check_images(items):
    """sha256 of every image; ModelError for a missing or undecodable one."""
    import cv2
    digests = []
    for path, _ in items:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise ModelError("real image %s: %s" % (path, exc.strerror or exc))
        if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None:
            raise ModelError("real image %s is not a readable image" % path)
        digests.append(hashlib.sha256(data).hexdigest())
    return digests


def prepare(source, charset, out_dir, val_rule=DEFAULT_VAL):
    """Read, check, split and write a real-data source (see the module docstring)."""
    labels = label_file_of(source)
    items = read_label_file(labels)
    alphabet = charset.alphabet
    usable = [it for it in items if it[1] and set(it[1]) <= alphabet]
    skipped = [it for it in items if it not in usable]
    if not usable:
        raise ModelError("%s: none of its %d labels can be read with the dictionary" % (labels, len(items)))
    digests = check_images(usable)
    train, val = split(usable, parse_val_rule(val_rule))
    out_dir = os.path.abspath(out_dir)
    with staged(out_dir) as tmp:
        rel = lambda p: os.path.relpath(p, out_dir)
        for name, part in (("train.txt", train), ("val.txt", val)):
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.writelines("%s\t%s\n" % (rel(p), label) for p, label in part)
        with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as f:
            f.writelines("%s  %s\t%s\n" % (d, rel(p), label) for d, (p, label) in zip(digests, usable))
        counts = {}
        for name, part in (("train", train), ("val", val)):
            for p, _ in part:
                counts.setdefault(source_of(p), {"train": 0, "val": 0})[name] += 1
        report = {"source": rel(labels), "val_rule": val_rule, "images": len(usable),
                  "train": len(train), "val": len(val), "per_source": counts,
                  "skipped_labels": len(skipped),
                  "skipped_examples": [[rel(p), label] for p, label in skipped[:10]]}
        with open(os.path.join(tmp, "report.json"), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
    return report


# ---------------------------------------------------------------- training data
def augment_photo(rng, img):
    """A real crop as another camera might have taken it: re-cropped borders,
    a small perspective change, lower resolution, blur, colour and contrast
    changes, noise, JPEG (each with some probability; about a quarter of the
    samples stay as they are).  HxWx3 uint8 in, HxWx3 uint8 out."""
    import cv2
    if rng.random() < 0.25:
        return img
    h, w = img.shape[:2]
    # Borders as another detector would cut them: each corner moves in (up to
    # 5% of the height, tighter) or out (up to 15%, more context) on its own,
    # which also tilts the text a little (perspective).
    move = rng.uniform(-0.15, 0.05, size=(4, 2)) * h * [[1, 1], [-1, 1], [-1, -1], [1, -1]]
    quad = np.float32([[0, 0], [w, 0], [w, h], [0, h]]) + np.float32(move)
    out_w = max(int(round((quad[1, 0] - quad[0, 0] + quad[2, 0] - quad[3, 0]) / 2)), 4)
    out_h = max(int(round((quad[3, 1] - quad[0, 1] + quad[2, 1] - quad[1, 1]) / 2)), 4)
    rect = np.float32([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]])
    img = cv2.warpPerspective(img, cv2.getPerspectiveTransform(quad, rect), (out_w, out_h),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    h, w = img.shape[:2]
    if rng.random() < 0.3:  # a smaller word in the photo
        small_h = int(rng.integers(12, 28))
        if small_h < h:
            small_w = max(2, int(round(w * small_h / h)))
            img = cv2.resize(cv2.resize(img, (small_w, small_h), interpolation=cv2.INTER_AREA),
                             (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.2:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.2) * h / 32.0)
    f = img.astype(np.float32)
    if rng.random() < 0.5:  # brightness / contrast
        f = (f - 128.0) * rng.uniform(0.6, 1.3) + 128.0 + rng.uniform(-40, 40)
    if rng.random() < 0.2:  # another colour cast, or grey
        f = f[..., rng.permutation(3)] if rng.random() < 0.5 else f.mean(-1, keepdims=True).repeat(3, -1)
    if rng.random() < 0.2:
        f = f + rng.normal(0, rng.uniform(2, 10), f.shape)
    img = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.2:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(img)


class RealCrops:
    """Training samples from a real label file: item i is a pure function of
    (seed, i) — which image (a new permutation every pass over the data) and
    how it is augmented — so a resumed run sees the same samples."""

    def __init__(self, label_file, charset, image_shape, seed, max_len=25, channel_order="BGR"):
        from .preprocess import decode_image
        self.items = [(p, l) for p, l in read_label_file(label_file) if len(l) <= max_len]
        if not self.items:
            raise ModelError("%s has no usable training images" % label_file)
        self.images = [decode_image(p) for p, _ in self.items]  # ~2k small crops: keep them in memory
        self.charset, self.image_shape, self.seed = charset, list(image_shape), int(seed)
        self.max_len, self.channel_order = max_len, channel_order
        self._perm = {}

    def __len__(self):
        return len(self.items)

    def index(self, i):
        n = len(self.items)
        epoch = i // n
        if epoch not in self._perm:
            self._perm = {epoch: np.random.default_rng([self.seed, 11, epoch]).permutation(n)}
        return int(self._perm[epoch][i % n])

    def raw(self, i):
        k = self.index(i)
        return augment_photo(np.random.default_rng([self.seed, 12, int(i)]), self.images[k]), self.items[k][1]

    def __getitem__(self, i):
        from .dataset import encode_label
        from .preprocess import model_input
        img, text = self.raw(i)
        label, length = encode_label(self.charset, text, self.max_len)
        return model_input(img, self.image_shape, self.channel_order), label, length


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m model.realdata", description=__doc__.split("\n")[0])
    ap.add_argument("--source", required=True, help="folder with labels.tsv/label.txt, or a label file")
    ap.add_argument("--config", required=True, help="recognition yml (for the dictionary)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--val", default=DEFAULT_VAL, help="validation images per source (default %(default)s)")
    a = ap.parse_args(argv)
    from .config import RecConfig
    report = prepare(a.source, RecConfig(a.config).charset, a.out, a.val)
    if report["skipped_labels"]:
        print("note: skipped %d of %d labels with characters outside the dictionary (e.g. %r)"
              % (report["skipped_labels"], report["images"] + report["skipped_labels"],
                 report["skipped_examples"][0][1]))
    print("real data %s: %d train, %d val images (%s)" % (
        report["source"], report["train"], report["val"],
        ", ".join("%s %d/%d" % (s, c["train"], c["val"]) for s, c in sorted(report["per_source"].items()))))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main, paddle=False))
