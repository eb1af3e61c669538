"""Training images and their label vectors from an image set, and deterministic batches.

Batches are a pure function of (seed, step): step k of epoch e takes positions of a permutation
seeded by (seed, e). Nothing about the data order lives in mutable state, so a resumed run sees
exactly the batches an uninterrupted one would, and DDP ranks take disjoint slices of each batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.model.labels import LabelSpace


@dataclass
class TrainingData:
    images: torch.Tensor  # (N, 1, H, W) float32 in [-1, 1]
    conditions: torch.Tensor  # (N, label_space.dim)
    label_space: LabelSpace
    image_size: int
    bit_depth: int

    def __len__(self) -> int:
        return self.images.shape[0]


def load_training_data(image_set: ImageSet, split: str, use_findings: bool) -> TrainingData:
    """The `split` rows of an image set; refuses classes that have no image in it."""
    rows = image_set.indices(split)
    if len(rows) == 0:
        raise SynthgenError(f"image set {image_set.root} has no {split!r} images: train on another split or re-prepare")
    class_indices = image_set.labels()[rows]
    counts = np.bincount(class_indices, minlength=len(image_set.classes))
    empty = [name for name, count in zip(image_set.classes, counts) if count == 0]
    if empty:
        raise SynthgenError(
            f"image set {image_set.root}: class(es) {', '.join(empty)} have zero {split} images; "
            "the model cannot learn them: add images or re-prepare without those classes"
        )
    findings = tuple(image_set.findings) if use_findings else ()
    space = LabelSpace(tuple(image_set.classes), findings)
    matrix = image_set.finding_matrix()[rows] if findings else None
    pixels = torch.from_numpy(image_set.load_pixels(rows)).unsqueeze(1)
    bit_depth = int(image_set.info.get("bit_depth", 8))
    return TrainingData(pixels * 2.0 - 1.0, space.encode(class_indices, matrix), space, image_set.image_size, bit_depth)


def seeded_generator(*keys: int) -> torch.Generator:
    """A torch.Generator whose seed is derived from integer keys (e.g. seed, step, rank)."""
    state = np.random.SeedSequence([int(k) for k in keys]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def batch_indices(n: int, batch_size: int, seed: int, step: int, rank: int = 0, world_size: int = 1) -> torch.Tensor:
    """Indices of this rank's share of global batch `step` (batches walk epoch permutations)."""
    per_epoch = max(1, n // batch_size)  # the remainder of each permutation is skipped
    epoch, position = divmod(step, per_epoch)
    order = torch.randperm(n, generator=seeded_generator(seed, 0xDA7A, epoch))
    if n < batch_size:  # tiny sets: repeat the permutation to fill a batch
        order = order.repeat(batch_size // n + 1)
    batch = order[position * batch_size:(position + 1) * batch_size]
    return batch[rank::world_size]
