"""No identifiers from names (issue 15): file and folder names of the input never reach an output.

Names planted in PNG, CSV and DICOM sources carry a DICOM UID, a date, a patient name and an
accession number; every byte of the prepared image set is searched for them. The salted hash ->
name map goes beside the set, named PRIVATE; `keep_source_names` opts back in for open sets.
"""

from __future__ import annotations

import copy
import csv
import re
from pathlib import Path

import pytest
import yaml

from synthgen.chest_phantom import phantom
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.imageset.pngio import decode_png
from synthgen.prepare import prepare
from synthgen.workflow import run
from tests.fixtures import dicom
from tests.fixtures.images import gradient_image, write_image
from tests.fixtures.workflow import TINY_RUN


UID = "1.2.840.113564.9.1.2020031920261398441"
DATE = "20200319"
NAME = "Jane_Doe"
ACCESSION = "ACC98765432"
PLANTED = (UID, "113564", DATE, NAME, ACCESSION)  # long enough not to occur by chance in base64
HASH = re.compile(r"^S[0-9a-f]{12}$")


def planted_path(i: int, suffix: str) -> str:
    """A folder named after the patient, accession and study date; a file named by UID and time."""
    return f"{NAME}_{ACCESSION}_{DATE}/CR.{UID}.{i}.{DATE}202613984410{suffix}"


def png_csv_source(root: Path) -> dict:
    rows = []
    for i in range(8):
        relative = planted_path(i, ".png")
        write_image(root / relative, gradient_image(i, 24, 24))
        rows.append({"path": relative, "label": "covid" if i % 2 else "normal", "patient": f"{NAME}-{i // 2}"})
    labels = dicom.write_csv(root / "metadata.csv", rows)
    return {"labels": labels, "patient_column": "patient"}


def class_folder_source(root: Path) -> dict:
    for i in range(8):
        write_image(root / ("covid" if i % 2 else "normal") / planted_path(i, ".png"), gradient_image(20 + i, 24, 24))
    return {}


def dicom_source(root: Path) -> dict:
    for i in range(6):
        dicom.write_image(
            root / ("covid" if i % 2 else "normal") / planted_path(i, ".dcm"), dicom.ramp(seed=i),
            PatientName="Doe^Jane", PatientID=f"{NAME}-{i}", AccessionNumber=ACCESSION, StudyDate=DATE)
    return {}


SOURCES = {"png+csv": png_csv_source, "class folders": class_folder_source, "dicom": dicom_source}


def planted_in(folder: Path) -> list[str]:
    """'file: token' for every planted token found in any file under `folder` (case ignored)."""
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        hits += [f"{path.relative_to(folder)}: {token}" for token in PLANTED if token.lower().encode() in data]
    return hits


@pytest.mark.parametrize("kind", SOURCES)
def test_prepared_set_holds_no_planted_identifier_and_the_private_map_does(kind, tmp_path):
    source = tmp_path / f"study_{DATE}_{ACCESSION}"  # the source folder's own name too
    options = SOURCES[kind](source)
    image_set = prepare(source, tmp_path / "out", size=16, salt="k", progress=False, **options)
    assert planted_in(tmp_path / "out") == []
    assert all(HASH.match(row["source"]) for row in image_set.rows)
    source_map = tmp_path / "out.PRIVATE-source-names.csv"
    with source_map.open() as handle:
        mapped = {row["image_id"]: row for row in csv.DictReader(handle)}
    for row in image_set.rows:  # the map leads from each image back to its file, and only the map does
        assert mapped[row["image_id"]]["source"] == row["source"]
        assert (source / mapped[row["image_id"]]["original_source"]).is_file()
    assert image_set.info["provenance"]["options"]["source_names"] == "salted-hash"


def test_source_hashes_are_stable_for_one_salt_and_differ_between_salts(tmp_path):
    source = tmp_path / "src"
    options = png_csv_source(source)
    first = prepare(source, tmp_path / "a", size=16, salt="k", progress=False, **options)
    again = prepare(source, tmp_path / "b", size=16, salt="k", progress=False, **options)
    other = prepare(source, tmp_path / "c", size=16, salt="other", progress=False, **options)
    assert [r["source"] for r in first.rows] == [r["source"] for r in again.rows]
    assert not {r["source"] for r in first.rows} & {r["source"] for r in other.rows}


def test_keep_source_names_keeps_paths_but_still_pseudonymizes_patients(tmp_path):
    source = tmp_path / "src"
    options = png_csv_source(source)
    image_set = prepare(source, tmp_path / "out", size=16, salt="k", keep_source_names=True, progress=False,
                        **options)
    assert sorted(row["source"] for row in image_set.rows) == sorted(planted_path(i, ".png") for i in range(8))
    assert not (tmp_path / "out.PRIVATE-source-names.csv").exists()
    assert all(row["patient_id"].startswith("P") and NAME not in row["patient_id"] for row in image_set.rows)


def test_source_map_inside_the_image_set_is_refused(tmp_path):
    source = tmp_path / "src"
    options = png_csv_source(source)
    with pytest.raises(SynthgenError, match="--source-map .* is inside the image set"):
        prepare(source, tmp_path / "out", size=16, salt="k", source_map=tmp_path / "out" / "map.csv",
                progress=False, **options)
    assert not (tmp_path / "out").exists()


def phantom_as_planted_pngs(root: Path) -> Path:
    """The 16² phantom written as PNG files under planted names, with a labels CSV."""
    images = phantom(root / "phantom", n=120, size=16, seed=0)
    rows = []
    for i, row in enumerate(images.rows):
        relative = planted_path(i, ".png")
        write_image(root / "src" / relative, decode_png(images.root / row["path"]))
        rows.append({"path": relative, "label": row["label"], "patient": f"{NAME}-{row['patient_id']}"})
    return dicom.write_csv(root / "src" / "metadata.csv", rows)


@pytest.mark.slow
def test_a_whole_run_from_planted_names_shows_them_nowhere(tmp_path):
    labels = phantom_as_planted_pngs(tmp_path)
    data = copy.deepcopy(TINY_RUN)
    data["prepare"] = {"source": str(tmp_path / "src"), "labels": str(labels), "patient_column": "patient",
                       "size": 16, "val_fraction": 0.2, "test_fraction": 0.3}
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    run(config, tmp_path / "runs" / "r", progress=False)
    assert (tmp_path / "runs" / "r" / "export" / "dicom").is_dir() and (tmp_path / "runs" / "r" / "validation").is_dir()
    assert planted_in(tmp_path / "runs" / "r") == []  # data, model, synthetic, audit, validation, exports
    assert planted_in(tmp_path / "runs") == [f"r.PRIVATE-source-names.csv: {t}" for t in PLANTED]
    assert len(ImageSet.open(tmp_path / "runs" / "r" / "data")) == 120
