"""`synthgen prepare` end to end: image sets from each source kind, pseudonyms, determinism."""

import csv
import json

import numpy as np
import pytest

from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.prepare import prepare
from synthgen.sources.names import redact_patient as redact
from tests.fixtures.cli import run_cli


def test_prepare_npz_keeps_source_splits_and_pads_to_size(npz_source, tmp_path):
    image_set = prepare(npz_source, tmp_path / "set", size=32, seed=1, salt="s", progress=False)
    assert image_set.info["counts"]["by_split"] == {"train": 12, "val": 4}
    assert image_set.classes == ["normal", "pneumonia"]
    pixels = image_set.load_pixels()
    assert pixels.shape == (16, 32, 32)
    raw = np.load(npz_source)["train_images"][0]
    assert image_set.rows[0]["bit_depth"] == "8" and image_set.info["provenance"]["source"]["format"] == "npz"
    assert abs(float(pixels[0, 2:30, 2:30].mean()) * 255 - raw.mean()) < 2  # bilinear upscale keeps the mean


def test_prepare_resplit_makes_new_patient_level_splits(npz_source, tmp_path):
    image_set = prepare(npz_source, tmp_path / "set", size=28, resplit=True, val_fraction=0.25,
                        test_fraction=0.25, salt="s", progress=False)
    assert set(image_set.info["counts"]["by_split"]) == {"train", "val", "test"}


def test_prepare_csv_pseudonymizes_patients_everywhere(csv_source, tmp_path):
    root, labels = csv_source
    image_set = prepare(root, tmp_path / "set", labels=labels, patient_column="patient_id",
                        findings_column="finding_labels", size=16, salt="secret", progress=False)
    rows = image_set.rows
    assert len({r["patient_id"] for r in rows}) == 4
    assert all(r["patient_id"].startswith("P") and len(r["patient_id"]) == 13 for r in rows)
    for path in (tmp_path / "set").rglob("*"):
        if path.is_file():
            assert b"PATIENT-RAW" not in path.read_bytes(), path
    by_patient = {}
    for row in rows:
        by_patient.setdefault(row["patient_id"], set()).add(row["split"])
    assert all(len(s) == 1 for s in by_patient.values())
    assert image_set.info["counts"]["by_finding"] == {"effusion": 4, "mass": 4}


def test_prepare_is_deterministic_for_the_same_seed_and_salt(class_folders, tmp_path):
    args = dict(size=16, seed=5, salt="k", patient_pattern=r"^(pat\d+)_", progress=False)
    first = prepare(class_folders, tmp_path / "a", **args)
    second = prepare(class_folders, tmp_path / "b", **args)
    assert (tmp_path / "a/manifest.csv").read_bytes() == (tmp_path / "b/manifest.csv").read_bytes()
    assert [r["sha256"] for r in first.rows] == [r["sha256"] for r in second.rows]


def test_prepare_stops_on_exact_duplicates_unless_they_are_dropped(class_folders, tmp_path):
    copy = class_folders / "NORMAL" / "pat00_img0_copy.png"
    copy.write_bytes((class_folders / "NORMAL" / "pat00_img1.png").read_bytes())
    with pytest.raises(SynthgenError, match="same pixels as .*--drop duplicate-image"):
        prepare(class_folders, tmp_path / "a", size=16, salt="k", progress=False)
    assert not (tmp_path / "a").exists()
    dropped = prepare(class_folders, tmp_path / "b", size=16, salt="k", dedupe=True, progress=False)
    assert dropped.info["provenance"]["duplicates"]["dropped"] == 1 and len(dropped) == 12
    assert dropped.info["provenance"]["dropped"] == {"duplicate-image": 1}


def test_redact_replaces_whole_patient_tokens_only():
    assert redact("train/00000002_000.png", "00000002", "Pabc") == "train/Pabc_000.png"
    assert redact("img_0123.png", "12", "Pabc") == "img_0123.png"
    assert redact("a/b.png", "a/b.png", "Pabc") == "a/b.png"


def test_cli_prepare_prints_a_summary_and_writes_the_set(class_folders, tmp_path, capsys):
    code, out, err = run_cli(["prepare", class_folders, "--out", tmp_path / "set", "--size", "16",
                              "--salt", "k", "--val-fraction", "0", "--test-fraction", "0"], capsys)
    assert code == 0, err
    assert "normal" in out and "pneumonia" in out
    info = json.loads((tmp_path / "set/dataset.json").read_text())
    assert info["counts"]["images"] == 12 and info["provenance"]["options"]["pseudonym_salt"] == "given"
    with (tmp_path / "set/manifest.csv").open() as handle:
        assert {row["split"] for row in csv.DictReader(handle)} == {"train"}
    assert ImageSet.open(tmp_path / "set").verify() == []
