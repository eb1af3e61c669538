"""A run whose source files were copied (new modification times) prepares again, makes the same
bytes, and keeps every later stage: training is not thrown away because a data folder was copied."""

from __future__ import annotations

import os
import stat

import numpy as np

from synthgen.workflow import run
from synthgen.workflow.state import tree_sha256
from tests.fixtures.dicom import write_csv
from tests.fixtures.images import gradient_image, write_image
from tests.fixtures.workflow import read_state, write_run_config


def _png_source(root):
    rows = []
    for index in range(48):
        label = ("normal", "pneumonia")[index % 2]
        pixels = gradient_image(index, 20, 20) // 2 + np.uint8(60 * (index % 2))
        write_image(root / f"{label}_{index}.png", pixels)
        rows.append({"path": f"{label}_{index}.png", "label": label, "patient_id": f"patient-{index // 2}"})
    return write_csv(root / "labels.csv", rows)


def test_touched_source_prepares_the_same_bytes_and_keeps_the_trained_model(tmp_path, monkeypatch):
    monkeypatch.delenv("SYNTHGEN_SALT", raising=False)  # the run folder keeps its own random salt
    source = tmp_path / "xrays"
    labels = _png_source(source)
    config = write_run_config(tmp_path / "run.yaml", prepare={
        "source": str(source), "labels": str(labels), "path_column": "path", "label_column": "label",
        "patient_column": "patient_id", "size": 16, "n": None, "seed": 0})
    text = config.read_text().replace("created: '2026-01-01T00:00:00Z'\n", "")
    assert "created" not in text  # no pinned time in the config: the run folder pins its own
    config.write_text(text)
    root = tmp_path / "run"

    first = run(config, root, progress=False)
    assert first.ran[:2] == ["prepare", "train"]
    state = read_state(root)
    assert state["created"]  # pinned at the first run, kept by every later one
    salt_file = tmp_path / "run.PRIVATE-salt"
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    data_before, model_before = tree_sha256(root / "data"), tree_sha256(root / "model")

    for path in source.iterdir():  # what a copy to another disk does to a source
        os.utime(path, (1_000_000_000, 1_000_000_000))
    again = run(config, root, progress=False)

    assert again.ran == ["prepare"] and "train" in again.skipped
    assert tree_sha256(root / "data") == data_before and tree_sha256(root / "model") == model_before
    assert read_state(root)["created"] == state["created"]
