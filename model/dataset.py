"""Datasets: rendered on the fly for training, label files for val/test.

``RenderedLines`` is a ``paddle.io.Dataset`` whose item ``i`` is a pure
function of (seed, split, i): the trainer asks for the indices of step ``s``
directly, so a resumed run continues with exactly the samples it would have
seen, and two data-parallel ranks never draw the same index.  The curriculum
level is also a function of the index, so it survives a resume too.

Validation/test splits are written once as image folders in PaddleOCR's label
format (``relative/path.png<TAB>label``) so PaddleOCR's own tools can read
them; ``LabelFile`` reads them back.
"""
import hashlib
import os

import numpy as np
import paddle
from PIL import Image

from . import fonts as fontlib
from .errors import ModelError
from .files import staged
from .preprocess import decode_image, model_input
from .labelfile import read_label_file  # noqa: F401  (the one parser, re-exported)
from .render import render
from .texts import TextSampler

SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
MANIFEST = "images.sha256"  # beside label.txt: sha256 of every image of a written split


def encode_label(charset, text, max_len):
    """Fixed-size int64 label (zero padded) + its length, as ppocr's CTCLoss wants."""
    ids = charset.encode(text)[:max_len]
    out = np.zeros(max_len, np.int64)
    out[:len(ids)] = ids
    return out, np.int64(len(ids))


class RenderedLines(paddle.io.Dataset):
    """Infinite-in-spirit rendered text lines; ``length`` bounds ``len()``.

    ``curriculum(i) -> level`` maps a global sample index to an augmentation /
    text-length level in [0, 1]; the default is the full mix everywhere."""

    def __init__(self, charset, image_shape, split="train", seed=0, length=10 ** 9,
                 max_len=25, curriculum=None, channel_order="BGR"):
        super().__init__()
        self.channel_order = channel_order
        self.charset = charset
        self.image_shape = list(image_shape)
        self.split = split
        self.seed = int(seed)
        self.length = int(length)
        self.max_len = max_len
        self.curriculum = curriculum or (lambda i: 1.0)
        alphabet = "".join(sorted(charset.alphabet))
        eval_split = split != "train"
        # Random-character strings teach rare characters; they are not words,
        # so validation/test (which measure reading) leave them out.
        self.texts = TextSampler(alphabet, split, max_len, exclude_random=eval_split)
        self.families = sorted(fontlib.families(fontlib.find_fonts(alphabet)).items())

    def __len__(self):
        return self.length

    def _text(self, i):
        rng = np.random.default_rng([self.seed, SPLIT_IDS[self.split], int(i)])
        level = float(self.curriculum(int(i)))
        return rng, level, self.texts.sample(rng, level)

    def text(self, i):
        """The label text of sample i alone (the text is drawn before the image:
        same value as ``raw(i)[1]``, without rendering)."""
        return self._text(i)[2]

    def raw(self, i):
        """(RGB uint8 image, label text) of sample i."""
        rng, level, text = self._text(i)
        _, faces = self.families[int(rng.integers(len(self.families)))]
        font = faces[int(rng.integers(len(faces)))]
        return render(rng, text, font, level), text

    def __getitem__(self, i):
        img, text = self.raw(i)
        label, length = encode_label(self.charset, text, self.max_len)
        return model_input(img, self.image_shape, self.channel_order), label, length


class LabelFile(paddle.io.Dataset):
    """Images listed in a PaddleOCR label file, preprocessed for the model."""

    def __init__(self, path, image_shape, limit=None, channel_order="BGR"):
        super().__init__()
        self.items = read_label_file(path)[:limit]
        self.image_shape = list(image_shape)
        self.channel_order = channel_order

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        return model_input(decode_image(path), self.image_shape, self.channel_order), label


def write_split(out_dir, split, count, seed, charset, level=1.0):
    """Render ``count`` samples of ``split`` into ``out_dir/images/*.png``,
    ``out_dir/label.txt`` and ``out_dir/images.sha256``.  Written to a temporary sibling folder and renamed
    into place, so an interrupted run never leaves a plausible-looking split."""
    if split not in ("val", "test"):
        raise ModelError("only val/test splits are written to disk, not %r" % split)
    ds = RenderedLines(charset, [3, 48, 320], split, seed, count, curriculum=lambda i: level)
    with staged(out_dir) as tmp:
        os.makedirs(os.path.join(tmp, "images"))
        lines, digests = [], []
        for i in range(count):
            img, text = ds.raw(i)
            rel = "images/%s_%05d.png" % (split, i)
            Image.fromarray(img).save(os.path.join(tmp, rel), compress_level=1)
            lines.append("%s\t%s\n" % (rel, text))
            with open(os.path.join(tmp, rel), "rb") as f:
                digests.append("%s  %s\n" % (hashlib.sha256(f.read()).hexdigest(), rel))
        with open(os.path.join(tmp, "label.txt"), "w", encoding="utf-8") as f:
            f.writelines(lines)
        # Every image's content in one small file (``sha256sum -c`` format): a build
        # graph can depend on it instead of on thousands of image nodes.
        with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as f:
            f.writelines(digests)
    return os.path.join(os.path.abspath(out_dir), "label.txt")

