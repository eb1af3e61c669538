"""Augmentations a radiograph tolerates, batched in torch, for training the audit encoder.

Two views of the same image (or of two images of the same patient) must embed close together,
so the encoder learns to ignore what a copying generator changes: small rotations, shifts and
zooms, contrast, brightness and gamma, blur, noise and JPEG re-encoding. Nothing flips left-right: the heart's side
is part of what a chest radiograph is. Every draw comes from the caller's torch.Generator.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentRanges:
    max_angle: float = 6.0  # degrees
    max_shift: float = 0.16  # of the half-width (0.16 ~ ±5 px at 64²)
    zoom: tuple[float, float] = (0.93, 1.07)
    contrast: tuple[float, float] = (0.8, 1.2)
    max_brightness: float = 0.08
    gamma: tuple[float, float] = (0.8, 1.25)
    max_blur: float = 1.0  # Gaussian sigma, pixels
    max_noise: float = 0.04
    jpeg_share: float = 0.25  # share of views re-encoded as JPEG (Pillow round trips cost ~0.1 ms each)
    jpeg_quality: tuple[int, int] = (70, 95)


def augment(images: torch.Tensor, generator: torch.Generator, ranges: AugmentRanges = AugmentRanges()) -> torch.Tensor:
    """Randomly altered copies of (N, 1, S, S) images in [0, 1]."""
    n = images.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    angle = uniform(-ranges.max_angle, ranges.max_angle) * math.pi / 180
    zoom = uniform(*ranges.zoom)
    shift = torch.stack([uniform(-ranges.max_shift, ranges.max_shift) for _ in range(2)], dim=1)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], dim=1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)

    out = _blur(out, uniform(0.0, ranges.max_blur))
    gamma = uniform(*ranges.gamma).view(n, 1, 1, 1)
    out = out.clamp(1e-4, 1.0) ** gamma
    contrast = uniform(*ranges.contrast).view(n, 1, 1, 1)
    brightness = uniform(-ranges.max_brightness, ranges.max_brightness).view(n, 1, 1, 1)
    out = 0.5 + (out - 0.5) * contrast + brightness
    noise = uniform(0.0, ranges.max_noise).view(n, 1, 1, 1)
    out = out + noise * torch.randn(out.shape, generator=generator)
    out = out.clamp(0.0, 1.0)
    chosen = torch.rand(n, generator=generator) < ranges.jpeg_share
    quality = torch.randint(ranges.jpeg_quality[0], ranges.jpeg_quality[1] + 1, (n,), generator=generator)
    for i in torch.nonzero(chosen).flatten().tolist():
        out[i, 0] = _jpeg(out[i, 0], int(quality[i]))
    return out


def _jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """The image after an 8-bit JPEG round trip (Pillow), as a generator's output file would be."""
    from PIL import Image

    grey = np.round(image.numpy() * 255.0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return torch.from_numpy(np.asarray(decoded.convert("L"), dtype=np.float32) / 255.0)


def _blur(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur with a per-image sigma (5-tap kernel; sigma 0 leaves it unchanged)."""
    taps = torch.arange(-2, 3, dtype=images.dtype)
    safe = sigma.clamp_min(1e-3).view(-1, 1)
    kernel = torch.exp(-(taps.view(1, -1) ** 2) / (2 * safe**2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (N, 5)
    n, _, h, w = images.shape
    x = images.reshape(1, n, h, w)
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), kernel.view(n, 1, 1, 5), groups=n)
    x = F.conv2d(F.pad(x, (0, 0, 2, 2), mode="replicate"), kernel.view(n, 1, 5, 1), groups=n)
    return x.reshape(n, 1, h, w)
