"""synthgen export --format dicom: content, marking, provenance, UIDs, validity and the round trip."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import config

from synthgen.export import export
from synthgen.export.dicom_writer import PRIVATE_CREATOR, PRIVATE_GROUP
from synthgen.imageset import ImageSet
from synthgen.imageset.cache import decode_all
from synthgen.prepare import prepare
from privacy.filter import AuditRecord
from tests.fixtures.cli import run_cli
from tests.fixtures.dicom import make_dataset, ramp, write_dicom
from tests.fixtures.export import ENCODER_SHA, MODEL_SHA, TRAIN_MANIFEST_SHA, phantom_set, synthetic_set


@pytest.fixture
def training(tmp_path) -> ImageSet:
    return phantom_set(tmp_path / "train")


@pytest.fixture
def synthetic(tmp_path, training) -> ImageSet:
    return synthetic_set(tmp_path / "synth", training)


def manifest_rows(folder: Path) -> list[dict]:
    with (folder / "manifest.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def read_strict(path: Path) -> pydicom.Dataset:
    with config.strict_reading():
        return pydicom.dcmread(path)


def private_json(ds: pydicom.Dataset) -> dict:
    return json.loads(ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)[0x01].value)


def test_synthetic_set_exports_as_dx_marked_synthetic_with_labels_and_provenance(tmp_path, synthetic):
    result = export(synthetic.root, tmp_path / "out", progress=False)
    rows = manifest_rows(result.out)
    assert len(rows) == len(synthetic) == result.files
    patients = {}
    for row, source in zip(rows, synthetic.rows):
        ds = read_strict(result.out / row["path"])
        assert ds.SOPClassUID == pydicom.uid.DigitalXRayImageStorageForPresentation
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert ds.Modality == "DX" and ds.PresentationIntentType == "FOR PRESENTATION"
        assert ds.SyntheticData == "YES" and list(ds.ImageType) == ["DERIVED", "PRIMARY"]
        assert ds.SeriesDescription.startswith("SYNTHETIC")
        assert ds.PatientID == row["patient_id"] and str(ds.PatientName) == f"SYNTHETIC^{ds.PatientID}"
        patients.setdefault(source["patient_id"], ds.PatientID)
        assert patients[source["patient_id"]] == ds.PatientID  # one pseudonym per source patient
        assert ds.SOPInstanceUID == row["SOPInstanceUID"] and ds.StudyInstanceUID == row["StudyInstanceUID"]
        # 8-bit set: widened to 12 stored bits by bit replication, the set's depth kept privately.
        assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, 12, 11)
        assert (ds.WindowCenter, ds.WindowWidth) == (2048, 4096)
        assert ds.private_block(0x0011, "synthgen 1")[0x02].value == 8
        assert ds.AnatomicRegionSequence[0].CodeValue == "43799004" and ds.BodyPartExamined == "CHEST"
        assert ds.Manufacturer == "synthgen" and ds.ContributingEquipmentSequence[0].Manufacturer == "synthgen"
        context = [(item.ConceptNameCodeSequence[0].CodeMeaning, item.ConceptCodeSequence[0].CodeValue)
                   for item in ds.AcquisitionContextSequence]
        codes = {"normal": "17621005", "consolidation": "95436008", "effusion": "60046008",
                 "nodule": "27925004", "cardiomegaly": "8186001"}
        findings = row["findings"].split("|") if row["findings"] else []
        assert context == [("Impression", codes[row["label"]])] + [("Finding", codes[f]) for f in findings]
        assert row["label"] == source["label"]
        assert findings == [f for f in ("consolidation", "effusion", "nodule", "cardiomegaly")
                            if source[f"finding_{f}"] == "1"]
        facts = private_json(ds)
        assert facts["model_sha256"] == MODEL_SHA and facts["training_manifest_sha256"] == TRAIN_MANIFEST_SHA
        sampling = (facts["seed"], facts["sampler"], facts["steps"], facts["guidance"])
        assert sampling == (source["seed"], "ddim", "25", "2.0")
        audit = facts["privacy_audit"]
        assert (audit["verdict"], audit["encoder_sha256"], audit["counts"]["kept"]) == ("pass", ENCODER_SHA, len(synthetic))
        assert audit["thresholds"] == {"pixels": 0.125, "encoder": 0.31}
        assert audit["audit_json_sha256"] == AuditRecord.of(synthetic).audit_json_sha256
        assert "flagged_sha256" not in audit and "classes_dropped" not in audit  # lists are never copied
        assert f"seed {source['seed']}" in ds.DerivationDescription
        assert "privacy audit: pass" in ds.DerivationDescription
    assert len(set(patients.values())) == len(set(patients))


def test_export_pixels_are_the_stored_pngs_widened_to_12_bits(tmp_path, synthetic):
    result = export(synthetic.root, tmp_path / "out", progress=False)
    stored = decode_all(synthetic.root, synthetic.rows, synthetic.image_size).astype(np.uint16)
    exported = np.stack([pydicom.dcmread(result.out / row["path"]).pixel_array for row in manifest_rows(result.out)])
    np.testing.assert_array_equal(exported, stored * 16 + stored // 16)  # bit replication: 255 -> 4095
    assert exported.dtype == np.uint16 and exported.max() <= 4095


def test_export_never_writes_a_training_patient_identifier(tmp_path, training, synthetic):
    out = export(synthetic.root, tmp_path / "out", format="dicom", progress=False).out
    nifti = export(synthetic.root, tmp_path / "nifti", format="nifti", progress=False).out
    identifiers = {row["patient_id"] for row in training.rows} | {row["source"] for row in training.rows}
    assert identifiers and all(len(value) >= 6 for value in identifiers)
    for folder in (out, nifti):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                leaked = [value for value in identifiers if value.encode() in data]
                assert not leaked, (path, leaked)


def test_real_dicom_source_identifiers_never_reach_the_export(tmp_path):
    source = tmp_path / "dicoms"
    raw = []
    for i in range(6):
        ds = make_dataset(ramp(24, 24, seed=i), PatientID=f"HOSP-{4711 + i // 2}",
                          PatientName=f"Mustermann^Erika{i // 2}", StudyDate="19991231",
                          AccessionNumber=f"ACC{900 + i}")
        raw += [ds.PatientID, "Mustermann", f"Erika{i // 2}", ds.SOPInstanceUID, ds.StudyInstanceUID,
                ds.SeriesInstanceUID, "19991231", ds.AccessionNumber]
        write_dicom(source / ("normal" if i % 2 else "pneumonia") / f"img{i}.dcm", ds)
    real = prepare(source, tmp_path / "real", size=24, format="dicom", salt="s", progress=False)
    out = export(real.root, tmp_path / "out", progress=False).out
    for path in out.rglob("*"):
        data = path.read_bytes() if path.is_file() else b""
        assert not [value for value in raw if value.encode() in data], path
    ds = pydicom.dcmread(out / "images" / "000000.dcm")
    assert "SyntheticData" not in ds and ds.PatientIdentityRemoved == "YES"
    assert ds.PatientID == real.rows[0]["patient_id"] and ds.PatientID.startswith("P")
    assert ds.SeriesDescription.startswith("PSEUDONYMISED")


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_prepare_on_the_export_gives_back_identical_pixels_and_labels(tmp_path, capsys, bit_depth):
    original = phantom_set(tmp_path / "set", n=10, size=16, bit_depth=bit_depth)
    out = tmp_path / "dicom"
    code, _, err = run_cli(["export", original.root, "--out", out], capsys)
    assert code == 0, err
    code, _, err = run_cli(["prepare", out, "--format", "dicom", "--labels", out / "manifest.csv",
                            "--findings-column", "findings", "--patient-column", "patient_id",
                            "--split-column", "split", "--size", "16", "--salt", "k",
                            "--classes", ",".join(original.classes), "--findings", ",".join(original.findings),
                            "--out", tmp_path / "back"], capsys)
    assert code == 0, err
    back = ImageSet.open(tmp_path / "back")
    assert back.info["bit_depth"] == bit_depth
    np.testing.assert_array_equal(decode_all(back.root, back.rows, 16), decode_all(original.root, original.rows, 16))
    assert [r["label"] for r in back.rows] == [r["label"] for r in original.rows]
    assert [r["split"] for r in back.rows] == [r["split"] for r in original.rows]
    np.testing.assert_array_equal(back.finding_matrix(), original.finding_matrix())
    same_patient = lambda rows: [[a["patient_id"] == b["patient_id"] for b in rows] for a in rows]  # noqa: E731
    assert same_patient(back.rows) == same_patient(original.rows)


def test_reexport_is_byte_identical_and_other_sets_share_no_uid(tmp_path, training, synthetic):
    first = export(synthetic.root, tmp_path / "a", progress=False).out
    second = export(synthetic.root, tmp_path / "b", progress=False).out
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / p).read_bytes() == (second / p).read_bytes() for p in files)
    # Same model, seeds, labels and patients, other pixels: another set, so other UIDs.
    other = synthetic_set(tmp_path / "other", phantom_set(tmp_path / "train2", seed=4), audited=False)
    third = export(other.root, tmp_path / "c", progress=False).out
    uids = lambda folder: {row[c] for row in manifest_rows(folder)  # noqa: E731
                           for c in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")}
    assert uids(first) and not uids(first) & uids(third)
    assert len({row["SOPInstanceUID"] for row in manifest_rows(first)}) == len(synthetic)


def test_ro_crate_lists_every_file_with_its_sha256(tmp_path, synthetic):
    out = export(synthetic.root, tmp_path / "out", progress=False).out
    crate = json.loads((out / "ro-crate-metadata.json").read_text())
    entities = {item["@id"]: item for item in crate["@graph"]}
    listed = {part["@id"] for part in entities["./"]["hasPart"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"ro-crate-metadata.json"}
    assert listed == on_disk
    for name in on_disk:
        assert entities[name]["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    assert entities["#model"]["identifier"] == f"sha256:{MODEL_SHA}"
    assert entities["#training-set"]["identifier"] == f"sha256:{TRAIN_MANIFEST_SHA}"
    assert "flagged_sha256" not in entities["#privacy-audit"]["description"]  # lists are never copied
    assert '"verdict": "pass"' in entities["#privacy-audit"]["description"]
    assert entities["#source-image-set"]["identifier"] == f"sha256:{synthetic.manifest_sha256}"


@pytest.mark.parametrize("compression, syntax", [("rle", pydicom.uid.RLELossless),
                                                 ("jpeg2000", pydicom.uid.JPEG2000Lossless)])
def test_lossless_compression_keeps_pixels_exact(tmp_path, compression, syntax):
    original = phantom_set(tmp_path / "set", n=5, size=32, bit_depth=16)
    out = export(original.root, tmp_path / "out", compression=compression, progress=False).out
    stored = decode_all(original.root, original.rows, 32)
    for i, row in enumerate(manifest_rows(out)):
        ds = read_strict(out / row["path"])
        assert ds.file_meta.TransferSyntaxUID == syntax and ds.SOPInstanceUID == row["SOPInstanceUID"]
        np.testing.assert_array_equal(ds.pixel_array, stored[i])


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is absent: install the Debian package {package}")
    return path


def test_every_file_passes_dciodvfy_and_dcmdump(tmp_path, synthetic):
    dciodvfy, dcmdump = _tool("dciodvfy", "dicom3tools"), _tool("dcmdump", "dcmtk")
    original = phantom_set(tmp_path / "set16", n=5, size=16, bit_depth=16)
    folders = [export(synthetic.root, tmp_path / "out", progress=False).out,
               export(original.root, tmp_path / "out16", compression="rle", progress=False).out]
    for path in [p for folder in folders for p in sorted(folder.glob("images/*.dcm"))]:
        report = subprocess.run([dciodvfy, str(path)], capture_output=True, text=True, timeout=60)
        errors = [line for line in (report.stdout + report.stderr).splitlines() if line.startswith("Error")]
        # dicom3tools' dictionary predates SyntheticData (0008,001C, added to DICOM in 2022) and calls it an
        # unrecognised attribute; that is the only complaint accepted.
        assert all("(0x0008,0x001c)" in line for line in errors), (path, errors)
        dump = subprocess.run([dcmdump, str(path)], capture_output=True, text=True, timeout=60)
        assert dump.returncode == 0 and "DigitalXRayImageStorageForPresentation" in dump.stdout, dump.stderr


def test_pre_encoded_files_equal_pydicom_writing_the_whole_dataset(synthetic):
    import io

    from synthgen.export.codes import code_table
    from synthgen.export.dicom_writer import DicomWriter
    from synthgen.export.identities import plan_identities
    from synthgen.export.provenance import SetProvenance

    provenance = SetProvenance.of(synthetic)
    writer = DicomWriter(provenance, code_table(synthetic.classes + synthetic.findings), synthetic.findings,
                         synthetic.image_size)
    stored = decode_all(synthetic.root, synthetic.rows, synthetic.image_size)
    for pixels, row, identity in zip(stored, synthetic.rows, plan_identities(synthetic.rows, provenance)):
        buffer = io.BytesIO()
        pydicom.dcmwrite(buffer, writer.dataset(pixels, row, identity), enforce_file_format=True)
        assert writer.encode(pixels, row, identity) == buffer.getvalue()


def test_view_column_sets_view_position(tmp_path):
    from synthgen.imageset import ImageSetWriter

    with ImageSetWriter(tmp_path / "views", name="views", kind="synthetic", classes=["normal"], image_size=8,
                        extra_columns=("view",)) as writer:
        for i, view in enumerate(["PA", "ap", "LL"]):
            writer.add(np.full((8, 8), i, np.uint8), label="normal", patient_id="S", split="train", source="s",
                       extra={"view": view})
        writer.finish({"generator": "hand-made test set"})
    out = export(tmp_path / "views", tmp_path / "out", progress=False).out
    views = [pydicom.dcmread(out / row["path"]).get("ViewPosition") for row in manifest_rows(out)]
    assert views == ["PA", "AP", None]  # lateral views are left out: PatientOrientation is written as L\F
