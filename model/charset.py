"""The recognizer's classes: CTC blank + PaddleOCR dictionary (+ space).

PaddleOCR's ``CTCLabelDecode`` builds ``["blank"] + dict_lines (+ [" "])``; we
mirror that order exactly so an index means the same thing in training, in the
exported ``dict.txt`` and in the firmware's decoder.
"""
import os

from .errors import ModelError


def read_dict(path):
    """Dictionary lines in file order (PaddleOCR strips only the newline)."""
    if not os.path.isfile(path):
        raise ModelError("dictionary not found: %s" % path)
    with open(path, "rb") as f:
        data = f.read()
    # Split on "\n" only, as PaddleOCR's readlines() does (str.splitlines would
    # also split on exotic separators that may be dictionary entries).
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    try:
        chars = [line.decode("utf-8").rstrip("\r") for line in lines]
    except UnicodeDecodeError as exc:
        raise ModelError("dictionary %s is not UTF-8: %s" % (path, exc))
    if not chars:
        raise ModelError("dictionary is empty: %s" % path)
    return chars


class Charset:
    """Index <-> character mapping of a CTC recognizer."""

    def __init__(self, dict_chars, use_space_char=True):
        self.dict_chars = list(dict_chars)
        self.use_space_char = use_space_char
        self.classes = ["blank"] + self.dict_chars + ([" "] if use_space_char else [])
        # Later entries win, as in PaddleOCR (en_dict's own space maps to the last class).
        self.index = {c: i for i, c in enumerate(self.classes) if i > 0}

    @classmethod
    def from_file(cls, path, use_space_char=True):
        return cls(read_dict(path), use_space_char)

    @property
    def num_classes(self):
        return len(self.classes)

    @property
    def alphabet(self):
        """Every character the model can emit."""
        return set(self.index)

    def encode(self, text):
        try:
            return [self.index[c] for c in text]
        except KeyError as exc:
            raise ModelError("character %r is not in the dictionary" % exc.args[0])

    def decode(self, indices, probs=None):
        """Greedy CTC decode of one sequence: collapse repeats, drop blanks.
        Returns (text, score) with score = mean probability of kept steps."""
        text, kept, prev = [], [], -1
        for t, i in enumerate(indices):
            i = int(i)
            if i != prev and i != 0:
                text.append(self.classes[i])
                if probs is not None:
                    kept.append(float(probs[t]))
            prev = i
        score = sum(kept) / len(kept) if kept else 0.0
        return "".join(text), score

    def check_head(self, out_channels, what="model"):
        if out_channels != self.num_classes:
            raise ModelError(
                "%s has %d output classes but the dictionary gives %d "
                "(blank + %d characters%s)" % (
                    what, out_channels, self.num_classes, len(self.dict_chars),
                    " + space" if self.use_space_char else ""))
