"""Post-hoc EMA choice: which EMA profile's samples are closest to held-out real images.

Each candidate samples the label vectors of the reference images (so the class and finding mix is
matched), and the Fréchet distance is measured in the feature space `synthgen validate` uses: the
penultimate layer of a small classifier trained on the real training images. The reference is the
image set's validation split, or the training split when the set has too few validation images.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.model.data import TrainingData, load_training_data

log = logging.getLogger(__name__)

MIN_REFERENCE = 32  # fewer validation images than this: score against the training images
FEATURE_STEPS = 300  # steps of the feature classifier (validation's recipe otherwise)

# sample(module, conditions, seeds) -> (N, 1, H, W) images in [-1, 1]
Sample = Callable[[nn.Module, torch.Tensor, list[int]], torch.Tensor]


@dataclass(frozen=True)
class EMAChoice:
    chosen: str
    fd: dict[str, float]
    reference: str  # the split scored against
    images: int

    def to_dict(self) -> dict:
        return {"chosen": self.chosen, "fd": self.fd, "scored_against": self.reference, "images": self.images,
                "feature_space": f"penultimate layer of validation's classifier trained {FEATURE_STEPS} steps "
                                 "on the training split"}


class FDReference:
    """Held-out real images embedded once; `fd(images)` scores samples drawn for `conditions` and `seeds`."""

    def __init__(self, training: TrainingData, image_set: ImageSet, use_findings: bool, n_images: int,
                 seed: int) -> None:
        from validation.classifier import Recipe, train_classifier
        from validation.features import classifier_encoder

        reference, self.split = _reference(training, image_set, use_findings)
        rng = np.random.default_rng([seed, 0xE3A])
        rows = np.sort(rng.choice(len(reference), size=min(n_images, len(reference)), replace=False))
        classes = len(training.label_space.classes)
        labels = training.conditions[:, :classes].argmax(1).numpy()
        classifier = train_classifier(to_unit(training.images), labels, classes, Recipe(steps=FEATURE_STEPS), seed)
        self.encoder = classifier_encoder(classifier, "EMA choice")
        self.real = self.encoder.embed(to_unit(reference.images[rows]))
        self.conditions = reference.conditions[rows]
        self.seeds = [int(s) for s in rng.integers(0, 2 ** 62, size=len(rows))]

    def __len__(self) -> int:
        return len(self.seeds)

    def fd(self, images: torch.Tensor) -> float:
        from validation.realism import frechet_distance

        return round(frechet_distance(self.real, self.encoder.embed(to_unit(images))), 4)


def choose_profile(candidates: dict[str, nn.Module], training: TrainingData, image_set: ImageSet,
                   use_findings: bool, n_images: int, seed: int, sample: Sample) -> EMAChoice:
    """The candidate with the lowest FD against the reference images (ties: the first)."""
    reference = FDReference(training, image_set, use_findings, n_images, seed)
    fd = {}
    for name, module in candidates.items():
        fd[name] = reference.fd(sample(module, reference.conditions, reference.seeds))
        log.info("EMA profile %s: FD %.4f against %d %s images", name, fd[name], len(reference), reference.split)
    return EMAChoice(min(fd, key=fd.get), fd, reference.split, len(reference))


def _reference(training: TrainingData, image_set: ImageSet, use_findings: bool) -> tuple[TrainingData, str]:
    try:
        validation = load_training_data(image_set, "val", use_findings)
    except SynthgenError:  # no validation split, or a class missing from it
        validation = None
    if validation is not None and len(validation) >= MIN_REFERENCE:
        return validation, "val"
    return training, "train"


def to_unit(images: torch.Tensor) -> np.ndarray:
    """(N, 1, H, W) in [-1, 1] -> float32 (N, H, W) in [0, 1], as validation's networks take them."""
    return ((images[:, 0].float() + 1.0) / 2.0).clamp(0, 1).numpy()
