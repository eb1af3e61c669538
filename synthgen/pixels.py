"""Pixel preparation shared by every source: fit to a padded square, keep the bit depth."""

from __future__ import annotations

import numpy as np
from PIL import Image


def max_value(dtype: np.dtype) -> int:
    return 255 if np.dtype(dtype) == np.uint8 else 65535


def fit_square(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resize so the longer side is `size` (area averaging down, bilinear up) and centre-pad with 0.

    The dtype (uint8 or uint16) is kept; an image that already is `size`² comes back unchanged,
    bit for bit, so exported-then-reprepared sets round-trip exactly.
    """
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")
    height, width = pixels.shape
    if (height, width) == (size, size):
        return pixels.copy()
    scale = size / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    if (new_h, new_w) == (height, width):
        resized = pixels
    else:
        # Pillow's BOX filter is exact area averaging, the anti-aliased choice for downscaling.
        resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
        image = Image.fromarray(pixels.astype(np.float32), mode="F").resize((new_w, new_h), resample)
        resized = np.clip(np.rint(np.asarray(image)), 0, max_value(pixels.dtype)).astype(pixels.dtype)
    out = np.zeros((size, size), dtype=pixels.dtype)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top : top + new_h, left : left + new_w] = resized
    return out


def rescale_to_dtype(values: np.ndarray, low: float, high: float, dtype: np.dtype) -> np.ndarray:
    """Map [low, high] linearly onto the full range of `dtype` (uint8 or uint16), clipping outside."""
    top = max_value(dtype)
    if high <= low:
        return np.zeros(values.shape, dtype=dtype)
    scaled = (np.asarray(values, dtype=np.float64) - low) * (top / (high - low))
    return np.clip(np.rint(scaled), 0, top).astype(dtype)
