"""`synthgen validate` inputs: row selection, refusals, encoders, audit and run folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from privacy.audit_document import AuditDocument
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from validation.audit_summary import read_audit
from validation.data import external_test_spec, load_external_tests, load_validation_data, split_argument
from validation.features import load_torchscript_encoder
from validation.generator_run import read_training_curves, read_weight_choice
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.validation import audit_folder, measured_audit_folder, run_folder, sampled_provenance, toy_set


# torch 2.13 deprecates TorchScript; users' encoder files are still TorchScript, so the tests write some.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("validation-sets")
    return {
        "real": toy_set(root / "real", n=90, seed=0),
        "synthetic": toy_set(root / "synthetic", n=40, seed=1, kind="synthetic", patient_prefix="SYN"),
    }


def validate_args(real_train, real_test, synthetic, out, *extra) -> list[str]:
    return ["validate", "--real-train", real_train, "--real-test", real_test, "--synthetic", synthetic,
            "--out", out, "--min-per-class", "5", *extra]


def test_same_folder_uses_train_and_test_splits(sets):
    data = load_validation_data(sets["real"], sets["real"], sets["synthetic"], min_per_class=5)
    assert (data.real_train.split, data.real_test.split, data.synthetic.split) == ("train", "test", None)
    assert (len(data.train_images), len(data.test_images), len(data.synthetic_images)) == (60, 30, 40)
    assert data.train_images.dtype == np.float32 and data.train_images.max() <= 1.0
    assert data.classes == ["dark", "bright"] and data.synthetic_copies_of_train == 0


def test_real_test_falls_back_to_val_and_explicit_splits_win(tmp_path, sets):
    no_test = toy_set(tmp_path / "no-test", n=90, seed=2, splits=("train", "train", "val"))
    data = load_validation_data(no_test, no_test, sets["synthetic"], min_per_class=5)
    assert data.real_test.split == "val" and len(data.test_images) == 30
    explicit = load_validation_data(f"{sets['real']}:test", f"{sets['real']}:train", sets["synthetic"], 5)
    assert (explicit.real_train.split, len(explicit.train_images)) == ("test", 30)
    assert split_argument(f"{sets['real']}:val") == (sets["real"], "val")
    assert split_argument("missing:nonsense") == (Path("missing:nonsense"), None)


def test_separate_sets_use_every_row(tmp_path, sets):
    other = toy_set(tmp_path / "other", n=30, seed=3)
    data = load_validation_data(sets["real"], other, sets["synthetic"], min_per_class=5)
    assert (data.real_train.split, len(data.train_images)) == (None, 90)
    assert (data.real_test.split, len(data.test_images)) == (None, 30)


def test_cli_refuses_disjoint_class_names_listing_both(tmp_path, capsys, sets):
    other = toy_set(tmp_path / "other", n=40, seed=4, classes=["normal", "pneumonia"], kind="synthetic")
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], other, tmp_path / "out"), capsys)
    assert_clean_error(code, err, "class names differ", "['dark', 'bright']", "['normal', 'pneumonia']")
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_test_set_sharing_images_with_training(tmp_path, capsys, sets):
    code, _, err = run_cli(validate_args(f"{sets['real']}:train", sets["real"], sets["synthetic"],
                                         tmp_path / "out"), capsys)
    assert_clean_error(code, err, "shares 60 image(s)", "same sha256")
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_test_set_sharing_patients_with_training(tmp_path, capsys, sets):
    other_pixels_same_patients = toy_set(tmp_path / "same-patients", n=90, seed=5, patient_prefix="P000")
    code, _, err = run_cli(validate_args(f"{sets['real']}:train", other_pixels_same_patients, sets["synthetic"],
                                         tmp_path / "out"), capsys)
    assert_clean_error(code, err, "shares 60 patient(s)", "e.g. P00000000", "patient-level splits")


def test_cli_refuses_a_class_with_too_few_test_images_naming_the_minimum(tmp_path, capsys, sets):
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out")
                           + ["--min-per-class", "20"], capsys)
    assert_clean_error(code, err, "dark (15)", "bright (15)", "at least 20 per class")


def test_cli_refuses_synthetic_images_copied_from_the_test_set(tmp_path, capsys, sets):
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], f"{sets['real']}:test", tmp_path / "out"),
                           capsys)
    assert_clean_error(code, err, "contains 30 image(s) of --real-test")


def test_cli_refuses_an_encoder_that_is_not_torchscript(tmp_path, capsys, sets):
    state_dict = tmp_path / "encoder.pt"
    torch.save({"weight": torch.zeros(3)}, state_dict)
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out",
                                         "--encoder", state_dict), capsys)
    assert_clean_error(code, err, "encoder.pt is not a TorchScript module", "torch.jit.save")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(SynthgenError, match="not a TorchScript module"):
        load_torchscript_encoder(tmp_path / "junk.pt")


def test_cli_refuses_bad_options_and_missing_sets(tmp_path, capsys, sets):
    code, _, err = run_cli(validate_args(tmp_path / "nope", sets["real"], sets["synthetic"], tmp_path / "out"), capsys)
    assert_clean_error(code, err, "nope does not exist")
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out",
                                         "--low-data", "0.1,x"), capsys)
    assert_clean_error(code, err, "--low-data '0.1,x'")
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out",
                                         "--seeds", "0"), capsys)
    assert_clean_error(code, err, "--seeds must be at least 1")
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out",
                                         "--threads", "0"), capsys)
    assert_clean_error(code, err, "--threads must be at least 1")
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out",
                                         "--audit", tmp_path), capsys)
    assert_clean_error(code, err, "audit.json is missing")


def test_external_test_sets_are_named_checked_and_loaded(tmp_path, sets):
    site_b = toy_set(tmp_path / "site-b", n=40, seed=6)
    data = load_validation_data(sets["real"], sets["real"], sets["synthetic"], min_per_class=5)
    tests = load_external_tests([site_b, f"intake={site_b}:test"], data, min_per_class=5)
    assert [(t.name, len(t.images)) for t in tests] == [("site-b", 40), ("intake", 13)]
    assert np.array_equal(tests[0].labels, np.arange(40) % 2) and tests[0].images.dtype == np.float32
    assert external_test_spec(f"{site_b}:val") == ("site-b-val", f"{site_b}:val")
    with pytest.raises(SynthgenError, match="'site-b' is used twice"):
        load_external_tests([site_b, site_b], data, min_per_class=5)


def test_cli_refuses_an_external_test_set_with_other_classes_or_size(tmp_path, capsys, sets):
    other_classes = toy_set(tmp_path / "other-classes", n=40, seed=7, classes=["normal", "pneumonia"])
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out",
                                         "--external-test", other_classes), capsys)
    assert_clean_error(code, err, "class names differ", "--external-test", "other-classes", "same classes")
    other_size = toy_set(tmp_path / "other-size", n=40, seed=7, size=8)
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out",
                                         "--external-test", f"b={other_size}"), capsys)
    assert_clean_error(code, err, "image sizes differ", f"--external-test {other_size} 8²", "synthgen prepare --size")
    assert not (tmp_path / "out").exists()


def test_cli_refuses_an_external_test_set_sharing_patients_or_images_with_training(tmp_path, capsys, sets):
    same_patients = toy_set(tmp_path / "same-patients", n=90, seed=5, patient_prefix="P000")
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out",
                                         "--external-test", same_patients), capsys)
    assert_clean_error(code, err, "--external-test", "same-patients", "shares 60 patient(s)", "patient-level splits")
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out",
                                         "--external-test", f"{sets['real']}:train"), capsys)
    assert_clean_error(code, err, "--external-test", "shares 60 image(s)", "use disjoint sets")


class ScaledMean(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x.mean(dim=(1, 2, 3)), x.amax(dim=(1, 2, 3))], dim=1) * 2


def test_torchscript_encoder_embeds_images(tmp_path):
    path = tmp_path / "encoder.ts"
    torch.jit.save(torch.jit.script(ScaledMean()), str(path))
    encoder = load_torchscript_encoder(path)
    images = np.stack([np.full((8, 8), 0.25, np.float32), np.full((8, 8), 0.5, np.float32)])
    features = encoder.embed(images, batch_size=1)
    assert features.shape == (2, 2) and np.allclose(features, [[0.5, 0.5], [1.0, 1.0]])


def test_torchscript_encoder_failing_on_a_batch_is_a_clear_error(tmp_path):
    path = tmp_path / "wrong.ts"
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), str(path))
    with pytest.raises(SynthgenError, match=r"failed on a batch of shape \(1, 1, 8, 8\)"):
        load_torchscript_encoder(path).embed(np.zeros((1, 8, 8), np.float32))


def test_read_audit_takes_the_audit_documents_fields(tmp_path, sets):
    audit = read_audit(audit_folder(tmp_path / "fail", sets["real"], sets["synthetic"], verdict="fail", flagged=4))
    assert (audit["verdict"], audit["level"], audit["n_flagged"], audit["n_synthetic"]) == ("fail", "low", 4, 40)
    assert audit["fraction_flagged"] == 0.1 and audit["selftest_recall"] == 0.9967
    assert audit["reasons"][0].startswith("more synthetic images are flagged")
    assert [row["name"] for row in audit["spaces"]] == ["pixels", "encoder"]
    assert audit["spaces"][1]["distance to closest record AUC"] == "0.50 (0.45–0.56)"
    assert audit["pairs"] is None and audit["montages"] == []  # optional: not in this folder
    passing = read_audit(audit_folder(tmp_path / "pass", sets["real"], sets["synthetic"]))
    assert (passing["verdict"], passing["level"], passing["fraction_flagged"]) == ("pass", "good", 0.0)


def test_read_audit_lists_the_closest_pairs_of_a_measured_audit(tmp_path, sets):
    folder = measured_audit_folder(tmp_path / "audit", sets["real"], sets["synthetic"])
    audit = read_audit(folder)
    document = AuditDocument.read_folder(folder)
    assert (audit["verdict"], audit["n_flagged"]) == (document.verdict, document.counts.flagged)
    assert audit["pairs"]["sorted_by"] == "score" and audit["pairs"]["total"] == 40
    scores = [float(row[2]) for row in audit["pairs"]["rows"]]
    assert audit["pairs"]["columns"][:3] == ["image_id", "flagged", "score"] and scores == sorted(scores)
    assert audit["montages"] == [str(folder / "closest_pairs.png")]


@pytest.mark.parametrize("rename", [("flagged_fraction", "fraction_flagged"), ("verdict", "passed")])
def test_audit_json_with_a_renamed_key_stops_validate_naming_the_key(tmp_path, capsys, sets, rename):
    folder = audit_folder(tmp_path / "audit", sets["real"], sets["synthetic"])
    document = json.loads((folder / "audit.json").read_text())
    document[rename[1]] = document.pop(rename[0])
    (folder / "audit.json").write_text(json.dumps(document))
    code, _, err = run_cli(validate_args(sets["real"], sets["real"], sets["synthetic"], tmp_path / "out",
                                         "--audit", folder), capsys)
    assert_clean_error(code, err, str(folder / "audit.json"), f"unknown key {rename[1]!r}",
                       f"key {rename[0]!r} is missing")
    assert not (tmp_path / "out").exists()
    del document[rename[1]]
    (folder / "audit.json").write_text(json.dumps(document))
    with pytest.raises(SynthgenError, match=f"key '{rename[0]}' is missing"):
        read_audit(folder)


def test_audit_json_with_a_wrong_type_or_unknown_version_is_refused(tmp_path, sets):
    folder = audit_folder(tmp_path / "audit", sets["real"], sets["synthetic"])
    document = json.loads((folder / "audit.json").read_text())
    (folder / "audit.json").write_text(json.dumps({**document, "counts": {**document["counts"], "flagged": "3"}}))
    with pytest.raises(SynthgenError, match="key 'counts.flagged' must be an integer, not '3'"):
        read_audit(folder)
    (folder / "audit.json").write_text(json.dumps({**document, "schema_version": 9}))
    with pytest.raises(SynthgenError, match="key 'schema_version' is 9"):
        read_audit(folder)
    legacy = {key: value for key, value in document.items() if key != "schema_version"}  # written before versions
    (folder / "audit.json").write_text(json.dumps(legacy))
    assert read_audit(folder)["verdict"] == "pass"
    (folder / "audit.json").write_text("{not json")
    with pytest.raises(SynthgenError, match="not valid JSON"):
        read_audit(folder)


def test_training_curves_follow_the_sampled_sets_run(tmp_path, sets):
    run = run_folder(tmp_path / "run", steps=5)
    sampled = toy_set(tmp_path / "sampled", n=20, seed=3, kind="synthetic",
                      provenance=sampled_provenance(run, sets["real"]))
    curves = read_training_curves(ImageSet.open(sampled))
    assert curves["x"] == "step" and curves["xs"] == [10, 20, 30, 40, 50]
    assert curves["series"]["loss"] == pytest.approx([1, 0.5, 1 / 3, 0.25, 0.2], rel=1e-5)
    assert curves["log"] == str(run / "log.csv")
    assert read_training_curves(ImageSet.open(sets["synthetic"])) is None  # not sampled: no run to follow
    assert read_weight_choice(ImageSet.open(sampled)) is None  # no model card in its provenance
    assert read_weight_choice(ImageSet.open(sets["synthetic"])) is None
    moved = toy_set(tmp_path / "moved", n=20, seed=3, kind="synthetic",
                    provenance=sampled_provenance(tmp_path / "missing", sets["real"]))
    assert read_training_curves(ImageSet.open(moved)) is None  # the run folder stayed on another machine
