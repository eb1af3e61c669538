"""Sanity and speed of the classifier two-sample test and the Laplacian variance (docs/VALIDATION.md).

    synthgen prepare ../shared/data/pneumoniamnist/pneumoniamnist.npz --out /tmp/pm32 --size 32 \\
        --resplit --dedupe --val-fraction 0.45
    OMP_NUM_THREADS=1 python bench/two_sample_sanity.py /tmp/pm32 --threads 1

The real side is the set's `train` split (as in `synthgen validate`); the "synthetic" side is, in turn:

    disjoint-real   the val split as it is (other patients): expect AUC ~ 0.5, like real vs real
    blurred-real    the val split blurred (Gaussian, sigma 0.7 px): expect AUC ~ 1, Laplacian ratio << 1
    noised-real     the val split plus Gaussian noise (sigma 0.03): expect AUC ~ 1, Laplacian ratio >> 1
    phantom         built-in phantom images at the set's size: expect AUC ~ 1

Each row: the real-vs-synthetic and real-vs-real held-out AUCs with 95 % intervals, the synthetic /
real Laplacian-variance ratio, and the wall time of the test (two CNNs) in this process.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from synthgen.chest_phantom import phantom
from synthgen.imageset import ImageSet
from validation import image_statistics
from validation.two_sample import TwoSampleOptions, two_sample_test

CONTROLS = ("disjoint-real", "blurred-real", "noised-real", "phantom")


def control_images(real: ImageSet, control: str, scratch: Path, seed: int) -> tuple[np.ndarray, np.ndarray]:
    val = real.indices("val")
    labels = np.array([real.classes.index(real.rows[i]["label"]) for i in val])
    images = real.load_pixels(val)
    if control == "blurred-real":
        images = gaussian_filter(images, (0, 0.7, 0.7))
    elif control == "noised-real":
        images = np.clip(images + np.random.default_rng(seed).normal(0, 0.03, images.shape), 0, 1)
    elif control == "phantom":
        source = phantom(scratch / "phantom", n=len(val), size=real.image_size, seed=seed, overwrite=True)
        return source.load_pixels(), labels  # phantom classes mapped by position: realism only
    return images.astype(np.float32), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image_set", type=Path, help="prepared real set with train and val splits")
    parser.add_argument("--control", action="append", choices=CONTROLS, help="repeatable; default all")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/two-sample-sanity"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    real = ImageSet.open(args.image_set)
    train = real.indices("train")
    train_images = real.load_pixels(train)
    train_labels = np.array([real.classes.index(real.rows[i]["label"]) for i in train])
    patients = np.array([real.rows[i]["patient_id"] for i in train])
    options = TwoSampleOptions()
    for control in args.control or CONTROLS:
        images, labels = control_images(real, control, args.scratch, args.seed)
        started = time.perf_counter()
        result = two_sample_test((train_images, train_labels, patients), (images, labels), len(real.classes),
                                 options, 1000, args.seed)
        wall = time.perf_counter() - started
        grain = image_statistics.high_frequency((train_images, train_labels), {"synthetic": (images, labels)},
                                                real.classes, 50, args.seed)
        summary = result.summary
        print(json.dumps({
            "control": control, "images_per_half": summary["images_per_half"],
            "real_vs_synthetic_auc": summary["real_vs_synthetic"]["auc"],
            "real_vs_real_auc": summary["real_vs_real"]["auc"],
            "laplacian_ratio": grain["ratio_to_real_train"]["synthetic"],
            "two_sample_wall_s": round(wall, 1), "threads": torch.get_num_threads(),
        }), flush=True)


if __name__ == "__main__":
    main()
