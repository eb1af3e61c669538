"""Tiny image sets, audit folders and run folders for the validation tests (no tests here)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from synthgen.imageset import ImageSetWriter
from validation.classifier import Recipe
from validation.realism import RealismOptions
from validation.two_sample import TwoSampleOptions

TOY_CLASSES = ["dark", "bright"]
TINY_RECIPE = Recipe(width=4, steps=30, batch_size=32, learning_rate=0.01)
TINY_REALISM = RealismOptions(resamples=10)
TINY_TWO_SAMPLE = TwoSampleOptions(steps=60, width=4, batch_size=32, learning_rate=0.01)
TINY_OPTIONS = {"recipe": TINY_RECIPE, "realism": TINY_REALISM, "two_sample": TINY_TWO_SAMPLE, "bootstrap": 100,
                "diversity_pairs": 20, "min_per_class": 5, "progress": False}


def toy_image(rng: np.random.Generator, label: int, size: int) -> np.ndarray:
    """A noisy disc on a background; 'bright' discs are much brighter than 'dark' ones."""
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.uniform(size * 0.35, size * 0.65, 2)
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 < (size * rng.uniform(0.2, 0.3)) ** 2
    level = 0.75 if label == 1 else 0.35
    image = 0.2 + disc * (level - 0.2) + rng.normal(0, 0.05, (size, size))
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def toy_set(
    out: Path,
    *,
    n: int = 120,
    seed: int = 0,
    size: int = 16,
    kind: str = "real",
    shuffle_labels: bool = False,
    patient_prefix: str | None = None,
    splits: tuple[str, ...] = ("train", "train", "test"),
    classes: list[str] | None = None,
    provenance: dict | None = None,
) -> Path:
    """A two-class image set: image i has label i % 2, split splits[i % len(splits)] and its own
    patient `patient_prefix` + i (default prefix: P + the seed, so sets of other seeds share none)."""
    classes = classes or TOY_CLASSES
    prefix = f"P{seed:03d}" if patient_prefix is None else patient_prefix
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    stored = rng.permutation(labels) if shuffle_labels else labels
    with ImageSetWriter(out, name=out.name, kind=kind, classes=classes, image_size=size) as writer:
        for i in range(n):
            writer.add(toy_image(rng, int(labels[i]), size), label=classes[int(stored[i])],
                       patient_id=f"{prefix}{i:05d}", split=splits[i % len(splits)],
                       source=f"toy:{seed}/{i}")
        writer.finish(provenance or {"generator": "toy", "seed": seed})
    return out


def audit_folder(out: Path, fraction: float = 0.004, verdict: str = "pass") -> Path:
    out.mkdir(parents=True)
    (out / "audit.json").write_text(json.dumps({
        "verdict": verdict, "fraction_flagged": fraction, "n_flagged": 1, "n_synthetic": 250, "fpr": 0.01,
        "verdict_reasons": ["the self-test found 99.7 % of planted copies (floor 99 %)"],
        "selftest": {"copies": 300, "flagged": 299, "recall": 0.9967, "floor": 0.99, "met": True},
        "spaces": {"pixels": {"threshold": 0.12, "fraction_flagged": 0.0},
                   "patient_encoder": {"threshold": 0.31, "fraction_flagged": fraction, "membership_inference": {
                       "distance_to_closest_record": {"auc": 0.503, "ci_low": 0.453, "ci_high": 0.556},
                       "density_ratio": {"auc": 0.516, "ci_low": 0.468, "ci_high": 0.566}}}},
    }))
    with (out / "pairs.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["synthetic_id", "train_id", "pixels_distance", "flagged"])
        for i, distance in enumerate([0.5, 0.05, 0.3]):
            writer.writerow([f"{i:06d}", f"{i + 10:06d}", distance, int(distance < 0.12)])
    from PIL import Image

    Image.fromarray(np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (32, 1))).save(out / "montage.png")
    return out


def run_folder(out: Path, steps: int = 50) -> Path:
    out.mkdir(parents=True)
    with (out / "log.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "loss", "lr", "images_per_s", "elapsed_s"])
        for step in range(1, steps + 1):
            writer.writerow([step * 10, 1.0 / step, 1e-3, 100.0, step * 0.5])
    return out
