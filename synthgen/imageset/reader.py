"""ImageSet: open, check and load an image set written by ImageSetWriter."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthgen.errors import SynthgenError
from synthgen.imageset.cache import load_cached_pixels
from synthgen.imageset.format import (
    DATASET_FILE,
    MANIFEST_COLUMNS,
    MANIFEST_FILE,
    SPLITS,
    DatasetInfo,
    finding_column,
)

log = logging.getLogger(__name__)


@dataclass
class ImageSet:
    """An opened image set: its dataset.json (`info`) and manifest rows (all values are strings)."""

    root: Path
    info: dict
    rows: list[dict[str, str]]
    manifest_sha256: str

    @classmethod
    def open(cls, root: Path | str) -> "ImageSet":
        root = Path(root)
        if not root.is_dir():
            raise SynthgenError(f"image set {root} does not exist: run `synthgen prepare` or check the path")
        info_path, manifest_path = root / DATASET_FILE, root / MANIFEST_FILE
        for path in (info_path, manifest_path):
            if not path.is_file():
                raise SynthgenError(f"{path} is missing: {root} is not a synthgen image set")
        try:
            info = json.loads(info_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SynthgenError(f"{info_path} is not valid JSON ({err}); re-create the image set") from None
        DatasetInfo.from_dict(info, str(info_path))  # every key checked; `info` stays the plain mapping
        manifest = manifest_path.read_bytes()
        rows = list(csv.DictReader(manifest.decode("utf-8").splitlines()))
        header = rows[0].keys() if rows else []
        missing = [c for c in MANIFEST_COLUMNS if c not in header]
        missing += [finding_column(f) for f in info.get("findings", []) if finding_column(f) not in header]
        if missing:
            raise SynthgenError(f"{manifest_path} lacks column(s) {', '.join(missing)}; re-create the image set")
        return cls(root, info, rows, hashlib.sha256(manifest).hexdigest())

    # -- what the set holds -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.info["name"]

    @property
    def kind(self) -> str:
        return self.info["kind"]

    @property
    def classes(self) -> list[str]:
        return list(self.info["classes"])

    @property
    def findings(self) -> list[str]:
        return list(self.info.get("findings", []))

    @property
    def image_size(self) -> int:
        return int(self.info["image_size"][0])

    def __len__(self) -> int:
        return len(self.rows)

    def indices(self, split: str | None = None) -> np.ndarray:
        """Row indices of one split (all rows when `split` is None)."""
        if split is not None and split not in SPLITS:
            raise SynthgenError(f"split {split!r} is not one of {', '.join(SPLITS)}")
        return np.array([i for i, row in enumerate(self.rows) if split in (None, row["split"])], dtype=np.int64)

    def labels(self) -> np.ndarray:
        """Class index per row, in the order of `classes`."""
        index = {name: i for i, name in enumerate(self.classes)}
        return np.array([index[row["label"]] for row in self.rows], dtype=np.int64)

    def finding_matrix(self) -> np.ndarray:
        """(N, F) 0/1 matrix of findings, columns in the order of `findings`."""
        columns = [finding_column(f) for f in self.findings]
        return np.array([[int(row[c]) for c in columns] for row in self.rows], dtype=np.uint8).reshape(
            len(self.rows), len(columns)
        )

    def patient_ids(self) -> np.ndarray:
        return np.array([row["patient_id"] for row in self.rows])

    # -- pixels -------------------------------------------------------------------------------
    def load_pixels(self, indices: np.ndarray | None = None) -> np.ndarray:
        """Float32 (N, H, W) images scaled to [0, 1], decoded once and cached inside the set."""
        stored = load_cached_pixels(self.root, self.rows, self.manifest_sha256, self.image_size)
        chosen = stored if indices is None else stored[np.asarray(indices)]
        scale = np.float32(255.0 if stored.dtype == np.uint8 else 65535.0)
        return np.asarray(chosen, dtype=np.float32) / scale

    def verify(self) -> list[str]:
        """Every problem found (missing or changed images, bad labels, stale hash); empty if sound."""
        problems: list[str] = []
        if self.info.get("manifest_sha256") != self.manifest_sha256:
            problems.append(f"{MANIFEST_FILE} changed since {DATASET_FILE} was written (sha256 differs)")
        classes, findings = set(self.classes), [finding_column(f) for f in self.findings]
        for row in self.rows:
            where = f"{MANIFEST_FILE} row {row['image_id']}"
            if row["label"] not in classes:
                problems.append(f"{where}: label {row['label']!r} is not a class of the set")
            if row["split"] not in SPLITS:
                problems.append(f"{where}: split {row['split']!r} is not one of {', '.join(SPLITS)}")
            if any(row[c] not in ("0", "1") for c in findings):
                problems.append(f"{where}: finding columns must hold 0 or 1")
            path = self.root / row["path"]
            if not path.is_file():
                problems.append(f"{where}: image {row['path']} is missing")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != row["sha256"]:
                problems.append(f"{where}: image {row['path']} does not match its sha256")
        return problems
