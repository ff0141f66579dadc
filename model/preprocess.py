"""PaddleOCR's recognition preprocessing (``resize_norm_img`` in
tools/infer/predict_rec.py), shared by training, export checks and the host
predictor so the three can never disagree.

Keep the aspect ratio, resize to the model height, clamp the width to the
model width, right-pad with zeros (after normalising), normalise
``(x/255 - 0.5) / 0.5``.  Images are decoded as RGB (PIL); a model trained
on cv2-decoded images, as PaddleOCR trains (and the project's config says,
``Global.channel_order``), gets its planes in BGR order: ``model_input``.
"""
import math
import os

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


def model_input(rgb, image_shape, channel_order="BGR", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
    """An RGB uint8 image as the model's CxHxW float32 input, planes in the
    model's channel order."""
    return resize_norm(rgb[:, :, ::-1] if channel_order == "BGR" else rgb, image_shape, mean, std)


def decode_image(path):
    """RGB uint8 HxWx3 from any file Pillow reads, the one image decoder of the
    project (training, host reference and the device's image blob): the EXIF
    orientation applied (a phone photo stored sideways is read upright),
    transparency composited over white (as a viewer shows it), 16-bit grey
    scaled to 8 bits.  ModelError for a missing, unreadable, oversized or
    too-small image."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    from .errors import ModelError
    if not os.path.isfile(path):
        raise ModelError("%s: no such image file" % path)
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ModelError("%s: %dx%d pixels is more than the %d this reads"
                                 % (path, image.width, image.height, MAX_PIXELS))
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                rgba = image.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = Image.alpha_composite(white, rgba)
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(image, dtype=np.float64)
                array = (array / max(array.max(), 1.0) * 255.0).round().astype(np.uint8)
                image = Image.fromarray(array)
            rgb = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ModelError("%s: not a readable image (%s)" % (path, err)) from None
    if rgb.shape[0] < 2 or rgb.shape[1] < 2:
        raise ModelError("%s: image of %dx%d pixels is too small to hold text"
                         % (path, rgb.shape[1], rgb.shape[0]))
    return rgb


# Pillow's own bomb limit is 89 M pixels; a text line or a scene photo is far below.
MAX_PIXELS = 64 * 1024 * 1024
