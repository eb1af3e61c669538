"""synthgen export refuses bad input with one line, exit 2, and leaves no export folder behind."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from synthgen.imageset import ImageSetWriter
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.export import phantom_set, synthetic_set


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_nothing_written(parent, name="out") -> None:
    assert not (parent / name).exists()
    assert not [p for p in parent.iterdir() if p.name.startswith(f".{name}.")]


@pytest.fixture
def image_set(tmp_path):
    return phantom_set(tmp_path / "set", n=6)


def test_missing_image_file_is_named(tmp_path, capsys, image_set):
    (image_set.root / "images" / "000003.png").unlink()
    code, _, err = run_cli(["export", image_set.root, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "images/000003.png", "missing")
    assert_nothing_written(tmp_path)


def test_manifest_changed_after_writing_is_refused(tmp_path, capsys, image_set):
    manifest = image_set.root / "manifest.csv"
    manifest.write_text(manifest.read_text().replace(",train,", ",test,", 1))
    code, _, err = run_cli(["export", image_set.root, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "manifest.csv", "sha256")
    assert_nothing_written(tmp_path)


def test_image_not_matching_its_sha256_is_named(tmp_path, capsys, image_set):
    path = image_set.root / "images" / "000004.png"
    other = (image_set.root / "images" / "000001.png").read_bytes()
    path.write_bytes(other)
    code, _, err = run_cli(["export", image_set.root, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "000004.png", "sha256")
    assert_nothing_written(tmp_path)


def test_non_empty_output_folder_needs_overwrite(tmp_path, capsys, image_set):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    code, _, err = run_cli(["export", image_set.root, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "not empty", "--overwrite")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"
    code, _, err = run_cli(["export", image_set.root, "--out", tmp_path / "out", "--overwrite"], capsys)
    assert code == 0, err
    assert not (tmp_path / "out" / "keep.txt").exists() and (tmp_path / "out" / "manifest.csv").is_file()


def _set_with_label(root, label):
    with ImageSetWriter(root, name="odd", kind="synthetic", classes=["normal", label], image_size=8) as writer:
        for i, name in enumerate(["normal", label]):
            writer.add(np.full((8, 8), 40 * i, np.uint8), label=name, patient_id=f"S{i}", split="train", source="x")
        writer.finish({"generator": "hand-made test set"})
    return root


def test_label_without_a_code_is_named_and_can_be_given_one(tmp_path, capsys):
    root = _set_with_label(tmp_path / "odd", "pleural_thickening")
    code, _, err = run_cli(["export", root, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "'pleural_thickening'", "--code")
    assert_nothing_written(tmp_path)
    code, _, err = run_cli(["export", root, "--out", tmp_path / "out",
                            "--code", "pleural_thickening=SCT:1234567:Pleural thickening"], capsys)
    assert code == 0, err


@pytest.mark.parametrize("option", ["pleural_thickening", "x=SCT:1", "x=ICD:1:y"])
def test_malformed_code_option_is_refused(tmp_path, capsys, image_set, option):
    code, _, err = run_cli(["export", image_set.root, "--out", tmp_path / "out", "--code", option], capsys)
    assert_clean_error(code, err, "--code")
    assert_nothing_written(tmp_path)


def test_filtered_only_refuses_a_set_without_privacy_audit(tmp_path, capsys, image_set):
    code, _, err = run_cli(["export", image_set.root, "--out", tmp_path / "out", "--filtered-only"], capsys)
    assert_clean_error(code, err, "privacy audit", "--filtered-only")
    assert_nothing_written(tmp_path)
    filtered = synthetic_set(tmp_path / "filtered", image_set)
    code, _, err = run_cli(["export", filtered.root, "--out", tmp_path / "out", "--filtered-only"], capsys)
    assert code == 0, err


@pytest.mark.parametrize("filtered_only", [False, True])
def test_audit_record_with_a_renamed_key_stops_the_export_naming_the_key(tmp_path, capsys, image_set, filtered_only):
    filtered = synthetic_set(tmp_path / "filtered", image_set)
    info = json.loads((filtered.root / "dataset.json").read_text())
    audit = info["provenance"]["audit"]
    audit["passed"] = audit.pop("verdict")  # what an older or foreign writer might call it
    (filtered.root / "dataset.json").write_text(json.dumps(info))
    code, _, err = run_cli(["export", filtered.root, "--out", tmp_path / "out",
                            *(["--filtered-only"] if filtered_only else [])], capsys)
    assert_clean_error(code, err, "dataset.json provenance.audit", "unknown key 'passed'", "key 'verdict' is missing")
    assert_nothing_written(tmp_path)
    del audit["passed"]
    (filtered.root / "dataset.json").write_text(json.dumps(info))
    code, _, err = run_cli(["export", filtered.root, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "dataset.json provenance.audit", "key 'verdict' is missing")


def test_sampled_set_provenance_of_the_wrong_type_stops_the_export_naming_the_key(tmp_path, capsys, image_set):
    sampled = synthetic_set(tmp_path / "sampled", image_set, audited=False)
    info = json.loads((sampled.root / "dataset.json").read_text())
    info["provenance"]["sampling"]["steps"] = "twenty-five"
    (sampled.root / "dataset.json").write_text(json.dumps(info))
    code, _, err = run_cli(["export", sampled.root, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "dataset.json provenance", "key 'sampling.steps' must be an integer")
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("scheme", ["dicomweb", "dimse"])
def test_unreachable_pacs_fails_after_retries_and_leaves_no_export(tmp_path, capsys, image_set, scheme):
    port = free_port()  # nothing listens there
    url = f"dicomweb+http://127.0.0.1:{port}/dicom-web" if scheme == "dicomweb" else f"dimse://PACS@127.0.0.1:{port}"
    code, _, err = run_cli(["export", image_set.root, "--out", tmp_path / "out", "--to", url, "--retries", "1"],
                           capsys)
    assert_clean_error(code, err, f"127.0.0.1:{port}", "6 of 6", "after 2 attempts")
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("args, fragment", [
    (["--to", "http://host:8042"], "dicomweb+http"),
    (["--to", "dimse://host:104"], "dimse://AET@HOST:PORT"),
    (["--format", "nifti", "--to", "dimse://A@h:104"], "--format dicom"),
    (["--format", "png", "--compression", "rle"], "--format dicom only"),
    (["--compression", "jpeg2000"], "rle"),
])
def test_bad_option_combinations_are_refused(tmp_path, capsys, image_set, args, fragment):
    code, _, err = run_cli(["export", image_set.root, "--out", tmp_path / "out", *args], capsys)
    assert_clean_error(code, err, fragment)
    assert_nothing_written(tmp_path)


def test_missing_image_set_is_named(tmp_path, capsys):
    code, _, err = run_cli(["export", tmp_path / "nope", "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "nope")
