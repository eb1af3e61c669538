"""`synthgen audit` on the command line: a clean run, the self-test, and every listed bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from synthgen.chest_phantom import phantom
from privacy.audit_document import AuditDocument
from synthgen.imageset import ImageSet
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.privacy import synthetic_from


TINY = ["--encoder-steps", "2", "--encoder-width", "2"]


@pytest.fixture(scope="module")
def real_set(tmp_path_factory) -> ImageSet:
    return phantom(tmp_path_factory.mktemp("real") / "set", n=140, size=16, seed=4, val_fraction=0.25, test_fraction=0.2)


@pytest.fixture(scope="module")
def synthetic(real_set, tmp_path_factory) -> ImageSet:
    rows = [int(i) for i in real_set.indices("test")[:10]]
    return synthetic_from(real_set, tmp_path_factory.mktemp("syn") / "set", rows)


def test_cli_audit_writes_report_and_filtered_set(real_set, synthetic, tmp_path, capsys):
    code, out, err = run_cli(["audit", "--train", real_set.root, "--synthetic", synthetic.root, "--out",
                              tmp_path / "audit", "--fpr", "0.2", "--filter", *TINY], capsys)
    assert code == 0, err
    document = AuditDocument.read_folder(tmp_path / "audit")
    assert f"{document.counts.flagged} of 10 synthetic images flagged" in out
    check = document.selftest
    assert f"self-test: {check.flagged} of {check.copies} planted copies of training images flagged" in out
    assert "encoder: membership-inference AUC distance to closest record" in out
    by_class = next(line for line in out.splitlines() if line.startswith("flagged by class: "))
    assert all(f"{name} {c.flagged} of {c.synthetic} (" in by_class for name, c in document.by_class.items())
    assert f"verdict: {document.verdict}" in out
    assert all(f"  - {reason}" in out for reason in document.verdict_reasons)
    assert ImageSet.open(tmp_path / "audit" / "filtered").verify() == []


def test_cli_selftest_reports_planted_and_reid_rates(real_set, tmp_path, capsys):
    code, out, err = run_cli(["audit", "--selftest", "--train", real_set.root, "--out", tmp_path / "st",
                              "--fpr", "0.2", *TINY], capsys)
    assert code == 0, err
    result = json.loads((tmp_path / "st" / "selftest.json").read_text())
    assert result["counts"]["planted"] == result["counts"]["train"] or result["counts"]["planted"] == 500
    assert result["counts"]["probes"] > 0
    assert 0.0 <= result["planted_flagged"] <= 1.0
    assert set(result["spaces"]) == {"pixels", "encoder", "registered"}
    assert json.loads(out)["target"]["met"] == result["target"]["met"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cli_accepts_a_torchscript_encoder(real_set, synthetic, tmp_path, capsys):
    import torch

    class Mean(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.avg_pool2d(x, 4).flatten(1)

    torch.jit.save(torch.jit.script(Mean()), str(tmp_path / "enc.pt"))
    code, _, err = run_cli(["audit", "--train", real_set.root, "--synthetic", synthetic.root, "--out",
                            tmp_path / "audit", "--fpr", "0.2", "--encoder", tmp_path / "enc.pt", *TINY], capsys)
    assert code == 0, err
    document = AuditDocument.read_folder(tmp_path / "audit")
    assert document.spaces["torchscript"].description["dim"] == 16


@pytest.mark.parametrize("fpr", ["0", "0.5", "-0.1", "0.7"])
def test_cli_rejects_fpr_outside_open_interval(real_set, synthetic, tmp_path, capsys, fpr):
    code, _, err = run_cli(["audit", "--train", real_set.root, "--synthetic", synthetic.root,
                            "--out", tmp_path / "a", "--fpr", fpr], capsys)
    assert_clean_error(code, err, "--fpr", "between 0 and 0.5")
    assert not (tmp_path / "a").exists()


def test_cli_rejects_empty_synthetic_set(real_set, synthetic, tmp_path, capsys):
    empty = tmp_path / "empty"
    shutil.copytree(synthetic.root, empty)
    manifest = empty / "manifest.csv"
    manifest.write_text(manifest.read_text().splitlines()[0] + "\n")
    code, _, err = run_cli(["audit", "--train", real_set.root, "--synthetic", empty, "--out", tmp_path / "a"], capsys)
    assert_clean_error(code, err, str(empty), "no images")
    assert not (tmp_path / "a").exists()


def test_cli_rejects_holdout_sharing_images_with_training(real_set, synthetic, tmp_path, capsys):
    code, _, err = run_cli(["audit", "--train", real_set.root, "--synthetic", synthetic.root, "--holdout",
                            real_set.root, "--out", tmp_path / "a", "--fpr", "0.2"], capsys)
    assert_clean_error(code, err, f"shares {len(real_set.indices('train'))} image(s)", "training split")
    assert not (tmp_path / "a").exists()


def test_cli_rejects_holdout_sharing_patients_with_training(real_set, tmp_path, capsys):
    # Other images of training patients (fresh renders, so no hash is shared) under the same pseudonyms.
    rows = [int(i) for i in real_set.indices("train")[:30]]
    pixels = np.stack([np.roll(np.asarray(ImageSet.open(real_set.root).load_pixels([i])[0] * 255, np.uint8), 1, 0)
                       for i in rows])
    holdout = synthetic_from(real_set, tmp_path / "h", rows, pixels)
    manifest = holdout.root / "manifest.csv"
    lines = manifest.read_text().splitlines()
    header = lines[0].split(",")
    patient = header.index("patient_id")
    fixed = [lines[0]]
    for line, i in zip(lines[1:], rows):
        cells = line.split(",")
        cells[patient] = real_set.rows[i]["patient_id"]
        fixed.append(",".join(cells))
    manifest.write_text("\n".join(fixed) + "\n")
    code, _, err = run_cli(["audit", "--train", real_set.root, "--synthetic", holdout.root, "--holdout",
                            holdout.root, "--out", tmp_path / "a", "--fpr", "0.2"], capsys)
    shared = len({real_set.rows[i]["patient_id"] for i in rows})
    assert_clean_error(code, err, f"shares {shared} patient(s)", "patient-level splits")


def test_cli_rejects_too_small_holdout_naming_the_minimum_and_the_smallest_fpr(real_set, synthetic, tmp_path, capsys):
    code, _, err = run_cli(["audit", "--train", real_set.root, "--synthetic", synthetic.root,
                            "--out", tmp_path / "a", "--fpr", "0.001"], capsys)
    n_holdout = len(real_set.indices("val")) + len(real_set.indices("test"))
    assert_clean_error(code, err, "needs at least 1000", f"has {n_holdout} held-out", "smallest --fpr it supports is")
    smallest = float(err.split("smallest --fpr it supports is ")[1].split(";")[0])
    assert smallest == pytest.approx(1 / n_holdout, abs=1e-4)
    code, _, _ = run_cli(["audit", "--train", real_set.root, "--synthetic", synthetic.root, "--out", tmp_path / "b",
                          "--fpr", str(smallest), *TINY, "--selftest-copies", "5"], capsys)
    assert code == 0  # the suggested rate is accepted


def test_cli_rejects_too_small_training_set_naming_the_minimum(synthetic, tmp_path, capsys):
    tiny = phantom(tmp_path / "tiny", n=20, size=16, seed=1, val_fraction=0.2, test_fraction=0.2)
    code, _, err = run_cli(["audit", "--train", tiny.root, "--synthetic", synthetic.root,
                            "--out", tmp_path / "a", "--fpr", "0.2"], capsys)
    assert_clean_error(code, err, "at least 20")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cli_rejects_a_file_that_is_not_torchscript(real_set, synthetic, tmp_path, capsys):
    bad = tmp_path / "enc.pt"
    bad.write_bytes(b"not a model")
    code, _, err = run_cli(["audit", "--train", real_set.root, "--synthetic", synthetic.root, "--out",
                            tmp_path / "a", "--fpr", "0.2", "--encoder", bad, *TINY], capsys)
    assert_clean_error(code, err, str(bad), "TorchScript")
    assert not (tmp_path / "a").exists()


def test_cli_needs_train_and_synthetic(tmp_path, capsys):
    code, _, err = run_cli(["audit", "--out", tmp_path / "a"], capsys)
    assert_clean_error(code, err, "--train and --synthetic")


def test_cli_refuses_existing_output_folder(real_set, synthetic, tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "keep.txt").write_text("x")
    code, _, err = run_cli(["audit", "--train", real_set.root, "--synthetic", synthetic.root,
                            "--out", tmp_path / "a", "--fpr", "0.2"], capsys)
    assert_clean_error(code, err, "--overwrite")
    assert (tmp_path / "a" / "keep.txt").read_text() == "x"
