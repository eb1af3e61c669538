"""Tiny image sets, audit folders and run folders for the validation tests (no tests here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audit_fixtures import audit_document
from privacy.audit import AuditOptions, audit
from privacy.audit_document import AUDIT_FILE
from privacy.encoder import EncoderConfig
from synthgen.imageset import ImageSet, ImageSetWriter
from synthgen.model.model_card import TrainingSetRecord
from synthgen.model.run_folder import RunFolder
from synthgen.model.sample_provenance import GENERATOR, SampleProvenance, SamplingRecord
from synthgen.model.train_log import TrainingLog
from validation.classifier import Recipe
from validation.realism import RealismOptions
from validation.two_sample import TwoSampleOptions

TOY_CLASSES = ["dark", "bright"]
TINY_RECIPE = Recipe(width=4, steps=30, batch_size=32, learning_rate=0.01)
TINY_REALISM = RealismOptions(resamples=10)
TINY_TWO_SAMPLE = TwoSampleOptions(steps=60, width=4, batch_size=32, learning_rate=0.01)
TINY_AUDIT = AuditOptions(encoder=EncoderConfig(width=2, embed_dim=8, input_size=16, steps=3, batch=16), selftest_copies=20)
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


def audit_folder(out: Path, train: Path, synthetic: Path, **choices) -> Path:
    """An audit folder holding only audit.json, with the numbers `choices` pick (see audit_fixtures)."""
    out.mkdir(parents=True)
    audit_document(ImageSet.open(train), ImageSet.open(synthetic), **choices).write(out / AUDIT_FILE)
    return out


def measured_audit_folder(out: Path, train: Path, synthetic: Path) -> Path:
    """A real privacy audit of `synthetic` against `train` (tiny encoder): audit.json, pairs.csv, montage."""
    audit(train, synthetic, out, fpr=0.05, options=TINY_AUDIT)
    return out


def run_folder(out: Path, steps: int = 50) -> Path:
    """A training run folder whose log.csv (written by the trainer's own log) has `steps` rows, loss 1/row."""
    run = RunFolder(out)
    out.mkdir(parents=True)
    training_log = TrainingLog(run.log, run.tensorboard, start_step=0)
    for row in range(1, steps + 1):
        training_log.add(row * 10, 1.0 / row, 1e-3, 100.0, row * 0.5)
    training_log.close()
    return out


def sampled_provenance(run: Path, training: Path) -> dict:
    """The provenance `synthgen sample` writes for a set drawn from the model of `run`."""
    trained_on = ImageSet.open(training)
    record = TrainingSetRecord(name=trained_on.name, path=str(trained_on.root), manifest_sha256=trained_on.manifest_sha256,
                               kind=trained_on.kind)
    return SampleProvenance(
        generator=GENERATOR, run=str(run), model_sha256="ab" * 32, training_set=record, model_card=None,
        sampling=SamplingRecord(sampler="dpm++", steps=20, guidance=1.0, churn=0.0, model_sha256="ab" * 32, seed=1,
                                n=100, per_class=None, start=0, stop=100),
    ).to_dict()
