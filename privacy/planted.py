"""Planted copies: training images lightly altered, the way a memorizing generator returns them.

Each copy gets, from its own seeded draw: rotation up to ±3°, a shift of up to 1/16 of the side
(±4 px at 64², ±2 px at 32²: a generator's misplacement scales with the image, and the registered
space searches a fraction of the side too), ±10 % contrast about mid-grey, mild Gaussian blur (σ up
to 0.6 px), Gaussian noise (σ = 0.02) and a JPEG re-encoding (quality 75-95). The audit must flag
them: every audit plants a few hundred (never written out) and reports how many it flags, and
`synthgen audit --selftest` runs the longer experiment.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from privacy.images import AuditImages


@dataclass(frozen=True)
class Alteration:
    max_angle: float = 3.0  # degrees
    max_shift: float = 1 / 16  # of the side
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


def selftest_copies(train: AuditImages, count: int, seed: int) -> tuple[AuditImages | None, np.ndarray]:
    """Altered copies of `count` seeded training images, in memory (never written out), and their
    sources (positions in `train`); (None, []) when count is 0."""
    count = min(count, len(train))
    if count < 1:
        return None, np.zeros(0, np.int64)
    sources = np.sort(np.random.default_rng([seed, 31]).choice(len(train), size=count, replace=False))
    copies = planted_copies(train.load(sources), seed=seed)
    group = AuditImages.from_arrays("self-test copies", copies, [f"planted-{train.image_ids[s]}" for s in sources],
                                    train.patient_ids[sources])
    group.size = train.size
    return group, sources


def alter(image: np.ndarray, rng: np.random.Generator, alteration: Alteration = Alteration()) -> np.ndarray:
    a = alteration
    angle = rng.uniform(-a.max_angle, a.max_angle)
    shift = rng.uniform(-a.max_shift, a.max_shift, size=2) * image.shape[0]
    contrast = 1.0 + rng.uniform(-a.max_contrast, a.max_contrast)
    blur = rng.uniform(0.0, a.max_blur)
    quality = int(rng.integers(a.jpeg_quality[0], a.jpeg_quality[1] + 1))

    # Geometry and blur on a float image, edges continued from the border (no black wedges).
    picture = Image.fromarray(np.asarray(image, dtype=np.float32), mode="F")
    padded = _pad_edge(picture, int(np.ceil((a.max_shift + 0.06) * image.shape[0])))
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
