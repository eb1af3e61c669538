"""`mix_datasets`: real and synthetic items at a chosen ratio, chosen and ordered from a seed."""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from synthgen.errors import SynthgenError


class MixedDataset(Dataset):
    """Items of `parts` in a fixed order: `picks[i]` = (part index, item index within that part)."""

    def __init__(self, parts: list[Dataset], picks: np.ndarray, classes: list[str], findings: list[str]) -> None:
        self.parts, self.picks = parts, picks
        self.classes, self.findings = classes, findings

    def __len__(self) -> int:
        return len(self.picks)

    def __getitem__(self, index: int) -> dict:
        part, item = self.picks[index]
        return self.parts[int(part)][int(item)]

    def __getitems__(self, indices: list[int]) -> list[dict]:
        """A DataLoader batch: each part's items fetched together (a generated part in one pass)."""
        picked = self.picks[np.asarray(indices, dtype=np.int64)]
        items: list = [None] * len(indices)
        for number, part in enumerate(self.parts):
            positions = np.flatnonzero(picked[:, 0] == number)
            if not len(positions):
                continue
            wanted = [int(i) for i in picked[positions, 1]]
            fetched = part.__getitems__(wanted) if hasattr(part, "__getitems__") else [part[i] for i in wanted]
            for position, item in zip(positions, fetched):
                items[position] = item
        return items


def mix_datasets(real: Dataset, synthetic: Dataset, synthetic_fraction: float, *, length: int | None = None,
                 seed: int = 0) -> MixedDataset:
    """A dataset whose share `synthetic_fraction` of items is synthetic, the rest real.

    Without `length`: every real item, plus as many synthetic ones as give the fraction
    (0.5 -> as many synthetic as real). With `length`: that many items in all. Which items are
    taken (without repetition) and their order come from `seed` alone; shuffle in the DataLoader
    as usual. Both datasets must have the same classes and findings.
    """
    if not 0.0 <= synthetic_fraction <= 1.0:
        raise SynthgenError(f"synthetic_fraction must be in [0, 1], got {synthetic_fraction}")
    for what in ("classes", "findings"):
        a, b = list(getattr(real, what, [])), list(getattr(synthetic, what, []))
        if a != b:
            raise SynthgenError(f"real and synthetic datasets have different {what}: {a} vs {b}; "
                                "mix a model with the set it was trained on")
    if length is None:
        if synthetic_fraction == 1.0:
            n_real, n_synthetic = 0, len(synthetic)
        else:
            n_real = len(real)
            n_synthetic = round(n_real * synthetic_fraction / (1.0 - synthetic_fraction))
    else:
        if length <= 0:
            raise SynthgenError(f"length must be a positive number of items, got {length}")
        n_synthetic = round(length * synthetic_fraction)
        n_real = length - n_synthetic
    for name, dataset, wanted in (("real", real, n_real), ("synthetic", synthetic, n_synthetic)):
        if wanted > len(dataset):
            raise SynthgenError(f"the mix needs {wanted} {name} items but the {name} dataset has {len(dataset)}; "
                                "lower length or synthetic_fraction, or generate more")
    rng = np.random.default_rng([int(seed), 0x3D1])
    picks = np.concatenate([
        np.stack([np.zeros(n_real, np.int64), np.sort(rng.permutation(len(real))[:n_real])], axis=1),
        np.stack([np.ones(n_synthetic, np.int64), np.sort(rng.permutation(len(synthetic))[:n_synthetic])], axis=1),
    ])
    order = rng.permutation(len(picks))
    return MixedDataset([real, synthetic], picks[order], list(getattr(real, "classes", [])),
                        list(getattr(real, "findings", [])))
