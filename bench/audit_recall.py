"""Audit recall on planted copies made outside the audit, at every image size and data set.

    nice -n 10 OMP_NUM_THREADS=1 .venv/bin/python bench/audit_recall.py NAME=IMAGE_SET [NAME=IMAGE_SET ...] \
        [--planted 500] [--encoder-steps 400] [--json out.json]

For each image set (patient-level splits): training side = its `train` split; calibration = its `val`
split; synthetic side = altered copies of `--planted` training images plus the `test` split
(independent real images never trained on, a second held-out half). The copies follow issue 16:
rotation ±3°, shift ±2 px, contrast ±10 %, Gaussian noise σ 0.02, each drawn per copy — made here
with scipy, not with privacy/planted.py, so the audit is not tested only on its own alteration.
Prints one Markdown row per set: planted copies flagged (overall and per space), held-out
(calibration half) flagged, independent half flagged, the recall of the audit's own built-in
self-test (its copies: privacy/planted.py, with blur and JPEG too) and the audit's wall time.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
from scipy import ndimage


def altered_copies(images: np.ndarray, seed: int) -> np.ndarray:
    """Issue 16's copies: rotate ±3°, shift ±2 px, contrast ±10 %, noise σ 0.02 (float images in [0, 1])."""
    out = np.empty_like(images, dtype=np.float32)
    for i, image in enumerate(images):
        rng = np.random.default_rng([seed, 16, i])
        angle, shift = rng.uniform(-3, 3), rng.uniform(-2, 2, size=2)
        contrast = 1 + rng.uniform(-0.1, 0.1)
        moved = ndimage.rotate(image, angle, reshape=False, order=1, mode="nearest")
        moved = ndimage.shift(moved, shift, order=1, mode="nearest")
        moved = 0.5 + (moved - 0.5) * contrast + rng.normal(0, 0.02, size=image.shape)
        out[i] = np.clip(moved, 0, 1)
    return out


def run_one(name: str, path: Path, planted: int, steps: int, seed: int, batch: int) -> dict:
    from privacy.audit import AuditOptions, run_audit
    from privacy.encoder import EncoderConfig
    from privacy.images import AuditImages
    from synthgen.imageset import ImageSet

    image_set = ImageSet.open(path)
    train = AuditImages.from_image_set(image_set, image_set.indices("train"))
    holdout = AuditImages.from_image_set(image_set, image_set.indices("val"))
    test_rows = image_set.indices("test")
    rng = np.random.default_rng([seed, 3])
    sources = np.sort(rng.choice(len(train), size=min(planted, len(train)), replace=False))
    copies = altered_copies(train.load(sources), seed)
    independent = image_set.load_pixels(test_rows)
    pixels = np.concatenate([copies, independent])
    ids = [f"copy-{i}" for i in range(len(copies))] + [image_set.rows[i]["image_id"] for i in test_rows]
    owners = list(train.patient_ids[sources]) + [image_set.rows[i]["patient_id"] for i in test_rows]
    synthetic = AuditImages.from_arrays(f"{name}-synthetic", pixels, ids, owners)
    options = AuditOptions(encoder=EncoderConfig(steps=steps, seed=seed, batch=batch))
    start = time.perf_counter()
    comparison, _ = run_audit(train, synthetic, holdout, options)
    seconds = time.perf_counter() - start
    is_copy = np.arange(len(pixels)) < len(copies)
    return {
        "set": name,
        "size": image_set.image_size,
        "train": len(train),
        "holdout": len(holdout),
        "independent": int((~is_copy).sum()),
        "planted": int(is_copy.sum()),
        "planted_flagged": float(comparison.flagged[is_copy].mean()),
        # per space: closer than its threshold (for pixels, which does not flag on its own: would be)
        "planted_flagged_by_space": {s.name: float((s.distance < s.threshold)[is_copy].mean()) for s in comparison.spaces},
        "holdout_flagged": float(comparison.holdout_flagged.mean()),
        "independent_flagged": float(comparison.flagged[~is_copy].mean()),
        "selftest_recall": float(comparison.planted_flagged.mean()) if len(comparison.planted_flagged) else None,
        "seconds": seconds,
    }


def row(result: dict) -> str:
    spaces = " / ".join(f"{v:.3f}" for v in result["planted_flagged_by_space"].values())
    return (f"| {result['set']} | {result['size']}² | {result['train']} / {result['holdout']} / {result['independent']} "
            f"| **{result['planted_flagged']:.3f}** ({spaces}) | {result['holdout_flagged']:.3f} "
            f"| {result['independent_flagged']:.3f} | {_share(result['selftest_recall'])} | {result['seconds']:.0f} s |")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def main() -> None:
    from privacy.encoder import EncoderConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", help="NAME=IMAGE_SET_FOLDER")
    parser.add_argument("--planted", type=int, default=500)
    parser.add_argument("--encoder-steps", type=int, default=EncoderConfig().steps)
    parser.add_argument("--encoder-batch", type=int, default=EncoderConfig().batch)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = []
    for spec in args.sets:
        name, _, folder = spec.partition("=")
        result = run_one(name, Path(folder), args.planted, args.encoder_steps, args.seed, args.encoder_batch)
        results.append(result)
        if len(results) == 1:
            names = " / ".join(result["planted_flagged_by_space"])
            print(f"| set | size | train / held-out / independent | planted flagged ({names}) "
                  "| held-out flagged | independent flagged | built-in self-test recall | audit wall |")
            print("|---|---:|---|---:|---:|---:|---:|---:|")
        print(row(result), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
