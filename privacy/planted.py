"""Planted copies: training images lightly altered, the way a memorizing generator returns them.

Each copy gets, from its own seeded draw: rotation up to ±3°, a shift of up to ±4 pixels, ±10 %
contrast about mid-grey, mild Gaussian blur (σ up to 0.6 px), Gaussian noise (σ = 0.02) and a
JPEG re-encoding (quality 75-95). The audit must flag them; the self-test counts how many it does.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter


@dataclass(frozen=True)
class Alteration:
    max_angle: float = 3.0  # degrees
    max_shift: float = 4.0  # pixels
    max_contrast: float = 0.10  # relative change
    max_blur: float = 0.6  # Gaussian sigma, pixels
    noise: float = 0.02  # standard deviation, [0, 1] grey levels
    jpeg_quality: tuple[int, int] = (75, 95)


def planted_copies(
    images: np.ndarray, seed: int, alteration: Alteration = Alteration()
) -> np.ndarray:
    """Altered copies of float images (N, H, W) in [0, 1]; the same seed gives the same copies."""
    out = np.empty_like(images, dtype=np.float32)
    for i, image in enumerate(images):
        rng = np.random.default_rng([seed, i])
        out[i] = alter(image, rng, alteration)
    return out


def alter(image: np.ndarray, rng: np.random.Generator, alteration: Alteration = Alteration()) -> np.ndarray:
    a = alteration
    angle = rng.uniform(-a.max_angle, a.max_angle)
    shift = rng.uniform(-a.max_shift, a.max_shift, size=2)
    contrast = 1.0 + rng.uniform(-a.max_contrast, a.max_contrast)
    blur = rng.uniform(0.0, a.max_blur)
    quality = int(rng.integers(a.jpeg_quality[0], a.jpeg_quality[1] + 1))

    # Geometry and blur on a float image, edges continued from the border (no black wedges).
    picture = Image.fromarray(np.asarray(image, dtype=np.float32), mode="F")
    padded = _pad_edge(picture, int(np.ceil(a.max_shift + image.shape[0] * 0.06)))
    moved = padded.rotate(angle, resample=Image.Resampling.BILINEAR, translate=tuple(shift))
    pad = (moved.width - image.shape[1]) // 2
    moved = moved.crop((pad, pad, pad + image.shape[1], pad + image.shape[0]))
    pixels = np.asarray(moved, dtype=np.float32)
    if blur > 0.05:
        pixels = gaussian_filter(pixels, blur, mode="nearest")

    pixels = 0.5 + (pixels - 0.5) * contrast
    pixels = pixels + rng.normal(0.0, a.noise, size=pixels.shape).astype(np.float32)
    grey = np.clip(np.round(pixels * 255.0), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return np.asarray(decoded.convert("L"), dtype=np.float32) / 255.0


def _pad_edge(picture: Image.Image, pad: int) -> Image.Image:
    array = np.pad(np.asarray(picture), pad, mode="edge")
    return Image.fromarray(array, mode="F")
