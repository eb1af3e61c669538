"""pytest fixtures every test folder may use: tiny class folders, a CSV source and a .npz (built by tests/fixtures)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from tests.fixtures.images import gradient_image, write_image


# One compute thread per test process: pytest-xdist already runs one process per core, and
# oversubscribed OpenMP threads make tiny convolutions ~100x slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

@pytest.fixture
def class_folders(tmp_path: Path) -> Path:
    """normal/ (3 patients x 2 images) and pneumonia/ (3 patients x 2 images), JPEG and PNG."""
    root = tmp_path / "folders"
    for c, name in enumerate(["NORMAL", "PNEUMONIA"]):
        for patient in range(3):
            for shot in range(2):
                ext = "jpeg" if shot == 0 else "png"
                write_image(root / name / f"pat{c}{patient}_img{shot}.{ext}", gradient_image(c * 10 + patient * 2 + shot))
    return root


@pytest.fixture
def csv_source(tmp_path: Path) -> tuple[Path, Path]:
    """A folder of 8 PNGs (4 patients) and labels.csv with patient and multi-label findings columns."""
    root = tmp_path / "csvsrc"
    rows = []
    findings = ["No Finding", "Effusion", "Effusion|Mass", "Mass"]
    for i in range(8):
        write_image(root / "img" / f"{i:03d}.png", gradient_image(100 + i, 30, 30))
        rows.append({"path": f"img/{i:03d}.png", "label": "normal" if i % 4 == 0 else "abnormal",
                     "patient_id": f"PATIENT-RAW-{i // 2}", "finding_labels": findings[i % 4]})
    labels = root / "labels.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root, labels


@pytest.fixture
def npz_source(tmp_path: Path) -> Path:
    """A MedMNIST-like pneumoniamnist.npz: 12 train and 4 val images of 28², labels (N, 1)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "pneumoniamnist.npz"
    np.savez(
        path,
        train_images=rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        train_labels=(np.arange(12) % 2).reshape(-1, 1).astype(np.uint8),
        val_images=rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        val_labels=np.array([[0], [1], [0], [1]], dtype=np.uint8),
    )
    return path
