"""PaddleOCR's recognition preprocessing (``resize_norm_img`` in
tools/infer/predict_rec.py), shared by training, export checks and the host
predictor so the three can never disagree.

Keep the aspect ratio, resize to the model height, clamp the width to the
model width, right-pad with zeros (after normalising), normalise
``(x/255 - 0.5) / 0.5``.  Images are RGB, as PIL decodes them.
"""
import math

import cv2
import numpy as np


def resize_for_model(img, image_shape):
    """HxWx3 uint8 -> uint8 image of the model height, aspect ratio kept,
    width ceil(H * w/h) clamped to [1, model width] (PaddleOCR's rule; cv2
    bilinear on uint8).  The firmware path does the rest on the device."""
    c, h, w = image_shape
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    ih, iw = img.shape[:2]
    ratio = iw / float(ih)
    rw = w if math.ceil(h * ratio) > w else int(math.ceil(h * ratio))
    return cv2.resize(np.ascontiguousarray(img), (max(rw, 1), h))


def resize_norm(img, image_shape, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
    """HxWx3 uint8 -> float32 CxHxW in the model's input layout: resize,
    normalise, right-pad with zeros to the model width."""
    c, h, w = image_shape
    resized = resize_for_model(img, image_shape).astype(np.float32) / 255.0
    resized = (resized - np.float32(mean)) / np.float32(std)
    out = np.zeros((c, h, w), np.float32)
    out[:, :, :resized.shape[1]] = resized.transpose(2, 0, 1)
    return out


def load_image(path):
    """Read an image file as RGB uint8; raises ModelError when unreadable."""
    from PIL import Image, UnidentifiedImageError
    from .errors import ModelError
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ModelError("cannot read image %s: %s" % (path, exc))
