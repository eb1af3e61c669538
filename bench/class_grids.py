"""Look at the images: one class of several image sets side by side, an N×N block per set.

    # normal chests: real training images, then two synthetic sets (the first N² of each, in manifest order)
    python bench/class_grids.py --out /tmp/normal.png --label normal --side 6 \\
        runs/pm32/data:train runs/gan/synthetic runs/diffusion/synthetic

A set is `PATH` or `PATH:SPLIT`. Blocks are separated by a white band; the PNG is enlarged `--zoom`×
(nearest neighbour) so 32² images can be judged by eye. Narrow modes (a class drawn alike), framing
and texture show here before any metric names them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synthgen.imageset import ImageSet  # noqa: E402
from synthgen.model.grid import write_grid  # noqa: E402


def block(spec: str, label: str, side: int) -> np.ndarray:
    """(side·H, side·W) grid of the first side² images of `label` in the set (or split) `spec`."""
    path, _, split = spec.partition(":")
    image_set = ImageSet.open(Path(path))
    rows = image_set.indices(split) if split else np.arange(len(image_set.rows))
    picked = [i for i in rows if image_set.rows[i]["label"] == label][:side * side]
    if len(picked) < side * side:
        sys.exit(f"{spec}: {len(picked)} {label!r} images, {side * side} needed; lower --side")
    pixels = image_set.load_pixels(np.array(picked))  # (n, H, W) in [0, 1]
    h, w = pixels.shape[1:]
    return pixels.reshape(side, side, h, w).transpose(0, 2, 1, 3).reshape(side * h, side * w)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", help="PATH or PATH:SPLIT of an image set")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--label", required=True, help="the class to show")
    parser.add_argument("--side", type=int, default=6, help="images per row and column of each block")
    parser.add_argument("--zoom", type=int, default=2)
    args = parser.parse_args()
    blocks = [block(spec, args.label, args.side) for spec in args.sets]
    band = np.ones((blocks[0].shape[0], 4))
    grid = np.concatenate([part for b in blocks for part in (b, band)][:-1], axis=1)
    grid = grid.repeat(args.zoom, axis=0).repeat(args.zoom, axis=1)
    write_grid(args.out, np.round(np.clip(grid, 0, 1) * 255).astype(np.uint8))
    print(args.out)


if __name__ == "__main__":
    main()
