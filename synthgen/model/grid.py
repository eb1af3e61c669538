"""Sample grids: one row per class, drawn with fixed seeds so grids from successive checkpoints
are comparable image by image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from synthgen.atomic import write_bytes_atomic
from synthgen.imageset.pngio import encode_png
from synthgen.model.config import SamplingConfig
from synthgen.model.pipeline import DiffusionPipeline, to_pixels


def typical_conditions(conditions: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Per class, the most frequent full label vector among the training images of that class."""
    rows = []
    for c in range(n_classes):
        of_class = conditions[conditions[:, c] == 1]
        vectors, counts = torch.unique(of_class, dim=0, return_counts=True)
        rows.append(vectors[int(torch.argmax(counts))])
    return torch.stack(rows)


def class_grid(pipeline: DiffusionPipeline, per_class_conditions: torch.Tensor, per_class: int,
               sampling: SamplingConfig, seed: int, device: torch.device | str = "cpu") -> np.ndarray:
    """(classes*H, per_class*W) image: row c holds `per_class` samples of class c."""
    n_classes = per_class_conditions.shape[0]
    conditions = per_class_conditions.repeat_interleave(per_class, dim=0)
    seeds = [seed * 1000 + i for i in range(per_class)] * n_classes
    images = pipeline(conditions, seeds, sampling.sampler, sampling.steps, sampling.guidance, device=device)
    pixels = to_pixels(images, 8)
    side = pipeline.image_size
    grid = pixels.reshape(n_classes, per_class, side, side).transpose(0, 2, 1, 3)
    return grid.reshape(n_classes * side, per_class * side)


def write_grid(path: Path, grid: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, encode_png(grid))
