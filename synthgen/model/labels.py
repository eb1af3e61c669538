"""The label space a model is conditioned on: one-hot class, then the multi-hot finding vector.

The all-zero vector means "no label" (classifier-free guidance's unconditional branch): every real
label vector has exactly one class bit set, so it never collides with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from synthgen.errors import SynthgenError


@dataclass(frozen=True)
class LabelSpace:
    classes: tuple[str, ...]
    findings: tuple[str, ...] = ()

    @property
    def dim(self) -> int:
        return len(self.classes) + len(self.findings)

    def class_index(self, name: str) -> int:
        if name not in self.classes:
            raise SynthgenError(f"class {name!r} is not one the model was trained on: {', '.join(self.classes)}")
        return self.classes.index(name)

    def check_findings(self, names: list[str]) -> None:
        unknown = [n for n in names if n not in self.findings]
        if unknown:
            known = ", ".join(self.findings) or "none"
            raise SynthgenError(f"finding(s) {', '.join(unknown)} not known to the model (trained on: {known})")

    def encode(self, class_indices: np.ndarray, finding_matrix: np.ndarray | None = None) -> torch.Tensor:
        """(N,) class indices and (N, F) 0/1 findings -> (N, dim) float32 condition vectors."""
        class_indices = np.asarray(class_indices, dtype=np.int64)
        vectors = np.zeros((len(class_indices), self.dim), dtype=np.float32)
        vectors[np.arange(len(class_indices)), class_indices] = 1.0
        if self.findings:
            if finding_matrix is None:
                raise ValueError("this label space has findings: pass the finding matrix")
            vectors[:, len(self.classes):] = np.asarray(finding_matrix, dtype=np.float32)
        return torch.from_numpy(vectors)

    def to_dict(self) -> dict:
        return {"classes": list(self.classes), "findings": list(self.findings)}

    @classmethod
    def from_dict(cls, data: dict) -> "LabelSpace":
        return cls(tuple(data["classes"]), tuple(data.get("findings", ())))


def label_prior(conditions: torch.Tensor, space: LabelSpace) -> dict:
    """What the training set's labels looked like, saved with the model so `sample` can draw
    realistic label vectors without the training set: images per class, and per class each finding
    combination with its count (most frequent first)."""
    n_classes = len(space.classes)
    class_of = conditions[:, :n_classes].argmax(dim=1)
    prior: dict = {"class_counts": [int((class_of == c).sum()) for c in range(n_classes)], "findings_by_class": []}
    for c in range(n_classes):
        combos: list = []
        if space.findings:
            vectors, counts = torch.unique(conditions[class_of == c, n_classes:], dim=0, return_counts=True)
            order = torch.argsort(counts, descending=True, stable=True)
            combos = [[[int(v) for v in vectors[i]], int(counts[i])] for i in order]
        prior["findings_by_class"].append(combos)
    return prior
