"""`GeneratedDataset`: synthetic images drawn on the fly from a trained model, reproducibly.

Item `i` is image `i` of the plan `synthgen sample` makes with the same counts and seed (same label
vector, same per-image seed `image_seed(seed, i)`), so it is a pure function of its index: the same
images whatever the DataLoader's num_workers, order or sharding. Nothing is written to disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from synthgen.model.pipeline import to_pixels
from synthgen.model.run_folder import RunFolder
from synthgen.model.sample import load_trained_model, plan_samples
from synthgen.torch_data.items import Transform, apply, make_item


class GeneratedDataset(Dataset):
    """`n` images split like the training set (or `per_class` counts) from the model of run `run`.

    Sampler, steps and guidance default to the run's training config, as in `synthgen sample`.
    A DataLoader fetching a batch generates it in one network pass per step (`__getitems__`).
    With `device="cuda"` use num_workers=0 (CUDA cannot run in forked DataLoader workers).
    """

    def __init__(self, run: Path | str, *, n: int | None = None, per_class: dict[str, int] | None = None,
                 seed: int = 0, sampler: str | None = None, steps: int | None = None, guidance: float | None = None,
                 device: str = "cpu", transform: Transform | None = None) -> None:
        folder = RunFolder(Path(run))
        self.model = load_trained_model(folder, sampler, steps, guidance)  # a diffusion model or a GAN
        self.plan = plan_samples(self.model.label_prior, self.model.labels, n, per_class, seed)
        self.classes, self.findings = list(self.model.labels.classes), list(self.model.labels.findings)
        self.device, self.transform = device, transform

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[dict]:
        rows = np.asarray(indices, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError(f"index out of range for {len(self)} generated images")
        labels = self.model.labels
        conditions = labels.encode(self.plan.class_indices[rows], self.plan.findings[rows] if self.findings else None)
        seeds = [int(s) for s in self.plan.seeds[rows]]
        with torch.inference_mode():
            images = self.model.generate(conditions, seeds, torch.device(self.device))
        pixels = to_pixels(images, self.model.bit_depth)
        return [
            apply(self.transform, make_item(
                pixels[k], label=int(self.plan.class_indices[i]), findings=self.plan.findings[i].tolist(),
                classes=self.classes, image_id=f"{i:06d}", patient_id=f"SYN-{i:06d}", split="train",
                kind="synthetic", seed=seeds[k]))
            for k, i in enumerate(rows)
        ]
