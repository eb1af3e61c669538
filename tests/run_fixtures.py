"""Tiny `synthgen run` configs and helpers to compare run folders (tests/test_run*.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

# Phantom 16², a few-thousand-parameter UNet (tests/model_fixtures.py), a few steps of everything.
TINY_RUN = {
    "created": "2026-01-01T00:00:00Z",
    "prepare": {"source": "phantom", "n": 160, "size": 16, "seed": 0, "val_fraction": 0.2, "test_fraction": 0.3},
    "train": {
        "network": {"channels": [4, 8], "attention_levels": [False, True], "num_res_blocks": 1,
                    "norm_num_groups": 4, "num_head_channels": 8},
        "diffusion": {"timesteps": 20},
        "training": {"steps": 16, "batch_size": 8, "lr": 0.002, "warmup_steps": 2, "checkpoint_every": 4,
                     "log_every": 2, "grid_per_class": 0, "device": "cpu"},
        "sampling": {"steps": 4, "batch_size": 32},
    },
    "sample": {"n": 60, "seed": 0, "device": "cpu"},
    "audit": {"fpr": 0.1, "encoder_steps": 3, "encoder_width": 4},
    "validate": {"seeds": 1, "steps": 3, "batch_size": 16, "bootstrap": 100, "min_per_class": 2, "low_data": [0.5]},
    "export": {"formats": ["dicom", "png"], "check_dicom": 2},
}

OUTPUT_FOLDERS = ("data", "model", "synthetic", "audit", "synthetic-filtered", "validation", "export")


def write_run_config(path: Path, **sections: dict) -> Path:
    """TINY_RUN with some keys of some sections replaced, e.g. sample={"n": 40}."""
    data = copy.deepcopy(TINY_RUN)
    for section, values in sections.items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def read_state(root: Path) -> dict:
    return json.loads((root / "run.json").read_text())


def image_bytes(root: Path) -> dict[str, bytes]:
    """Every PNG and DICOM file a run made (synthetic sets and exports), by relative path."""
    files = {}
    for pattern in ("synthetic/images/*.png", "synthetic-filtered/images/*.png", "export/dicom/images/*.dcm",
                    "export/png/images/*.png", "data/images/*.png"):
        for path in sorted(root.glob(pattern)):
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def leftovers(root: Path) -> list[str]:
    """Staging, trash or temporary files anywhere in a run folder."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.name.startswith(".stage-") or p.name.endswith((".partial", ".old", ".tmp")))


def differing_images(first: Path, second: Path) -> list[str]:
    """PNG and DICOM files of two runs whose bytes differ."""
    a, b = image_bytes(first), image_bytes(second)
    assert a.keys() == b.keys(), sorted(set(a) ^ set(b))[:5]
    return [name for name in a if a[name] != b[name]]
