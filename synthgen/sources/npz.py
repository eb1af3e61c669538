"""MedMNIST-style .npz: `{split}_images` (N, H, W) uint8 and `{split}_labels` (N,) or (N, 1) class
indices, or (N, K) 0/1 multi-label rows; any of train/val/test may be present."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from synthgen.errors import SynthgenError
from synthgen.imageset.format import SPLITS, normalize_name
from synthgen.sources.base import SourceAdapter, SourceOptions, SourceRecord
from synthgen.sources.labels import resolve_vocabulary

# Class names of MedMNIST sets by file stem (their INFO dict); other .npz files need --classes.
KNOWN_CLASS_NAMES = {
    "pneumoniamnist": ("normal", "pneumonia"),
    "breastmnist": ("malignant", "normal_benign"),
    "chestmnist": (
        "atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule", "pneumonia",
        "pneumothorax", "consolidation", "edema", "emphysema", "fibrosis", "pleural_thickening", "hernia",
    ),
}


class NpzSource(SourceAdapter):
    format_name = "npz"
    description = "MedMNIST-style .npz with train_images/train_labels/val_.../test_... arrays"

    @classmethod
    def detect(cls, path: Path, options: SourceOptions) -> bool:
        return path.is_file() and path.suffix.lower() == ".npz"

    def records(self) -> list[SourceRecord]:
        arrays = self._load()
        present = [s for s in SPLITS if f"{s}_images" in arrays]
        multi_label = arrays[f"{present[0]}_labels"].ndim == 2 and arrays[f"{present[0]}_labels"].shape[1] > 1
        names = self._index_names(arrays, present, multi_label)
        self._images = {split: arrays[f"{split}_images"] for split in present}
        records = []
        for split in present:
            for index, row in enumerate(arrays[f"{split}_labels"].reshape(len(self._images[split]), -1)):
                source = f"{self.path.name}#{split}/{index}"
                if multi_label:
                    positive = frozenset(names[k] for k in np.flatnonzero(row))
                    label = "abnormal" if positive else "normal"
                else:
                    positive, label = frozenset(), names[int(row[0])]
                # MedMNIST publishes no patient IDs: every image is its own patient.
                records.append(SourceRecord(source, label, f"{split}/{index}", split, positive, (split, index)))
        found = {r.label for r in records}
        order = ["normal", "abnormal"] if multi_label else names
        if self.options.classes and not multi_label:
            resolve_vocabulary(found, self.options.classes, "class", str(self.path))
        self.findings = list(names) if multi_label else []
        self.classes = [name for name in order if name in found]
        return records

    def decode(self, record: SourceRecord) -> np.ndarray:
        split, index = record.ref
        return np.ascontiguousarray(self._images[split][index])

    def provenance(self) -> dict:
        info = super().provenance()
        info["splits"] = {split: int(len(images)) for split, images in self._images.items()}
        return info

    def _load(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except FileNotFoundError:
            raise SynthgenError(f"source {self.path} does not exist") from None
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
            raise SynthgenError(f"{self.path} is not a readable .npz archive ({err}); re-download it") from None
        present = [s for s in SPLITS if f"{s}_images" in arrays]
        if not present:
            raise SynthgenError(
                f"{self.path} has no train_images/val_images/test_images array (keys: {', '.join(arrays) or 'none'})"
            )
        for split in present:
            images, labels = arrays[f"{split}_images"], arrays.get(f"{split}_labels")
            if labels is None:
                raise SynthgenError(f"{self.path} has {split}_images but no {split}_labels array")
            if images.ndim != 3:
                raise SynthgenError(
                    f"{self.path}: {split}_images has shape {images.shape}; expected (N, H, W) grayscale images"
                )
            if images.dtype not in (np.uint8, np.uint16):
                raise SynthgenError(f"{self.path}: {split}_images has dtype {images.dtype}; expected uint8 or uint16")
            if len(labels) != len(images):
                raise SynthgenError(f"{self.path}: {split}_labels has {len(labels)} rows for {len(images)} images")
            if len(images) == 0:
                raise SynthgenError(f"{self.path}: {split}_images is empty")
        return arrays

    def _index_names(self, arrays: dict, present: list[str], multi_label: bool) -> list[str]:
        """Names for label indices (or multi-label columns): --classes, else the MedMNIST table."""
        labels = [arrays[f"{s}_labels"].reshape(len(arrays[f"{s}_images"]), -1) for s in present]
        width = labels[0].shape[1]
        requested = self.options.findings if multi_label else self.options.classes
        names = [normalize_name(n) for n in requested] if requested else None
        if names is None:
            known = KNOWN_CLASS_NAMES.get(self.path.stem.split("_")[0].lower())
            count = width if multi_label else int(max(int(l.max()) for l in labels)) + 1
            names = list(known) if known and len(known) >= count else [f"class_{i}" for i in range(count)]
        for split, values in zip(present, labels):
            if multi_label:
                if values.shape[1] != len(names) or not np.isin(values, (0, 1)).all():
                    raise SynthgenError(
                        f"{self.path}: {split}_labels must be 0/1 rows of {len(names)} findings; "
                        "name them with --findings"
                    )
            elif values.min() < 0 or values.max() >= len(names):
                raise SynthgenError(
                    f"{self.path}: {split}_labels holds unknown label value {int(values.max())}; "
                    f"--classes names only {len(names)} classes ({', '.join(names)})"
                )
        return names
