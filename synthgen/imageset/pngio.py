"""Grayscale PNG encode/decode (8 or 16 bit) with byte-stable output for the same pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from synthgen.errors import SynthgenError

# Pillow writes no time stamp or text chunk by default, so equal pixels give equal bytes.
_PNG_COMPRESS_LEVEL = 6


def encode_png(pixels: np.ndarray) -> bytes:
    """Encode a 2-D uint8 or uint16 array as a grayscale PNG of the same bit depth."""
    if pixels.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale array, got shape {pixels.shape}")
    if pixels.dtype == np.uint8:
        image = Image.fromarray(pixels)
    elif pixels.dtype == np.uint16:
        image = Image.fromarray(pixels)
    else:
        raise ValueError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def decode_png(path: Path) -> np.ndarray:
    """Read a grayscale PNG of an image set as uint8 or uint16."""
    try:
        with Image.open(path) as image:
            image.load()
            array = np.asarray(image)
    except (OSError, SyntaxError, ValueError) as err:
        raise SynthgenError(f"cannot read image {path}: {err}; re-create the image set") from None
    if array.ndim != 2:
        raise SynthgenError(f"image {path} is not grayscale (shape {array.shape}); re-create the set")
    if array.dtype not in (np.uint8, np.uint16):
        array = array.astype(np.uint16)
    return array
