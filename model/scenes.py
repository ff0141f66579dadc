"""Rendered scenes for a text detector + recognizer: ``python -m model.scenes``.

    python -m model.scenes --out DIR --count N --seed S [--width 640 --height 480] \
        [--split test] [--jobs N]

Writes ``DIR/images/scene_XXXX.png``, ``DIR/labels.txt`` in PaddleOCR's detection
label format (``images/scene_0000.png<TAB>[{"transcription": "QBHOUSE", "points":
[[x1, y1], [x2, y2], [x3, y3], [x4, y4]]}, ...]``, one entry per text line, points
clockwise from the line's own top-left corner, in pixels: pixel (i, j) covers
[i, i+1) x [j, j+1), rounded to 0.1) and ``DIR/manifest.json`` (count, seed,
size, split, generator version, the render lock's sha256, the sha256 of every
file and of every image's RGB pixels).  Assembled in a temporary sibling folder
and renamed into place (model.files.staged); ``--jobs`` processes render (the
same bytes for any number).

What a scene is: what people photograph — a sign on a coloured panel, a shop
front's fascia with notices under it, a receipt (items left, prices in a
right-aligned column), product labels, or loose lines (posters, packaging) — 1
to 8 text lines over a plain, gradient (linear or radial), textured (blotches,
stripes, tiles, grain) or photo-like background (out-of-focus multi-scale colour
noise with clutter shapes).  Text is 14..60 px high at 640x480 (the ink height of a line before
perspective; scaled by min(width/640, height/480)) in any pinned font, some of it
outlined; each block of lines is rotated by up to 20 degrees either way (signs
and shop fronts less), the whole picture is under a mild perspective warp half
of the time (corners moved by 2-8% of the short side), then light photo effects
(uneven light, softness, sensor noise).  About 4% of the scenes have no text
(label ``[]``; half of them show a blank sign).  The strings come from
model.texts — the ``--split`` partition of the pinned word list (default
``test``, so no word was seen in training), phrases, numbers, prices, dates,
codes, addresses; no random-character strings — in the recognizer's English
dictionary, drawn with the fonts of model/render.lock (checked first).

Guarantees (tests/model/test_scenes.py checks them):
  * a line's quad is its **transformed text box**: the tight axis-aligned box
    of every pixel Pillow drew for the line in its own frame (any coverage, so
    descenders, ascenders, accents and outlines are inside), grown by
    QUAD_PAD = 0.5 px and mapped exactly through the line's rotation and the
    scene's homography, the matrices that place the glyphs (no min-area
    rectangle fitted afterwards).  Every pixel with a quarter coverage or more
    has its centre inside; each side has ink within ~2.5 px;
  * every quad, and the whole block around it (its panel), lies inside the
    image with a 2 px margin; blocks are at least 4 px apart and the lines of a
    block at least 2 px: no text overlaps other text or another block's panel;
  * one quad is one text line as a line-level detector (PP-OCRv3's DB) sees it,
    PaddleOCR's labelling convention: measured on the labels, in either quad's
    frame (along its baseline and across it), two lines side by side (spans
    across the line overlapping by more than 30% of the smaller height) are at
    least 2.5x the larger quad height apart along the line (a receipt's prices
    stand in a right-aligned column, far from their items), and any other two
    at least 0.35x the smaller height apart (stacked: across the line;
    diagonal neighbours: in any direction).  Blocks lay their lines out with
    3x and 0.45x (room for the perspective warp) and a placement that breaks
    the rule on the warped, rounded points is tried again elsewhere (_spaced);
  * the letters' luma differs from the mean luma of what is under them by at
    least 100 (of 255) and from its 5th/95th percentile by at least 40; lines
    over a background too busy for that get a plain sticker behind them;
  * a scene is a pure function of (seed, split, index, width, height):
    ``numpy.random.default_rng([seed, 7, split id, index])``, so image k does
    not depend on ``--count``.  Pixels are made with element-wise numpy (no
    float reductions: statistics are integer sums), integer arithmetic,
    Pillow's drawing and bilinear resize (plain C, no CPU dispatch); matrices
    are multiplied and inverted in Python floats; no OpenCV, no BLAS.  PNGs come
    from ``png_bytes`` (fixed filter and zlib settings, no metadata), so the
    bytes depend only on the pinned wheels and fonts and on the system's zlib
    (Debian 12's zlib1g; the manifest's pixel digests do not depend on it).
"""
import argparse
import functools
import hashlib
import json
import math
import os
import signal
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import fonts as fontlib
from .errors import ModelError, run_main
from .files import sha256, staged
from .texts import TextSampler

VERSION = 2  # bump whenever the same arguments would give other bytes
STREAM = 7  # numpy seed sequence: [seed, STREAM, split id, index]
SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
REF_W, REF_H = 640, 480
MIN_TEXT_H, MAX_TEXT_H = 14, 60  # ink height of a line at 640x480
MAX_LINES = 8
NO_TEXT_RATE = 0.04
MEAN_CONTRAST, EDGE_CONTRAST = 100.0, 40.0  # luma, see _text_colour
EDGE_MARGIN, BLOCK_GAP, LINE_GAP = 2.0, 4.0, 2.0
QUAD_PAD = 0.5  # px around the ink box: the pixels bilinear resampling gives partial coverage
# Line-level ground truth (what a DB detector finds, and PaddleOCR's datasets label): two
# labelled lines side by side (their spans across the line overlap by more than
# SIDE_OVERLAP x the smaller height) are SIDE_GAP x the larger height apart along the line,
# any other two STACK_GAP x the smaller height apart (quad heights; see _spaced).  Blocks lay
# their lines out with more (LAYOUT_*, ink heights) so the perspective warp rarely breaks it.
SIDE_OVERLAP, SIDE_GAP, STACK_GAP = 0.3, 2.5, 0.35
LAYOUT_SIDE_GAP, LAYOUT_STACK_GAP = 3.0, 0.45
MIN_SIZE, MAX_SIZE = (320, 240), (4096, 4096)
MAX_COUNT = 100000
PNG_LEVEL = 1  # zlib level of png_bytes
LAYOUTS = (("sign", 0.26), ("shopfront", 0.17), ("receipt", 0.16), ("labels", 0.15),
           ("scatter", 0.26))


@functools.lru_cache(maxsize=4096)
def _font(path, size):
    # Raqm, as model.render (model.fonts.check_layout_engine)
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.RAQM)


# ------------------------------------------------------------------ geometry (plain floats)
def _mul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def _chain(*ms):
    out = ms[0]
    for m in ms[1:]:
        out = _mul(out, m)
    return out


def _inv(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    A, B, C = e * i - f * h, f * g - d * i, d * h - e * g
    det = a * A + b * B + c * C
    if abs(det) < 1e-12:
        raise ModelError("internal: singular scene transform")
    return [[A / det, (c * h - b * i) / det, (b * f - c * e) / det],
            [B / det, (a * i - c * g) / det, (c * d - a * f) / det],
            [C / det, (b * g - a * h) / det, (a * e - b * d) / det]]


def _apply(m, pts):
    out = []
    for x, y in pts:
        w = m[2][0] * x + m[2][1] * y + m[2][2]
        out.append(((m[0][0] * x + m[0][1] * y + m[0][2]) / w,
                    (m[1][0] * x + m[1][1] * y + m[1][2]) / w))
    return out


def _translate(x, y):
    return [[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]]


def _rotate(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return [[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]


IDENTITY = _translate(0.0, 0.0)


def _square_to_quad(q):
    """Homography of the unit square onto quad q (TL, TR, BR, BL), Heckbert's closed form."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = q
    sx, sy = x0 - x1 + x2 - x3, y0 - y1 + y2 - y3
    dx1, dx2, dy1, dy2 = x1 - x2, x3 - x2, y1 - y2, y3 - y2
    det = dx1 * dy2 - dx2 * dy1
    g = (sx * dy2 - dx2 * sy) / det
    h = (dx1 * sy - sx * dy1) / det
    return [[x1 - x0 + g * x1, x3 - x0 + h * x3, x0],
            [y1 - y0 + g * y1, y3 - y0 + h * y3, y0],
            [g, h, 1.0]]


def _perspective(rng, w, h):
    """Identity half of the time, otherwise the image rectangle onto a quad whose
    corners moved by up to 2-8% of the short side: a mild camera tilt."""
    if rng.random() < 0.5:
        return IDENTITY
    d = float(rng.uniform(0.02, 0.08)) * min(w, h)
    off = [float(v) for v in rng.uniform(-d, d, 8)]
    quad = [(off[0], off[1]), (w + off[2], off[3]), (w + off[4], h + off[5]), (off[6], h + off[7])]
    return _mul(_square_to_quad(quad), [[1.0 / w, 0.0, 0.0], [0.0, 1.0 / h, 0.0], [0.0, 0.0, 1.0]])


def _separated(p, q, margin):
    """Whether convex polygons p and q are at least ``margin`` apart (a separating
    axis among their edge normals with that gap; conservative)."""
    for poly in (p, q):
        n = len(poly)
        for i in range(n):
            (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % n]
            nx, ny = y1 - y0, x0 - x1
            norm = math.hypot(nx, ny)
            if norm == 0:
                continue
            nx, ny = nx / norm, ny / norm
            a = [x * nx + y * ny for x, y in p]
            b = [x * nx + y * ny for x, y in q]
            if min(b) - max(a) >= margin or min(a) - max(b) >= margin:
                return True
    return False


def _frame(q):
    """(ux, uy, height) of quad q (TL, TR, BR, BL): the unit direction of its baseline
    (the mean of its top and bottom edges) and the mean length of its left and right sides."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = q
    ux, uy = (x1 - x0) + (x2 - x3), (y1 - y0) + (y2 - y3)
    norm = math.hypot(ux, uy)
    return ux / norm, uy / norm, (math.hypot(x3 - x0, y3 - y0) + math.hypot(x2 - x1, y2 - y1)) / 2


def _gap_along(p, q, ax, ay):
    """The gap between the projections of p and q on (ax, ay), negative when they overlap."""
    a = [x * ax + y * ay for x, y in p]
    b = [x * ax + y * ay for x, y in q]
    return max(min(b) - max(a), min(a) - max(b))


def _distance(p, q):
    """The distance between two disjoint convex polygons (the closest vertex-edge pair)."""
    best = math.inf
    for pts, poly in ((p, q), (q, p)):
        for px, py in pts:
            for i in range(len(poly)):
                (ax, ay), (bx, by) = poly[i], poly[(i + 1) % len(poly)]
                dx, dy = bx - ax, by - ay
                t = min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy or 1.0)))
                best = min(best, math.hypot(px - ax - t * dx, py - ay - t * dy))
    return best


def _spaced(p, q, tol=0.05):
    """Whether labelled quads p and q are two lines to a line-level detector.  In the frame
    of either (u along its baseline, n across it): side by side (u spans apart, n spans
    overlapping by more than SIDE_OVERLAP x the smaller height), the u gap is at least
    SIDE_GAP x the larger height; stacked (u spans overlapping, n spans apart), the n gap
    is at least STACK_GAP x the smaller height; diagonal neighbours (neither), and lines
    no frame separates (crossing directions), are that far apart in any direction.
    Every case that holds within ``tol`` px is checked, with ``tol`` px to spare: called
    on the rounded label points, so a check of the labels sees what this one saw."""
    fp, fq = _frame(p), _frame(q)
    lo, hi = sorted((fp[2], fq[2]))
    near = STACK_GAP * lo + tol
    far = []  # whether _distance(p, q) >= near, once it is needed

    def apart(u_gap, n_gap):  # a gap along an axis is at most the distance
        if max(u_gap, n_gap) >= near:
            return True
        if not far:
            far.append(_distance(p, q) >= near)
        return far[0]

    undecided = True
    for ux, uy, _ in (fp, fq):
        u_gap, n_gap = _gap_along(p, q, ux, uy), _gap_along(p, q, -uy, ux)
        if u_gap >= -tol and -n_gap > SIDE_OVERLAP * lo - tol and u_gap < SIDE_GAP * hi + tol:
            return False  # side by side
        if u_gap < tol and -tol <= n_gap < near:
            return False  # stacked
        if u_gap >= -tol and -n_gap <= SIDE_OVERLAP * lo + tol and not apart(u_gap, n_gap):
            return False  # diagonal
        undecided = undecided and u_gap < tol and n_gap < tol
    return not undecided or apart(-1.0, -1.0)


def _inside(poly, w, h, margin=EDGE_MARGIN):
    return all(margin <= x <= w - margin and margin <= y <= h - margin for x, y in poly)


# ------------------------------------------------------------------ rasters (element-wise numpy)
def _quantize(img):
    """float32 -> uint8, rounding half to even (in place on ``img``)."""
    np.rint(img, out=img)
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)


def _upsample(grid, h, w):
    """Bilinear upsampling of a (gy+1) x (gx+1) [x C] grid of corner values to HxW [xC]."""
    gy, gx = grid.shape[0] - 1, grid.shape[1] - 1
    fy = (np.arange(h, dtype=np.float32) + np.float32(0.5)) * np.float32(gy / h)
    fx = (np.arange(w, dtype=np.float32) + np.float32(0.5)) * np.float32(gx / w)
    iy = np.minimum(fy.astype(np.intp), gy - 1)
    ix = np.minimum(fx.astype(np.intp), gx - 1)
    extra = (None,) * (grid.ndim - 2)
    tx = (fx - ix)[(None, slice(None)) + extra]
    ty = (fy - iy)[(slice(None), None) + extra]
    rows = grid[:, ix] * (1 - tx) + grid[:, ix + 1] * tx  # (gy + 1) x W
    return rows[iy] * (1 - ty) + rows[iy + 1] * ty


def _smooth(rng, h, w, cells_y, cells_x, channels=0):
    """Smooth noise in [-1, 1]: a random (cells+1) grid, bilinearly upsampled
    (HxW, or HxWxC with ``channels``)."""
    shape = (cells_y + 1, cells_x + 1) + ((channels,) if channels else ())
    return _upsample(rng.uniform(-1.0, 1.0, shape).astype(np.float32), h, w)


def _add_grain(rng, img, sigma):
    """uint8 image + the same grain (_noise) in every channel."""
    out = img.astype(np.int16)
    out += _channels(_noise(rng, img.shape[0], img.shape[1], sigma), img.shape[2])
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def _soften(img, strong):
    """A [1, 2, 1] / 4 (``strong``) or [1, 6, 1] / 8 blur along both axes, edges
    replicated; integer arithmetic."""
    c, shift = (2, 2) if strong else (6, 3)
    x = img.astype(np.uint16)
    y = x * np.uint16(c)
    y[1:] += x[:-1]
    y[:-1] += x[1:]
    y[0] += x[0]
    y[-1] += x[-1]
    z = y * np.uint16(c)
    z[:, 1:] += y[:, :-1]
    z[:, :-1] += y[:, 1:]
    z[:, 0] += y[:, 0]
    z[:, -1] += y[:, -1]
    z += np.uint16(1 << (2 * shift - 1))
    z >>= np.uint16(2 * shift)
    return z.astype(np.uint8)


def _noise(rng, h, w, sigma):
    """HxW int16 grain of standard deviation ~``sigma``: triangular noise from two
    uniform bytes (a table lookup: 5x cheaper than Gaussian samples)."""
    ab = np.arange(65536, dtype=np.int32)
    k = max(1, int(round(sigma * 256 / 104.5)))  # sd of a - b is 104.5
    table = ((((ab & 255) - (ab >> 8)) * k) >> 8).astype(np.int16)
    return table[rng.integers(0, 65536, (h, w), dtype=np.uint16)]


def _channels(a, n=3):
    """HxW -> HxWxn copies (np.stack: much faster than broadcasting a HxWx1)."""
    return np.stack([a] * n, -1)


def _solid(h, w, colour, dtype=np.float32):
    """An HxWx3 array of one colour (filled row-wise: numpy broadcasts a 3-vector
    over an image 6x slower)."""
    out = np.empty((h, w * 3), dtype)
    out[:] = np.tile(np.asarray(colour).astype(dtype), w)
    return out.reshape(h, w, 3)


def _times(img, colour):
    """HxWx3 float32 image times a per-channel vector (row-wise, see _solid)."""
    h, w = img.shape[:2]
    return (img.reshape(h, w * 3) * np.tile(np.asarray(colour, np.float32), w)).reshape(h, w, 3)


def _enlarge(small, h, w):
    """A small uint8 image (HxW or HxWx3) enlarged to w x h with Pillow's bilinear
    filter (integer arithmetic in Pillow's C code: the same everywhere)."""
    return np.array(Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR))


def _sample(srcs, g, box):
    """Bilinear samples of each of ``srcs`` (float32 2-D arrays of one shape, zero
    border) at the pixel centres of ``box`` = (x0, y0, x1, y1) of the output,
    mapped by ``g`` (output -> src, continuous coordinates: pixel (i, j) covers
    [i, i+1) x [j, j+1)).  Returns ([values], sy) with sy the src row coordinate."""
    x0, y0, x1, y1 = box
    u = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5
    v = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5
    den = (g[2][0] * u + g[2][1] * v) + g[2][2]
    sx = ((g[0][0] * u + g[0][1] * v) + g[0][2]) / den
    sy = ((g[1][0] * u + g[1][1] * v) + g[1][2]) / den
    fx, fy = sx - 0.5, sy - 0.5
    ix, iy = np.floor(fx), np.floor(fy)
    ax, ay = (fx - ix).astype(np.float32), (fy - iy).astype(np.float32)
    bx, by = 1 - ax, 1 - ay
    h, w = srcs[0].shape
    ok = (ix >= 0) & (ix <= w - 2) & (iy >= 0) & (iy <= h - 2)
    idx = (np.clip(iy, 0, h - 2).astype(np.intp) * w + np.clip(ix, 0, w - 2).astype(np.intp))
    out = []
    for src in srcs:
        flat = src.ravel()
        top = flat[idx] * bx + flat[idx + 1] * ax
        bottom = flat[idx + w] * bx + flat[idx + w + 1] * ax
        out.append(np.where(ok, top * by + bottom * ay, np.float32(0)))
    return out, sy


def _region(quad, w, h):
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    return (max(int(math.floor(min(xs))) - 1, 0), max(int(math.floor(min(ys))) - 1, 0),
            min(int(math.ceil(max(xs))) + 1, w), min(int(math.ceil(max(ys))) + 1, h))


def _luma(c):
    return (299 * int(c[0]) + 587 * int(c[1]) + 114 * int(c[2])) / 1000.0


def _stats(img, box, alpha):
    """(mean, 5th, 95th percentile) luma of img under the ink (integer arithmetic,
    so the same on every machine), or None when the line has no solid ink."""
    x0, y0, x1, y1 = box
    ink = alpha > 0.5
    if ink.sum() < 4:
        ink = alpha > 0.2
        if ink.sum() < 4:
            return None
    reg = img[y0:y1, x0:x1].astype(np.int64)
    luma = (reg[..., 0] * 299 + reg[..., 1] * 587 + reg[..., 2] * 114)[ink]
    lo, hi = np.percentile(luma, [5, 95], method="lower")
    return int(luma.sum()) / luma.size / 1000.0, float(lo) / 1000.0, float(hi) / 1000.0


def _colour(rng, sat_lo=0.0, sat_hi=1.0):
    """A random colour whose saturation is scaled by uniform(sat_lo, sat_hi)
    towards its grey (0: grey, 1: the random RGB as drawn)."""
    c = rng.integers(0, 256, 3).astype(np.float64)
    grey = _luma(c)
    return np.clip(np.rint(grey + (c - grey) * float(rng.uniform(sat_lo, sat_hi))), 0, 255)


def _random_colour(rng, lo, hi):
    """A colour of random hue with luma in [lo, hi] (scaled towards black or white)."""
    target = float(rng.uniform(lo, hi))
    c = _colour(rng, 0.0, 1.0) if rng.random() < 0.6 else np.full(3, float(rng.integers(0, 256)))
    l = _luma(c)
    if target <= l:
        c = c * (target / l) if l > 0 else c * 0
    else:
        c = 255 - (255 - c) * ((255 - target) / (255 - l))
    c = np.clip(np.rint(c), 0, 255).astype(np.int64)
    if not lo <= _luma(c) <= hi:
        v = int(math.ceil(lo)) if target - lo < hi - target else int(math.floor(hi))
        c = np.array([v, v, v], np.int64)
    return c


def _text_colour(rng, stats, prefer=None):
    """A text colour that contrasts with the background stats, or None."""
    mean, lo, hi = stats
    ranges = []
    dark = min(mean - MEAN_CONTRAST, lo - EDGE_CONTRAST)
    light = max(mean + MEAN_CONTRAST, hi + EDGE_CONTRAST)
    if dark >= 0:
        ranges.append((0.0, dark))
    if light <= 255:
        ranges.append((light, 255.0))
    if not ranges:
        return None
    if prefer is not None and any(a <= _luma(prefer) <= b for a, b in ranges):
        return prefer
    a, b = ranges[int(rng.integers(len(ranges)))]
    return _random_colour(rng, a, b)


# ------------------------------------------------------------------ backgrounds
def _background(rng, h, w):
    """(uint8 HxWx3 background, kind): plain, gradient, textured or photo-like.
    Smooth parts are made at 1/4 or 1/8 of the size and enlarged (_enlarge)."""
    kind = ("plain", "gradient", "textured", "photo")[int(rng.choice(4, p=[0.2, 0.25, 0.3, 0.25]))]
    base = _colour(rng, 0.0, 0.7).astype(np.float32)  # walls, streets, wood: mostly muted
    img = _solid(h, w, base, np.uint8)
    if kind == "gradient":
        sh, sw = h // 8 + 1, w // 8 + 1
        other = np.clip(base + rng.normal(0, 45, 3), 0, 255).astype(np.float32)
        yy = (np.arange(sh, dtype=np.float32)[:, None] + np.float32(0.5)) / np.float32(sh)
        xx = (np.arange(sw, dtype=np.float32)[None, :] + np.float32(0.5)) / np.float32(sw)
        if rng.random() < 0.7:  # linear
            a = float(rng.uniform(0, 2 * math.pi))
            c, s = math.cos(a), math.sin(a)
            t = (xx * np.float32(c) + yy * np.float32(s) - np.float32(min(0.0, c) + min(0.0, s))) \
                / np.float32(abs(c) + abs(s))
        else:  # radial (a lit wall, a vignette)
            cx, cy = float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8))
            t = np.minimum(np.sqrt((xx - np.float32(cx)) ** 2 + (yy - np.float32(cy)) ** 2)
                           * np.float32(1.4), np.float32(1))
        img = _enlarge(_quantize(_solid(sh, sw, base) + _times(_channels(t), other - base)), h, w)
    elif kind == "textured":
        r = rng.random()
        if r < 0.6:  # paper, plaster, concrete: smooth blotches (plus grain below)
            amp = float(rng.uniform(8, 30))
            cy, cx = int(rng.integers(2, 10)), int(rng.integers(3, 14))
            sh, sw = h // 4 + 1, w // 4 + 1
            n = _smooth(rng, sh, sw, cy, cx) + _smooth(rng, sh, sw, cy * 4, cx * 4) * np.float32(0.5)
            img = _enlarge(_quantize(base + _channels(n * np.float32(amp))), h, w)
        elif r < 0.8:  # stripes: blinds, fences, ruled paper
            period = int(rng.integers(6, 40))
            other = np.clip(base + rng.normal(0, 35, 3), 0, 255).astype(np.uint8)
            on = (np.arange(h if rng.random() < 0.5 else w) % period) < max(1, period // 3)
            if on.shape[0] == h:
                img[on] = other
            else:
                img[:, on] = other
        else:  # tiles / bricks
            th, tw = int(rng.integers(16, 60)), int(rng.integers(24, 120))
            mortar = np.clip(base + rng.normal(0, 40, 3), 0, 255).astype(np.uint8)
            rows = np.arange(h) // th
            xx = (np.arange(w)[None, :] + (rows[:, None] % 2) * (tw // 2)) % tw
            joint = ((np.arange(h) % th) < 2)[:, None] | (xx < 2)
            img[joint] = mortar
        if rng.random() < 0.4:
            img = _add_grain(rng, img, float(rng.uniform(1, 5)))
    elif kind == "photo":
        # out-of-focus surroundings: multi-scale colour noise and clutter shapes drawn at
        # a quarter of the size, then enlarged (soft edges, like a shallow depth of field)
        sh, sw = h // 4 + 1, w // 4 + 1
        small = _solid(sh, sw, base)
        for cells, amp in ((2, 70), (6, 40), (20, 18)):
            amp = rng.uniform(0.3, 1.0, 3).astype(np.float32) * np.float32(amp)
            small += _times(_smooth(rng, sh, sw, cells, cells + cells // 2 + 1, 3), amp)
        img = _enlarge(_clutter(rng, _quantize(small)), h, w)
        if rng.random() < 0.3:
            img = _add_grain(rng, img, float(rng.uniform(1, 4)))
    elif rng.random() < 0.3:  # plain, with or without grain
        img = _add_grain(rng, img, float(rng.uniform(1, 4)))
    return img, kind


def _clutter(rng, img):
    """Shapes that are not text: boxes, poles, wires, round things."""
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(3, 14))):
        col = tuple(int(v) for v in _colour(rng, 0.0, 0.8))
        x0, y0 = int(rng.integers(-w // 4, w)), int(rng.integers(-h // 4, h))
        x1, y1 = x0 + int(rng.integers(2, w // 2)), y0 + int(rng.integers(2, h // 2))
        r = rng.random()
        if r < 0.4:
            draw.rectangle((x0, y0, x1, y1), fill=col)
        elif r < 0.7:
            draw.ellipse((x0, y0, x1, y1), fill=col)
        else:
            draw.line((x0, y0, x1, y1), fill=col, width=int(rng.integers(1, 4)))
    return np.array(pil)


# ------------------------------------------------------------------ text lines
class _Line:
    """A rendered line: ``alpha`` (float32, 0..1, one zero pixel around the ink box),
    ``fill`` (the glyph fill inside an outline stroke, or None)."""

    def __init__(self, text, alpha, fill):
        self.text, self.alpha, self.fill = text, alpha, fill
        self.h, self.w = alpha.shape
        self.ink_w, self.ink_h = self.w - 2, self.h - 2


def _draw_text(text, font_path, size, stroke):
    font = _font(font_path, size)
    x0, y0, x1, y1 = font.getbbox(text, stroke_width=stroke)
    pad = 2 + stroke + size // 4
    canvas = (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
    img = Image.new("L", canvas, 0)
    ImageDraw.Draw(img).text((pad - x0, pad - y0), text, font=font, fill=255,
                             stroke_width=stroke, stroke_fill=255)
    full = np.asarray(img)
    rows, cols = np.flatnonzero(full.any(1)), np.flatnonzero(full.any(0))
    if rows.size == 0:
        return None
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if r0 == 0 or c0 == 0 or r1 == full.shape[0] or c1 == full.shape[1]:
        raise ModelError("internal: %s at %d px drew outside its canvas" % (font_path, size))
    crop = lambda a: a[r0 - 1:r1 + 1, c0 - 1:c1 + 1].astype(np.float32) / np.float32(255)
    fill = None
    if stroke:
        inner = Image.new("L", canvas, 0)
        ImageDraw.Draw(inner).text((pad - x0, pad - y0), text, font=font, fill=255)
        fill = crop(np.asarray(inner))
    return _Line(text, crop(full), fill)


def _make_line(ctx, rng, text, font_path, target_h, max_w, stroke_p=0.0):
    """Render ``text`` with ink height close to ``target_h`` (kept in the scene's
    14..60 px range) and ink width at most ``max_w``; None if it cannot be."""
    lo, hi = ctx.min_h, ctx.max_h
    target_h = min(max(target_h, lo), hi)
    x0, y0, x1, y1 = _font(font_path, 100).getbbox(text)
    if y1 - y0 <= 0 or x1 - x0 <= 0:
        return None
    size = int(min(100.0 * target_h / (y1 - y0), 100.0 * max_w / (x1 - x0)))
    stroke = int(rng.integers(1, 3)) if size >= 28 and rng.random() < stroke_p else 0
    for _ in range(4):
        if not 6 <= size <= 4 * hi:
            return None
        line = _draw_text(text, font_path, size, stroke)
        if line is None:
            return None
        if lo <= line.ink_h <= hi and line.ink_w <= max_w:
            return line
        f = target_h / line.ink_h
        if line.ink_w * f > max_w:
            f = max_w / line.ink_w
        new = int(size * f)
        if new == size:
            new = size - 1 if line.ink_h > hi or line.ink_w > max_w else size + 1
        size = new
    return None


# ------------------------------------------------------------------ blocks of lines
def _quad_gap(factor, ink_h):
    """Ink pixels between two lines so that their quads (QUAD_PAD around the ink) are
    ``factor`` x the quad height ``ink_h`` + 2 QUAD_PAD apart."""
    return int(math.ceil(factor * (ink_h + 2 * QUAD_PAD) + 2 * QUAD_PAD))


class _Block:
    """Lines laid out in rows in the block's frame (origin at its top-left), an
    optional panel behind them; placed by a rotation about its centre.  The lines of a
    row are LAYOUT_SIDE_GAP x the row's height apart (at least), consecutive rows
    ``gap`` x the tallest line and LAYOUT_STACK_GAP x the shorter row (at least)."""

    def __init__(self, rows, pad, angle=0.0, align="center", gap=0.3, panel=None):
        self.angle, self.panel = float(angle), panel
        heights = [max(l.ink_h for l in r) for r in rows]
        base_y = max(LINE_GAP + 1, int(round(gap * max(heights or [0]))))
        gaps_y = [max(base_y, _quad_gap(LAYOUT_STACK_GAP, min(a, b)))
                  for a, b in zip(heights, heights[1:])] + [0]
        seps = [max(LINE_GAP + 1, int(round(pad)), _quad_gap(LAYOUT_SIDE_GAP, h)) for h in heights]
        widths = [sum(l.ink_w for l in r) + sep * (len(r) - 1) for r, sep in zip(rows, seps)]
        content_w = max(widths or [0])
        self.pad = int(math.ceil(pad))
        self.items = []  # (line, x, y): top-left of the ink box in the block frame
        y = self.pad
        for row, row_w, row_h, sep, gap_y in zip(rows, widths, heights, seps, gaps_y):
            if len(row) == 2:  # receipt row: text left, price right
                a, b = row
                self.items.append((a, self.pad, y + row_h - a.ink_h))
                self.items.append((b, self.pad + content_w - b.ink_w, y + row_h - b.ink_h))
            else:
                off = {"left": 0, "right": content_w - row_w}.get(align, (content_w - row_w) // 2)
                x = self.pad + off
                for l in row:
                    self.items.append((l, x, y + (row_h - l.ink_h) // 2))
                    x += l.ink_w + sep
            y += row_h + gap_y
        self.w = content_w + 2 * self.pad
        self.h = y + self.pad if rows else 2 * self.pad

    def matrix(self, H, x, y):
        """Block frame -> image: perspective H after rotating about the centre."""
        cx, cy = x + self.w / 2.0, y + self.h / 2.0
        return _chain(H, _translate(cx, cy), _rotate(self.angle), _translate(-self.w / 2.0, -self.h / 2.0))

    def outline(self, m):
        return _apply(m, [(0, 0), (self.w, 0), (self.w, self.h), (0, self.h)])

    def quads(self, m):
        """[(line matrix, quad)] of the items under the block matrix m: the ink box
        grown by QUAD_PAD (the alpha has one pixel around it)."""
        out = []
        for line, x, y in self.items:
            lm = _mul(m, _translate(x - 1.0, y - 1.0))
            e0, e1x, e1y = 1 - QUAD_PAD, line.w - 1 + QUAD_PAD, line.h - 1 + QUAD_PAD
            out.append((lm, _apply(lm, [(e0, e0), (e1x, e0), (e1x, e1y), (e0, e1y)])))
        return out


def _label_points(quad):
    return [[round(x, 1), round(y, 1)] for x, y in quad]


def _spacing_ok(block, m, labelled):
    """Whether the block's lines under m are _spaced from each other and from the
    ``labelled`` points of the lines placed before (checked on the label points)."""
    new = [_label_points(q) for _, q in block.quads(m)]
    return all(_spaced(p, q) for i, p in enumerate(new) for q in labelled + new[:i])


def _place(ctx, rng, block, H, placed, area=None, tries=40, ok=None):
    """Put the block somewhere it is inside the image, clear of the placed blocks'
    outlines and ``ok(matrix)``; the block matrix, or None."""
    ax0, ay0, ax1, ay1 = area or (0, 0, ctx.w, ctx.h)
    for _ in range(tries):
        if ax1 - ax0 - block.w < 1 or ay1 - ay0 - block.h < 1:
            # a rotated block may still fit: centre anywhere in the area
            x = float(rng.uniform(ax0, ax1)) - block.w / 2.0
            y = float(rng.uniform(ay0, ay1)) - block.h / 2.0
        else:
            x = int(rng.integers(ax0, ax1 - block.w + 1))
            y = int(rng.integers(ay0, ay1 - block.h + 1))
        m = block.matrix(H, x, y)
        out = block.outline(m)
        if _inside(out, ctx.w, ctx.h) and all(_separated(out, o, BLOCK_GAP * ctx.scale) for o in placed) \
                and (ok is None or ok(m)):
            placed.append(out)
            return m
    return None


class _Ctx:
    def __init__(self, w, h, split, alphabet):
        self.w, self.h = w, h
        self.scale = min(w / REF_W, h / REF_H)
        self.min_h, self.max_h = MIN_TEXT_H * self.scale, MAX_TEXT_H * self.scale
        self.texts = {n: TextSampler(alphabet, split, max_len=n, exclude_random=True)
                      for n in (12, 16, 18, 25)}
        self.families = _families(alphabet)
        self.mono = [f for f in self.families if "Mono" in f[0] or "Inconsolata" in f[0]]

    def font(self, rng, mono=False):
        pool = self.mono if mono else self.families
        _, faces = pool[int(rng.integers(len(pool)))]
        return faces[int(rng.integers(len(faces)))]

    def text(self, rng, kind="any", max_len=18):
        s = self.texts[max_len]
        for _ in range(10):
            if kind == "word":
                t = s.word(rng, 0.5) if rng.random() < 0.75 else s.phrase(rng, 1.0)
            elif kind == "name":
                t = " ".join(s.word(rng, 0.3) for _ in range(int(rng.integers(1, 3))))
                t = t.upper() if rng.random() < 0.6 else t
            elif kind == "price":
                t = s.price(rng, 1.0) if rng.random() < 0.8 else s.number(rng, 1.0)
            else:
                t = s.sample(rng, 1.0)
            t = " ".join(t.split())
            if 0 < len(t) <= max_len and t != "###" and any(c.isalnum() for c in t):
                return t
        return s.word(rng, 0.1)


_FAMILIES = {}


def _families(alphabet):
    if alphabet not in _FAMILIES:
        _FAMILIES[alphabet] = sorted(fontlib.families(fontlib.find_fonts(alphabet)).items())
    return _FAMILIES[alphabet]


def _height(rng, ctx, lo, hi):
    """A text height, log-uniform in [lo, hi] px at 640x480, scaled."""
    return math.exp(float(rng.uniform(math.log(lo), math.log(hi)))) * ctx.scale


def _lines(ctx, rng, n, kind, lo, hi, font, max_w, max_len=18, stroke_p=0.0, same_h=False):
    out, h = [], _height(rng, ctx, lo, hi)
    for _ in range(n * 2):
        if len(out) == n:
            break
        line = _make_line(ctx, rng, ctx.text(rng, kind, max_len), font,
                          h if same_h else _height(rng, ctx, lo, hi), max_w, stroke_p)
        if line is not None:
            out.append(line)
    return out


def _panel(rng, kind):
    """How a panel looks: fill colour, gradient, border, corner radius (fractions)."""
    if kind == "paper":
        c = rng.integers(225, 256, 3)
        c[2] = max(200, int(c[2]) - int(rng.integers(0, 25)))
    elif kind == "sticker":
        c = _colour(rng, 0.2, 1.0) if rng.random() < 0.5 else rng.integers(215, 256, 3)
    else:
        c = _colour(rng, 0.3, 1.0)
    c = c.astype(np.float32)
    other = np.clip(c + rng.normal(0, 30, 3), 0, 255).astype(np.float32) if rng.random() < 0.35 else None
    border = None
    if kind != "paper" and rng.random() < 0.35:
        border = (_colour(rng).astype(np.float32), float(rng.uniform(0.015, 0.05)))
    radius = float(rng.uniform(0, 0.25)) if kind != "paper" and rng.random() < 0.5 else 0.0
    grain = float(rng.uniform(1, 5)) if rng.random() < 0.4 else 0.0
    return {"colour": c, "gradient": other, "border": border, "radius": radius, "grain": grain}


def _layout(ctx, rng, budget):
    """[(block, placement area or None)] for one scene, at most ``budget`` lines."""
    kind = LAYOUTS[int(rng.choice(len(LAYOUTS), p=[p for _, p in LAYOUTS]))][0]
    W, H = ctx.w, ctx.h
    blocks = []
    if kind == "sign":
        n = int(rng.integers(1, 5))
        lines = _lines(ctx, rng, n, "word", 22, 60, ctx.font(rng), 0.7 * W, 16, 0.15,
                       same_h=rng.random() < 0.5)
        if lines:
            h0 = max(l.ink_h for l in lines)
            blocks.append((_Block([[l] for l in lines], pad=float(rng.uniform(0.4, 1.0)) * h0,
                                  angle=float(np.clip(rng.normal(0, 6), -20, 20)),
                                  align=("left", "center", "center", "right")[int(rng.integers(4))],
                                  gap=float(rng.uniform(0.25, 0.7)), panel=_panel(rng, "sign")), None))
    elif kind == "shopfront":
        lines = _lines(ctx, rng, 1, "name", 30, 60, ctx.font(rng), 0.85 * W, 18, 0.2)
        if lines:
            pad = lines[0].ink_h * float(rng.uniform(0.3, 0.7))
            blocks.append((_Block([lines], pad=pad, angle=float(np.clip(rng.normal(0, 2), -20, 20)),
                                  panel=_panel(rng, "sign")), (0, 0, W, int(0.55 * H))))
        for _ in range(int(rng.integers(0, 4))):  # notices in the window under it
            small = _lines(ctx, rng, int(rng.integers(1, 3)), "any", 14, 26, ctx.font(rng),
                           0.45 * W, 18)
            if small:
                panel = _panel(rng, "sticker") if rng.random() < 0.6 else None
                blocks.append((_Block([[l] for l in small], pad=0.35 * small[0].ink_h,
                                      angle=float(rng.uniform(-8, 8)), panel=panel,
                                      align="left"), (0, int(0.35 * H), W, H)))
    elif kind == "receipt":
        font = ctx.font(rng, mono=rng.random() < 0.5)
        h = _height(rng, ctx, 14, 22)
        rows = []
        for _ in range(int(rng.integers(3, 7))):
            left = _make_line(ctx, rng, ctx.text(rng, "any", 18), font, h, 0.45 * W)
            if left is None:
                continue
            row = [left]
            if rng.random() < 0.6:
                price = _make_line(ctx, rng, ctx.text(rng, "price", 12), font, h, 0.25 * W)
                if price is not None:
                    row.append(price)
            rows.append(row)
        while sum(len(r) for r in rows) > budget:
            rows.pop()
        if rows:
            blocks.append((_Block(rows, pad=float(rng.uniform(0.6, 1.5)) * h,
                                  angle=float(np.clip(rng.normal(0, 7), -20, 20)), align="left",
                                  gap=float(rng.uniform(0.3, 0.8)), panel=_panel(rng, "paper")), None))
    elif kind == "labels":
        for _ in range(int(rng.integers(1, 4))):
            lines = _lines(ctx, rng, int(rng.integers(1, 4)), "any", 14, 40, ctx.font(rng), 0.5 * W, 18)
            if lines:
                blocks.append((_Block([[l] for l in lines], pad=0.4 * max(l.ink_h for l in lines),
                                      angle=float(rng.uniform(-20, 20)) if rng.random() < 0.6 else 0.0,
                                      align=("left", "center")[int(rng.integers(2))],
                                      panel=_panel(rng, "sticker")), None))
    else:  # scatter: loose lines (posters, packaging, painted text)
        for _ in range(int(rng.integers(1, MAX_LINES + 1))):
            lines = _lines(ctx, rng, 1, "any", 14, 60, ctx.font(rng), 0.8 * W, 25, 0.1)
            if lines:
                angle = float(rng.uniform(-20, 20)) if rng.random() < 0.6 else 0.0
                blocks.append((_Block([lines], pad=max(2.0, 0.15 * lines[0].ink_h), angle=angle,
                                      panel=_panel(rng, "sticker") if rng.random() < 0.15 else None),
                               None))
    return kind, blocks


# ------------------------------------------------------------------ one scene
_CTX = {}


class Scene:
    """``image`` (uint8 HxWx3 RGB), ``labels`` ([{"transcription", "points"}]),
    ``layout``; with ``debug``: ``background`` (the picture under the text, before
    the photo effects) and per line ``ink`` = [{"box": (x0, y0, x1, y1), "alpha":
    float32 coverage of the line's pixels in that box (outline included), "fill"
    (the coverage of the letters inside an outline, or None), "colour" (of the
    letters), "stats" (mean, 5th, 95th percentile luma of the picture under the
    ink)}]."""

    def __init__(self, image, labels, layout, background=None, ink=None):
        self.image, self.labels, self.layout = image, labels, layout
        self.background, self.ink = background, ink


def render_scene(seed, index, width=REF_W, height=REF_H, split="test", debug=False, alphabet=None):
    """Scene ``index`` of the generator seeded ``seed`` (a pure function of the arguments)."""
    if alphabet is None:
        alphabet = _en_alphabet()
    rng = np.random.default_rng([int(seed), STREAM, SPLIT_IDS[split], int(index)])
    key = (width, height, split, alphabet)
    if key not in _CTX:
        _CTX[key] = _Ctx(width, height, split, alphabet)
    ctx = _CTX[key]
    H = _perspective(rng, width, height)
    img, _ = _background(rng, height, width)

    layout, blocks = ("none", []) if rng.random() < NO_TEXT_RATE else _layout(ctx, rng, MAX_LINES)
    if layout == "none" and rng.random() < 0.5:  # a blank sign or sticker
        blank = _Block([], pad=0, angle=float(rng.uniform(-15, 15)), panel=_panel(rng, "sign"))
        blank.w, blank.h = int(rng.integers(40, width // 2)), int(rng.integers(30, height // 2))
        blocks = [(blank, None)]

    # 1. geometry: every block placed clear of the others, at most MAX_LINES lines
    #    and every line _spaced from every other (a line-level detector sees them apart)
    placed, outlines, items, points = [], [], [], []
    for block, area in blocks:
        if len(items) + len(block.items) > MAX_LINES:
            continue
        m = _place(ctx, rng, block, H, outlines, area, ok=lambda m: _spacing_ok(block, m, points))
        if m is None:
            continue
        lines = []
        for (line, _, _), (lm, quad) in zip(block.items, block.quads(m)):
            points.append(_label_points(quad))
            box = _region(quad, width, height)
            planes = _sample([line.alpha] + ([line.fill] if line.fill is not None else []),
                             _inv(lm), box)[0]
            alpha, fill = planes[0], (planes[1] if len(planes) > 1 else None)
            lines.append({"line": line, "quad": quad, "box": box, "alpha": alpha, "fill": fill})
        placed.append((block, m, lines))
        items.extend(lines)

    # 2. panels; a panel-less block over a background too busy for any text colour gets a sticker
    for block, m, lines in placed:
        if block.panel is None:
            stats = [_stats(img, l["box"], l["alpha"]) for l in lines]
            if all(st is None or _text_colour(rng, st) is not None for st in stats):
                continue
            block.panel = _panel(rng, "sticker")
            block.panel["border"], block.panel["gradient"] = None, None
        _draw_panel(rng, img, block, m)
    background = img.copy() if debug else None

    # 3. text, in a colour that contrasts with what is under it
    labels, ink = [], []
    for block, m, lines in placed:
        prefer = None
        for l in lines:
            st = _stats(img, l["box"], l["alpha"])
            if st is None:
                continue
            colour = _text_colour(rng, st, prefer)
            if colour is None:  # a panel's gradient can be too strong: never label unreadable text
                continue
            prefer = colour
            _draw_line(rng, img, l, colour, st)
            labels.append({"transcription": l["line"].text, "points": _label_points(l["quad"])})
            ink.append({"box": l["box"], "alpha": l["alpha"], "colour": tuple(int(c) for c in colour),
                        "stats": st, "fill": l["fill"]})

    image = _photo_effects(rng, img)
    return Scene(image, labels, layout, background, ink if debug else None)


def _draw_panel(rng, img, block, m):
    p = block.panel
    bw, bh = int(math.ceil(block.w)), int(math.ceil(block.h))
    mask = Image.new("L", (bw + 2, bh + 2), 0)
    draw = ImageDraw.Draw(mask)
    r = int(p["radius"] * min(bw, bh))
    draw.rounded_rectangle((1, 1, bw, bh), radius=r, fill=255)
    inner = None
    if p["border"] is not None:
        b = max(1, min(int(round(p["border"][1] * min(bw, bh))), block.pad // 2))
        inner = Image.new("L", mask.size, 0)
        ImageDraw.Draw(inner).rounded_rectangle((1 + b, 1 + b, bw - b, bh - b), radius=max(0, r - b),
                                                fill=255)
    pm = _mul(m, _translate(-1.0, -1.0))
    box = _region(_apply(pm, [(1, 1), (bw + 1, 1), (bw + 1, bh + 1), (1, bh + 1)]), img.shape[1],
                  img.shape[0])
    masks = [np.asarray(mask).astype(np.float32) / np.float32(255)]
    if inner is not None:
        masks.append(np.asarray(inner).astype(np.float32) / np.float32(255))
    planes, sy = _sample(masks, _inv(pm), box)
    x0, y0, x1, y1 = box
    fill = _solid(y1 - y0, x1 - x0, p["colour"])
    if p["gradient"] is not None:
        t = _channels(np.clip((sy - 1.0) / bh, 0, 1).astype(np.float32))
        fill += _times(t, p["gradient"] - p["colour"])
    if p["grain"]:
        fill += _channels(_noise(rng, y1 - y0, x1 - x0, p["grain"]).astype(np.float32))
    if inner is not None:
        border = _solid(y1 - y0, x1 - x0, p["border"][0])
        fill = border + (fill - border) * _channels(planes[1])
    reg = img[y0:y1, x0:x1].astype(np.float32)
    img[y0:y1, x0:x1] = _quantize(reg + (fill - reg) * _channels(planes[0]))


def _draw_line(rng, img, l, colour, stats):
    x0, y0, x1, y1 = l["box"]
    reg = img[y0:y1, x0:x1].astype(np.float32)
    fg = _solid(y1 - y0, x1 - x0, colour)
    if l["fill"] is not None:  # outlined letters: ``colour`` inside, an outline darker or lighter
        c = _luma(colour)
        edge = _random_colour(rng, *((0.0, max(0.0, c - 100)) if c >= 128 else (min(255.0, c + 100), 255.0)))
        fg += _times(_channels(1 - l["fill"]), edge.astype(np.float32) - colour.astype(np.float32))
    img[y0:y1, x0:x1] = _quantize(reg + (fg - reg) * _channels(l["alpha"]))


def _photo_effects(rng, img):
    """Light photo effects on the whole picture: uneven light, softness, sensor
    noise (integer arithmetic and Pillow's blur)."""
    h, w = img.shape[:2]
    if rng.random() < 0.4:  # uneven light: x (1 +- 4..12%), 128 = 1
        light = _smooth(rng, h // 8 + 1, w // 8 + 1, 2, 3) * np.float32(128 * rng.uniform(0.04, 0.12))
        gain = _channels(_enlarge(_quantize(light + np.float32(128)), h, w).astype(np.uint16))
        out = img.astype(np.uint16)
        out *= gain
        out += np.uint16(64)
        out >>= np.uint16(7)
        img = np.minimum(out, 255).astype(np.uint8)
    if rng.random() < 0.35:  # softness
        img = _soften(img, rng.random() < 0.4)
    if rng.random() < 0.3:  # sensor noise (most of the PNG size and writing time)
        img = _add_grain(rng, img, float(rng.uniform(1, 4)))
    return img


# ------------------------------------------------------------------ files
_ALPHABET = []


def _en_alphabet():
    """The recognizer's English dictionary (PaddleOCR's en_dict.txt + space)."""
    if not _ALPHABET:
        from . import ppocr_path
        from .charset import Charset
        try:
            path = ppocr_path.en_dict_path()
        except ImportError as exc:
            raise ModelError(str(exc))
        _ALPHABET.append("".join(sorted(Charset.from_file(path).alphabet)))
    return _ALPHABET[0]


def label_line(rel, labels):
    """One line of a PaddleOCR detection label file."""
    return "%s\t%s\n" % (rel, json.dumps(labels, ensure_ascii=False))


def check_args(count, seed, width, height, split):
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ModelError("--count must be 1..%d, got %r" % (MAX_COUNT, count))
    if not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise ModelError("--seed must be an integer 0..2^63-1, got %r" % (seed,))
    for name, v, lo, hi in (("--width", width, MIN_SIZE[0], MAX_SIZE[0]),
                            ("--height", height, MIN_SIZE[1], MAX_SIZE[1])):
        if not isinstance(v, int) or not lo <= v <= hi:
            raise ModelError("%s must be %d..%d pixels, got %r" % (name, lo, hi, v))
    if split not in ("val", "test"):
        raise ModelError("--split must be val or test, got %r" % (split,))


def png_bytes(img):
    """An 8-bit RGB PNG of ``img`` with fixed settings: every row filtered with
    PNG's Sub filter, one IDAT chunk deflated by zlib at level 1 (window 15,
    memLevel 8, default strategy), no other chunks.  Faster than Pillow's writer
    (which tries every filter on every row) and fixed byte for byte."""
    h, w, c = img.shape
    raw = img.reshape(h, w * c)
    rows = np.empty((h, w * c + 1), np.uint8)
    rows[:, 0] = 1  # Sub: each byte minus the byte one pixel to the left, modulo 256
    rows[:, 1:c + 1] = raw[:, :c]
    np.subtract(raw[:, c:], raw[:, :-c], out=rows[:, c + 1:])
    z = zlib.compressobj(PNG_LEVEL, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY)
    data = z.compress(rows.data) + z.flush()

    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def _scene_file(job):
    """Write one scene's PNG to ``path``; (sha256 of the file, sha256 of the RGB
    pixels, labels).  A worker's task."""
    path, seed, index, width, height, split = job
    scene = render_scene(seed, index, width, height, split)
    png = png_bytes(scene.image)
    with open(path, "wb") as f:
        f.write(png)
    return (hashlib.sha256(png).hexdigest(), hashlib.sha256(scene.image.tobytes()).hexdigest(),
            scene.labels)


def _worker_init():
    # Ctrl-C reaches the whole process group: the parent alone handles it (it stops
    # the workers and removes the unfinished folder); SIGTERM/SIGHUP end a worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _start_method():
    """``fork`` (no start-up cost) when this process has one thread, else ``spawn``:
    forking a process that runs other threads (Paddle's, in a test session) can
    leave a child waiting on a lock one of them held."""
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux
        threads = 2
    return "fork" if threads == 1 else "spawn"


def _scene_files(jobs, work, start_method=None):
    """The results of _scene_file for ``work`` in order, on ``jobs`` processes."""
    if jobs <= 1 or len(work) < 2:
        for job in work:
            yield _scene_file(job)
        return
    import collections
    import concurrent.futures as cf
    import multiprocessing
    context = multiprocessing.get_context(start_method or _start_method())
    pool = cf.ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init)
    pending = collections.deque()
    try:
        it = iter(work)
        for job in it:  # a bounded window: at most 4 tasks a process in flight
            pending.append(pool.submit(_scene_file, job))
            if len(pending) >= 4 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except cf.process.BrokenProcessPool:
        raise ModelError("a scene worker process died (killed?): nothing written")
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def default_jobs():
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 8))
    except AttributeError:  # not Linux
        return max(1, min(os.cpu_count() or 1, 8))


def write_scenes(out_dir, count, seed, width=REF_W, height=REF_H, split="test", jobs=None):
    """Render ``count`` scenes into out_dir (atomically, on ``jobs`` processes:
    the same bytes for any number); the label file's path."""
    check_args(count, seed, width, height, split)
    jobs = default_jobs() if jobs is None else jobs
    if not isinstance(jobs, int) or not 1 <= jobs <= 64:
        raise ModelError("--jobs must be 1..64, got %r" % (jobs,))
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ModelError("--out %s exists and is not a folder" % out_dir)
    parent = os.path.dirname(os.path.abspath(out_dir))
    if not os.path.isdir(parent):
        raise ModelError("--out %s: the folder %s does not exist" % (out_dir, parent))
    alphabet = _en_alphabet()
    fontlib.checked_entries()  # the pinned fonts and word list, before anything is drawn
    render_scene(seed, 0, width, height, split, alphabet=alphabet)  # caches, before any fork
    with staged(out_dir) as tmp:
        os.makedirs(os.path.join(tmp, "images"))
        lines, files, pixels = [], {}, {}
        rels = ["images/scene_%04d.png" % i for i in range(count)]
        results = _scene_files(jobs, [(os.path.join(tmp, rel), seed, i, width, height, split)
                                      for i, rel in enumerate(rels)])
        try:
            for rel, (file_digest, pixel_digest, labels) in zip(rels, results):
                files[rel], pixels[rel] = file_digest, pixel_digest
                lines.append(label_line(rel, labels))
        finally:
            results.close()  # stops the worker processes now, also on an error or a signal
        with open(os.path.join(tmp, "labels.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
        files["labels.txt"] = sha256(os.path.join(tmp, "labels.txt"))
        manifest = {"generator": "model.scenes", "version": VERSION, "count": count, "seed": seed,
                    "split": split, "width": width, "height": height,
                    "render_lock": sha256(fontlib.LOCK), "files": files, "pixels": pixels,
                    "lines": sum(l.count('"transcription"') for l in lines),
                    "no_text_images": sum(1 for l in lines if l.endswith("\t[]\n"))}
        with open(os.path.join(tmp, "manifest.json"), "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return os.path.join(os.path.abspath(out_dir), "labels.txt")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, like every other bad argument
        raise ModelError("%s: %s" % (self.prog, message))


def main(argv=None):
    ap = _Parser(prog="python -m model.scenes", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the split's folder")
    ap.add_argument("--count", type=int, required=True, help="scenes (1..%d)" % MAX_COUNT)
    ap.add_argument("--seed", type=int, required=True, help="scene k is a function of (seed, k) alone")
    ap.add_argument("--width", type=int, default=REF_W, help="pixels (default %d)" % REF_W)
    ap.add_argument("--height", type=int, default=REF_H, help="pixels (default %d)" % REF_H)
    ap.add_argument("--split", default="test", help="word partition (val or test; default test)")
    ap.add_argument("--jobs", type=int, help="processes (default: the CPUs, at most 8); "
                                             "any number gives the same bytes")
    a = ap.parse_args(argv)
    path = write_scenes(a.out, a.count, a.seed, a.width, a.height, a.split, a.jobs)
    print("wrote %d scenes (%dx%d, seed %d): %s" % (a.count, a.width, a.height, a.seed, path))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main, paddle=False))
