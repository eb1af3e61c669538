"""How much high-frequency energy the training augmentation leaves in an image set's training images.

A diffusion model learns the images it is shown: if the augmentation's warp interpolates every pixel,
the samples come out as smooth as the warped images (docs/PERFORMANCE.md, "Why the 64² images were too
smooth"). This prints, per augmentation variant, the variance of the Laplacian of the augmented images
relative to the originals (1.0 = no blur).

    python bench/augmentation_blur.py --data runs/k64/data --config configs/train/kermany64.yaml
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Variants as overrides of the config's augmentation section.
VARIANTS = {
    "config": {},
    "sub-pixel warp (before 2026-11-26: shift 0.03, zoom 0.05, rotate 3)": None,
    "zoom 0.05 + rotate 3 + whole-pixel shift 0.03": {"shift": 0.03, "scale": 0.05, "rotate": 3.0,
                                                       "warp_probability": 1.0},
    "whole-pixel shift 0.03 only": {"shift": 0.03, "scale": 0.0, "rotate": 0.0, "warp_probability": 1.0},
    "zoom + rotate + whole-pixel shift on half the images": {"shift": 0.03, "scale": 0.05, "rotate": 3.0,
                                                             "warp_probability": 0.5},
    "no geometry (contrast, brightness)": {"shift": 0.0, "scale": 0.0, "rotate": 0.0},
}


def mean_laplacian_variance(images) -> float:
    """`synthgen validate`'s high-frequency measure of a (N, 1, H, W) batch, averaged over images."""
    from validation.image_statistics import laplacian_variance

    return float(laplacian_variance(images[:, 0].numpy()).mean())


def sub_pixel_warp(images, generator):
    """The warp as it was: shifts by any fraction of a pixel (kept here as the reference)."""
    import math

    import torch
    import torch.nn.functional as F

    n = images.shape[0]
    uniform = lambda half: (torch.rand(n, generator=generator) * 2 - 1) * half  # noqa: E731
    zoom, angle = 1 + uniform(0.05), uniform(math.radians(3.0))
    shift_x, shift_y = uniform(0.06), uniform(0.06)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="prepared image set")
    parser.add_argument("--config", type=Path, required=True, help="training config (its augmentation section)")
    parser.add_argument("--n", type=int, default=512, help="training images measured")
    args = parser.parse_args()

    import numpy as np
    import torch

    from synthgen.imageset import ImageSet
    from synthgen.model.augment import augment
    from synthgen.model.config_files import load_train_config

    torch.set_num_threads(1)
    image_set = ImageSet.open(args.data)
    pixels = image_set.load_pixels(image_set.indices("train")[: args.n])
    images = torch.from_numpy(np.asarray(pixels, dtype=np.float32))[:, None] * 2 - 1
    base = load_train_config(args.config).augmentation
    original = mean_laplacian_variance(images)
    print(f"{len(images)} training images of {args.data}, {images.shape[-1]}²; Laplacian variance {original:.4g}")
    print("| augmentation | Laplacian variance / original |\n|---|---:|")
    for name, overrides in VARIANTS.items():
        generator = torch.Generator().manual_seed(0)
        if overrides is None:
            augmented = sub_pixel_warp(images, generator)
        else:
            augmented = augment(images, dataclasses.replace(base, **overrides), generator).images
        print(f"| {name} | {mean_laplacian_variance(augmented) / original:.3f} |")


if __name__ == "__main__":
    main()
