"""Seeded text-line renderer: one cropped word image per (seed, index).

Why it looks like this: the model must read words photographed on signs, shop
fronts and labels, which no one here can collect, so each sample mixes what
photos do to text — coloured text on coloured, gradient or textured
backgrounds, inverted contrast, outlines and shadows, slight rotation, shear
and perspective, tight and loose crops, blur, sensor noise, low resolution and
JPEG artefacts.  ``level`` (0..1) scales how often and how strongly these
happen, which is the training curriculum: clean dark-on-light words first.

Everything is drawn with Pillow and warped/compressed with OpenCV; a sample is
a pure function of the ``numpy.random.Generator`` handed in, so datasets can
seed it per index and a resumed run sees exactly the same data.
"""
import functools

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont


@functools.lru_cache(maxsize=2048)
def _font(path, size):
    # Raqm, never a silent fall-back to the basic layout (model.fonts.check_layout_engine)
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.RAQM)


def _luma(c):
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _colours(rng, level):
    """(background colour, text colour) with enough luminance contrast."""
    if rng.random() > 0.7 * level:  # plain print: dark ink on light paper
        bg = rng.integers(200, 256, size=3)
        fg = rng.integers(0, 60, size=3)
        return bg, fg
    min_contrast = 150 - 50 * level  # stays readable once blur/noise are added
    for _ in range(50):
        bg, fg = rng.integers(0, 256, size=3), rng.integers(0, 256, size=3)
        if abs(_luma(bg) - _luma(fg)) >= min_contrast:
            return bg, fg
    return np.array([255, 255, 255]), np.array([0, 0, 0])


def _background(rng, h, w, colour, level):
    """Solid, gradient, or textured background around ``colour`` (float32 HxWx3)."""
    base = np.empty((h, w, 3), np.float32)
    base[:] = colour
    r = rng.random()
    if r < 0.25 * level:  # linear gradient to a nearby colour
        other = np.clip(colour + rng.normal(0, 50, 3), 0, 255)
        ang = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = (xx * np.cos(ang) + yy * np.sin(ang))
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
        base = base * (1 - t[..., None]) + other * t[..., None]
    elif r < 0.5 * level:  # low-frequency texture (paper, wall, wood...)
        gh, gw = int(rng.integers(2, 8)), int(rng.integers(4, 24))
        grid = rng.normal(0, rng.uniform(8, 35), (gh, gw, 3)).astype(np.float32)
        base = base + cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        if rng.random() < 0.5:  # plus fine grain
            base = base + rng.normal(0, rng.uniform(2, 10), (h, w, 1)).astype(np.float32)
    elif r < 0.6 * level:  # stripes/lines behind the text (ruled paper, fences)
        period = int(rng.integers(4, 16))
        other = np.clip(colour + rng.normal(0, 40, 3), 0, 255)
        mask = (np.arange(h if rng.random() < 0.5 else w) % period) < period // 3
        if mask.shape[0] == h:
            base[mask] = other
        else:
            base[:, mask] = other
    return base


def _text_mask(text, font, stroke):
    """Alpha mask of the text (uint8) on a canvas with room for warps, plus the
    tight text box (x0, y0, x1, y1) in canvas coordinates."""
    x0, y0, x1, y1 = font.getbbox(text, stroke_width=stroke)
    size = font.size
    pad = size  # margin for rotation/perspective/loose crops
    w, h = (x1 - x0) + 2 * pad, (y1 - y0) + 2 * pad
    img = Image.new("L", (w, h), 0)
    ImageDraw.Draw(img).text((pad - x0, pad - y0), text, font=font, fill=255,
                             stroke_width=stroke, stroke_fill=255)
    return np.asarray(img), (pad, pad, pad + x1 - x0, pad + y1 - y0)


def _warp(rng, level, w, h, box):
    """Random small rotation/shear/perspective as a 3x3 homography."""
    x0, y0, x1, y1 = box
    src = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    th = y1 - y0
    ang = np.deg2rad(rng.normal(0, 1.5 * level))
    shear = rng.normal(0, 0.12 * level) if rng.random() < 0.3 else 0.0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    c, s = np.cos(ang), np.sin(ang)
    dst = []
    for x, y in src:
        x, y = x - cx, y - cy
        x = x + shear * y
        dst.append([c * x - s * y + cx, s * x + c * y + cy])
    dst = np.float32(dst) + rng.normal(0, 0.06 * th * level, (4, 2)).astype(np.float32) \
        * (rng.random() < 0.4)
    return cv2.getPerspectiveTransform(src, dst), dst


def render(rng, text, font_path, level=1.0):
    """Render ``text`` with ``font_path``; returns an RGB uint8 array (H x W x 3)
    cropped around the text as a detector would (tight or loose)."""
    size = int(rng.integers(24, 44))
    font = _font(font_path, size)
    stroke = 1 if size >= 30 and rng.random() < 0.08 * level else 0  # thicker fills counters
    mask, box = _text_mask(text, font, stroke)
    h, w = mask.shape
    bg_col, fg_col = _colours(rng, level)
    img = _background(rng, h, w, bg_col.astype(np.float32), level)
    alpha = mask.astype(np.float32)[..., None] / 255.0
    if rng.random() < 0.1 * level:  # drop shadow / outline in another colour
        dx, dy = rng.integers(-3, 4, size=2)
        shadow = np.roll(np.roll(alpha, int(dy), 0), int(dx), 1)
        sh_col = np.clip(bg_col * rng.uniform(0.1, 0.6), 0, 255).astype(np.float32)
        img = img * (1 - shadow) + sh_col * shadow
    fg = fg_col.astype(np.float32) + rng.normal(0, 12 * level, (1, w, 3)).astype(np.float32)
    img = img * (1 - alpha) + fg * alpha
    img = np.clip(img, 0, 255).astype(np.uint8)

    if level > 0 and rng.random() < 0.6:
        H, quad = _warp(rng, level, w, h, box)
        img = cv2.warpPerspective(img, H, (w, h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
        x0, y0 = quad.min(0)
        x1, y1 = quad.max(0)
    else:
        x0, y0, x1, y1 = box

    # Crop like a text detector: mostly tight, sometimes loose, uneven margins.
    th = y1 - y0
    loose = rng.random() < 0.3 + 0.2 * level
    m = lambda: th * (rng.uniform(0.05, 0.45) if loose else rng.uniform(-0.02, 0.10))
    cx0, cx1 = int(round(x0 - m())), int(round(x1 + m()))
    cy0, cy1 = int(round(y0 - m())), int(round(y1 + m()))
    cx0, cy0 = max(cx0, 0), max(cy0, 0)
    cx1, cy1 = min(max(cx1, cx0 + 2), w), min(max(cy1, cy0 + 2), h)
    img = img[cy0:cy1, cx0:cx1]

    # Photo degradations.  At most two of them per sample (weighted by level):
    # stacking all of them makes crops no reader, human or model, can read.
    ch, cw = img.shape[:2]
    n_deg = int(rng.choice(3, p=[1 - 0.7 * level, 0.45 * level, 0.25 * level]))
    chosen = set(rng.choice(4, size=n_deg, replace=False).tolist()) if n_deg else set()
    # Resolution: a word in a photo is often only 16-30 px tall.
    target_h = int(rng.integers(16, 31)) if 0 in chosen else int(rng.integers(32, 49))
    target_h = min(target_h, ch)
    target_w = max(2, int(round(cw * target_h / ch)))
    img = cv2.resize(img, (target_w, target_h), interpolation=cv2.INTER_AREA)
    if 1 in chosen:  # defocus / motion softness, relative to the text height
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.0) * target_h / 32.0)
    if 2 in chosen:  # sensor noise
        noise = rng.normal(0, rng.uniform(2, 10), img.shape)
        img = np.clip(img + noise, 0, 255).astype(np.uint8)
    if 3 in chosen:  # JPEG artefacts
        q = int(rng.integers(25, 85))
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    if rng.random() < 0.1 * level:  # inverted contrast (light on dark signs)
        img = 255 - img
    return np.ascontiguousarray(img)
