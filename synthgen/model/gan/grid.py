"""GAN sample grids: one row per class, fixed seeds, so successive checkpoints compare image by image."""

from __future__ import annotations

import numpy as np
import torch

from synthgen.model.gan.pipeline import GanPipeline
from synthgen.model.pipeline import to_pixels


def gan_class_grid(pipeline: GanPipeline, per_class_conditions: torch.Tensor, per_class: int, truncation: float,
                   seed: int, device: torch.device | str = "cpu") -> np.ndarray:
    """(classes*H, per_class*W) image: row c holds `per_class` samples of class c."""
    n_classes = per_class_conditions.shape[0]
    conditions = per_class_conditions.repeat_interleave(per_class, dim=0)
    seeds = [seed * 1000 + i for i in range(per_class)] * n_classes
    pixels = to_pixels(pipeline(conditions, seeds, truncation, device), 8)
    side = pipeline.image_size
    grid = pixels.reshape(n_classes, per_class, side, side).transpose(0, 2, 1, 3)
    return grid.reshape(n_classes * side, per_class * side)
