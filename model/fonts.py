"""Fonts for rendering, found under /usr/share/fonts (Debian font packages).

Only fonts whose character map covers every dictionary character are used, so
a label never shows a missing-glyph box.  Symbol/dingbat/math faces and
hairline weights are excluded by name because they would teach the model
shapes no real sign uses.  The list is sorted so a seed picks the same font on
every machine with the same packages.
"""
import functools
import glob
import os
import re

from .errors import ModelError

FONT_ROOT = "/usr/share/fonts"
# LinBiolinum_K is a keyboard-key font: every glyph sits in a box.
EXCLUDE = re.compile(r"Symbol|D050000L|Math|Hairline|Thin|ExtraLight|Z003|LinBiolinum_K", re.I)
# File-name prefix -> family; e.g. "LiberationSans-BoldItalic" -> "LiberationSans".
_FAMILY = re.compile(r"^([A-Za-z0-9]+?)(?:[-_].*)?$")


_WEIGHT = re.compile(r"(Bold|Oblique|Italic)+$")


def family_of(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    return _WEIGHT.sub("", _FAMILY.match(stem).group(1)) or stem


def _covers(path, chars):
    from fontTools.ttLib import TTFont
    try:
        font = TTFont(path, lazy=True, fontNumber=0)
        cmap = font.getBestCmap() or {}
    except Exception:  # unreadable font file: skip it
        return False
    return all(ord(c) in cmap for c in chars if c != " ")


@functools.lru_cache(maxsize=8)
def find_fonts(chars, root=FONT_ROOT):
    """Sorted font paths under root covering every character in ``chars``
    (a string, so the call can be cached)."""
    paths = sorted(glob.glob(os.path.join(root, "**", "*.ttf"), recursive=True)
                   + glob.glob(os.path.join(root, "**", "*.otf"), recursive=True))
    fonts = tuple(p for p in paths if not EXCLUDE.search(os.path.basename(p))
                  and _covers(p, chars))
    if not fonts:
        raise ModelError("no usable fonts under %s (install the Debian font packages "
                         "listed in debian-packages.txt)" % root)
    return fonts


def families(fonts):
    """{family: [paths]} so samplers can pick a family first (fair to families
    that ship few weights)."""
    out = {}
    for p in fonts:
        out.setdefault(family_of(p), []).append(p)
    return out
