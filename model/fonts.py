"""The pinned inputs of the renderer: fonts and the word list (``model/render.lock``).

A rendered split is only reproducible when every machine renders it from the
same files.  Scanning ``/usr/share/fonts`` would make the data depend on what
else a machine has installed (another font package, another point release), so
the renderer uses exactly the files listed in ``render.lock`` — path, the
Debian package that installs it, sha256 — and checks them before it draws
anything.  Extra fonts on a machine are ignored; a missing or different file is
one ModelError naming the package.

The list was made with ``python -m model.fonts --write-lock`` from the font
packages of debian-packages.txt: every face whose character map covers the
English dictionary, minus symbol/dingbat/math faces and hairline weights (they
would teach the model shapes no real sign uses).  Sorted by path, so a seed
picks the same font everywhere.
"""
import functools
import hashlib
import os
import re
import subprocess
import sys

from .errors import ModelError

LOCK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "render.lock")
FONT_ROOT = "/usr/share/fonts"
WORDLIST_KIND = "wordlist"
# LinBiolinum_K is a keyboard-key font: every glyph sits in a box.
EXCLUDE = re.compile(r"Symbol|D050000L|Math|Hairline|Thin|ExtraLight|Z003|LinBiolinum_K", re.I)
# File-name prefix -> family; e.g. "LiberationSans-BoldItalic" -> "LiberationSans".
_FAMILY = re.compile(r"^([A-Za-z0-9]+?)(?:[-_].*)?$")
_WEIGHT = re.compile(r"(Bold|Oblique|Italic)+$")


def family_of(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    return _WEIGHT.sub("", _FAMILY.match(stem).group(1)) or stem


def covers(path, chars):
    """Whether the font at ``path`` has a glyph for every character but space."""
    from fontTools.ttLib import TTFont
    try:
        font = TTFont(path, lazy=True, fontNumber=0)
        cmap = font.getBestCmap() or {}
    except Exception:  # unreadable font file: not usable
        return False
    return all(ord(c) in cmap for c in chars if c != " ")


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ------------------------------------------------------------------ the lock file
def read_lock(lock=LOCK):
    """[(kind, sha256, package, path)] in file order; kind is "font" or "wordlist"."""
    try:
        with open(lock, encoding="utf-8") as f:
            lines = [l.split() for l in f if l.strip() and not l.startswith("#")]
    except OSError as exc:
        raise ModelError("cannot read %s: %s" % (lock, exc))
    if not lines or any(len(l) != 4 for l in lines):
        raise ModelError("%s: expected lines 'kind sha256 package path'" % lock)
    return [tuple(l) for l in lines]


def check_layout_engine():
    """Pillow lays text out with Raqm (bundled in its wheel) when the system has
    FriBiDi, and with its basic engine otherwise: other glyph positions, other
    pixels for the same seed (seen on a fresh Debian 12 without libfribidi0).
    The renderer uses Raqm; without it, one error naming the package."""
    from PIL import features
    if not features.check("raqm"):
        raise ModelError("Pillow's Raqm text layout is unavailable (it needs the Debian package "
                         "libfribidi0): rendered data would differ from everyone else's")


@functools.lru_cache(maxsize=4)
def checked_entries(lock=LOCK):
    """The lock's entries after checking every file is there with its digest
    (and that Pillow lays text out as everywhere else: check_layout_engine)."""
    check_layout_engine()
    entries = read_lock(lock)
    for kind, digest, package, path in entries:
        if not os.path.isfile(path):
            raise ModelError("%s %s is missing: install the Debian package %s "
                             "(./scons installs debian-packages.txt)" % (kind, path, package))
        if file_sha256(path) != digest:
            raise ModelError("%s %s is not the pinned file (sha256 differs from %s): the "
                             "Debian package %s on this machine is another version; "
                             "rendered data would differ from everyone else's"
                             % (kind, path, os.path.basename(lock), package))
    return tuple(entries)


def pinned(kind, lock=LOCK):
    return [path for k, _, _, path in checked_entries(lock) if k == kind]


def wordlist(lock=LOCK):
    """The pinned word list's path."""
    paths = pinned(WORDLIST_KIND, lock)
    if len(paths) != 1:
        raise ModelError("%s must pin exactly one word list" % lock)
    return paths[0]


@functools.lru_cache(maxsize=8)
def find_fonts(chars, lock=LOCK):
    """The pinned fonts covering every character in ``chars`` (a string, so the
    call can be cached), in lock order."""
    fonts = tuple(p for p in pinned("font", lock) if covers(p, chars))
    if not fonts:
        raise ModelError("none of the fonts pinned in %s covers the dictionary" % lock)
    return fonts


def families(fonts):
    """{family: [paths]} so samplers can pick a family first (fair to families
    that ship few weights)."""
    out = {}
    for p in fonts:
        out.setdefault(family_of(p), []).append(p)
    return out


# ------------------------------------------------------------ writing the lock
def package_files(package):
    out = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    if out.returncode != 0:
        raise ModelError("Debian package %s is not installed" % package)
    return out.stdout.split()


def font_packages(debian_packages):
    with open(debian_packages, encoding="utf-8") as f:
        names = [l.split()[0] for l in f if l.strip() and not l.lstrip().startswith("#")]
    return [n for n in names if n.startswith("fonts-")]


def make_lock(chars, debian_packages, wordlist_path, wordlist_package="wamerican"):
    """Lock lines for the usable faces of the font packages in debian-packages.txt."""
    entries = []
    for package in font_packages(debian_packages):
        for path in package_files(package):
            if (path.startswith(FONT_ROOT) and path.endswith((".ttf", ".otf"))
                    and os.path.isfile(path) and not os.path.islink(path)
                    and not EXCLUDE.search(os.path.basename(path)) and covers(path, chars)):
                entries.append(("font", file_sha256(path), package, path))
    entries.sort(key=lambda e: e[3])
    entries.append((WORDLIST_KIND, file_sha256(wordlist_path), wordlist_package, wordlist_path))
    return entries


def main(argv=None):
    """``python -m model.fonts``: check the pinned render inputs, or rewrite the lock.

        python -m model.fonts              # check: every pinned file present, same bytes
        python -m model.fonts --write-lock # re-pin from the packages of debian-packages.txt
    """
    import argparse
    from . import ppocr_path
    from .charset import Charset
    ap = argparse.ArgumentParser(prog="python -m model.fonts", description=main.__doc__.split("\n")[0])
    ap.add_argument("--write-lock", action="store_true")
    ap.add_argument("--debian-packages", default=os.path.join(os.path.dirname(os.path.dirname(LOCK)),
                                                                "debian-packages.txt"))
    a = ap.parse_args(argv)
    if a.write_lock:
        chars = "".join(sorted(Charset.from_file(ppocr_path.en_dict_path()).alphabet))
        entries = make_lock(chars, a.debian_packages, "/usr/share/dict/american-english")
        with open(LOCK + ".tmp", "w", encoding="utf-8") as f:
            f.write("# The renderer's inputs (model/fonts.py): kind sha256 Debian-package path.\n"
                    "# Regenerate with: python -m model.fonts --write-lock\n")
            for e in entries:
                f.write("%s %s %s %s\n" % e)
        os.replace(LOCK + ".tmp", LOCK)
        print("pinned %d files in %s" % (len(entries), LOCK))
    entries = checked_entries()
    print("%d pinned render inputs present and unchanged (%d font families)"
          % (len(entries), len(families(pinned("font")))))
    return 0


if __name__ == "__main__":
    from .errors import run_main
    sys.exit(run_main(main, paddle=False))
