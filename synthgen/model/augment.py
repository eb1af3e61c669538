"""Radiograph-safe batch augmentation: small shift, zoom and rotation, contrast and brightness, and the
labels that tell the network which augmentation an image had.

Geometry is one affine warp per image (torch's affine_grid/grid_sample). Pixels the warp brings in
from outside the image repeat the nearest edge pixel: a black fill was learned as anatomy (3.9 % of
a PneumoniaMNIST model's samples had a dark band along the bottom edge, against 0.1 % of real
images), and bilinear sampling of replicated edges only mixes values the image already has. No
horizontal flip unless asked: laterality (heart on the left) is part of what the model must learn.

Zoom and rotation interpolate every pixel and so blur the image; a model trained on warped images
learns the blur (docs/PERFORMANCE.md). Two ways out, both from the GAN and EDM literature: warp only a
fraction of the images (`warp_probability`, as ADA's p), and tell the network what was done
(`AUGMENT_LABELS`, EDM's non-leaky augmentation): trained with them as extra conditions, the model
samples with all of them zero, i.e. an image that was neither warped nor rescaled in intensity.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from synthgen.model.config import AugmentationConfig

# What each column of `Augmented.labels` says; each is in [-1, 1] and 0 means "not done".
AUGMENT_LABELS = ("warped", "zoom", "rotation", "shift_x", "shift_y", "contrast", "brightness")


class Augmented(NamedTuple):
    images: torch.Tensor  # (N, 1, H, W) in [-1, 1]
    labels: torch.Tensor  # (N, len(AUGMENT_LABELS)) float32


def augment(images: torch.Tensor, config: AugmentationConfig, generator: torch.Generator) -> Augmented:
    """Augment a (N, 1, H, W) batch in [-1, 1]; every random draw comes from `generator`."""
    n = images.shape[0]

    def draw() -> torch.Tensor:
        return torch.rand(n, generator=generator) * 2.0 - 1.0

    zoom_u, angle_u = draw() * (config.scale > 0), draw() * (config.rotate > 0)
    # Whole-pixel shifts: a sub-pixel shift interpolates every pixel, which halves the high-frequency
    # energy of a 64² radiograph, and the model learns the blur (docs/PERFORMANCE.md).
    height, width = images.shape[-2:]
    max_x, max_y = config.shift * width, config.shift * height
    shift_x, shift_y = torch.round(draw() * max_x), torch.round(draw() * max_y)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if config.hflip else torch.ones(n)
    contrast_u, brightness_u = draw() * (config.contrast > 0), draw() * (config.brightness > 0)
    if config.warp_probability < 1.0:  # drawn only then, so that configs without it keep their bytes
        warped = (torch.rand(n, generator=generator) < config.warp_probability).float()
        zoom_u, angle_u, shift_x, shift_y = zoom_u * warped, angle_u * warped, shift_x * warped, shift_y * warped
    else:
        warped = torch.ones(n)

    zoom, angle = 1.0 + zoom_u * config.scale, angle_u * math.radians(config.rotate)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(  # grid units span 2 across the image
        [torch.stack([cos * flip, -sin, shift_x * 2.0 / width], 1),
         torch.stack([sin * flip, cos, shift_y * 2.0 / height], 1)], 1
    ).to(images)
    moved = (zoom_u != 0) | (angle_u != 0) | (shift_x != 0) | (shift_y != 0) | (flip < 0)
    out = images.clone()
    if moved.any():  # only the moved images go through the sampler: the identity grid is not bit-exact
        grid = F.affine_grid(theta[moved], [int(moved.sum()), *images.shape[1:]], align_corners=False)
        out[moved] = F.grid_sample(images[moved], grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast, brightness = 1.0 + contrast_u * config.contrast, brightness_u * config.brightness
    out = out * contrast.view(n, 1, 1, 1).to(images) + brightness.view(n, 1, 1, 1).to(images)

    labels = torch.stack([warped * moved, zoom_u, angle_u, shift_x / max(max_x, 1.0), shift_y / max(max_y, 1.0),
                          contrast_u, brightness_u], 1)
    return Augmented(out.clamp(-1.0, 1.0), labels.float())
