"""Dirty label tables (issue 15): every row problem reported at once, or dropped on request and counted.

The fixture is laid out like the public COVID-19 collection: `metadata.csv` with `patientid`,
`finding` and `imagename`; RGB PNGs; some listed images absent; some findings empty.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from synthgen.errors import SynthgenError
from synthgen.prepare import prepare
from synthgen.workflow import load_run_config
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.images import gradient_image, write_image


COLUMNS = ["patientid", "offset", "sex", "finding", "imagename"]
FINDINGS = ["COVID-19", "No finding", "no  Finding", "Pneumonia", "NO FINDING ", "covid-19"]


def rgb(seed: int) -> np.ndarray:
    grey = gradient_image(seed, 40, 48)
    return np.repeat(grey[..., None], 3, axis=-1)  # grey stored as RGB, as in the collection


@pytest.fixture
def covid_collection(tmp_path: Path) -> tuple[Path, Path]:
    """18 good rows (6 patients), plus 2 missing images, 2 empty findings, 1 repeated row,
    1 copy of another image, 1 truncated PNG and 1 finding outside the classes used below."""
    root = tmp_path / "covid"
    rows = []
    for i in range(18):
        name = f"img{i:02d}.png"
        write_image(root / "images" / name, rgb(i))
        rows.append({"patientid": f"{i // 3}", "offset": "0", "sex": "M", "finding": FINDINGS[i % 6],
                     "imagename": name})
    rows.append({"patientid": "20", "offset": "", "sex": "F", "finding": "COVID-19", "imagename": "gone1.png"})
    rows.append({"patientid": "21", "offset": "", "sex": "F", "finding": "No finding", "imagename": "gone2.png"})
    for n in (1, 2):
        write_image(root / "images" / f"unlabelled{n}.png", rgb(100 + n))
        rows.append({"patientid": f"3{n}", "offset": "", "sex": "F", "finding": "", "imagename": f"unlabelled{n}.png"})
    rows.append(dict(rows[0]))  # the same image listed twice
    (root / "images" / "copy.png").write_bytes((root / "images" / "img05.png").read_bytes())
    rows.append({"patientid": "40", "offset": "", "sex": "M", "finding": "COVID-19", "imagename": "copy.png"})
    (root / "images" / "broken.png").write_bytes((root / "images" / "img07.png").read_bytes()[:60])
    rows.append({"patientid": "41", "offset": "", "sex": "M", "finding": "COVID-19", "imagename": "broken.png"})
    write_image(root / "images" / "odd.png", rgb(200))
    rows.append({"patientid": "42", "offset": "", "sex": "M", "finding": "Tuberculosis", "imagename": "odd.png"})
    metadata = root / "metadata.csv"
    with metadata.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return root / "images", metadata


def prepare_args(images: Path, metadata: Path, out: Path, *extra: str) -> list:
    return ["prepare", images, "--labels", metadata, "--path-column", "imagename", "--label-column", "finding",
            "--patient-column", "patientid", "--classes", "covid-19,no_finding,pneumonia", "--size", "16",
            "--salt", "k", "--out", out, *extra]


def test_prepare_reports_every_kind_of_row_problem_at_once_and_writes_nothing(covid_collection, tmp_path, capsys):
    images, metadata = covid_collection
    code, _, err = run_cli(prepare_args(images, metadata, tmp_path / "out"), capsys)
    assert_clean_error(code, err, "8 rows have problems, nothing written",
                       "missing-file: 2 rows", "gone1.png does not exist", "(also metadata.csv line 21)",
                       "empty-label: 2 rows", "column 'finding' is empty",
                       "unknown-class: 1 row", "'tuberculosis' is not in --classes",
                       "duplicate-row: 1 row", "'img00.png' appears twice",
                       "duplicate-image: 1 row", "copy.png has the same pixels as img05.png",
                       "unreadable-image: 1 row", "broken.png",
                       "--drop missing-file,empty-label,unknown-class,duplicate-row,duplicate-image,unreadable-image")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["covid"]  # no set, no staging folder, no map


def test_drop_prepares_the_rest_and_counts_what_was_dropped_and_why(covid_collection, tmp_path, capsys):
    images, metadata = covid_collection
    drop = "missing-file,empty-label,unknown-class,duplicate-row,duplicate-image,unreadable-image"
    code, out, err = run_cli(prepare_args(images, metadata, tmp_path / "out", "--drop", drop), capsys)
    assert code == 0, err
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert info["counts"]["images"] == 18 and info["counts"]["patients"] == 6
    assert info["provenance"]["dropped"] == {"missing-file": 2, "empty-label": 2, "unknown-class": 1,
                                             "duplicate-row": 1, "duplicate-image": 1, "unreadable-image": 1}
    assert info["counts"]["by_class"] == {"covid_19": 6, "no_finding": 9, "pneumonia": 3}
    assert ("dropped rows: 2 missing-file, 2 empty-label, 1 unknown-class, 1 duplicate-row, 1 duplicate-image, "
            "1 unreadable-image") in " ".join(out.split())
    shown = " ".join(out.split())
    assert "labels matched: 'COVID-19' -> covid_19, 'NO FINDING' -> no_finding, 'No finding' -> no_finding" in shown
    assert "tuberculosis" not in shown.lower()


def test_only_the_kinds_not_dropped_stop_prepare(covid_collection, tmp_path):
    images, metadata = covid_collection
    with pytest.raises(SynthgenError) as caught:
        prepare(images, tmp_path / "out", labels=metadata, path_column="imagename", label_column="finding",
                patient_column="patientid", size=16, salt="k", progress=False,
                drop=["missing-file", "empty-label", "duplicate-row", "duplicate-image"])
    message = str(caught.value)
    assert "unreadable-image: 1 row" in message and "missing-file" not in message.split("pass")[0]
    assert "--drop unreadable-image" in message and not (tmp_path / "out").exists()


def test_label_values_match_classes_ignoring_case_and_spacing(covid_collection, tmp_path):
    images, metadata = covid_collection
    image_set = prepare(images, tmp_path / "out", labels=metadata, path_column="imagename", label_column="finding",
                        patient_column="patientid", size=16, salt="k", progress=False,
                        classes=["COVID-19", "No Finding", "Pneumonia", "tuberculosis"], drop=[
                            "missing-file", "empty-label", "duplicate-row", "duplicate-image", "unreadable-image"])
    assert image_set.classes == ["covid_19", "no_finding", "pneumonia", "tuberculosis"]
    assert image_set.info["provenance"]["label_mapping"] == {
        "COVID-19": "covid_19", "NO FINDING": "no_finding", "No finding": "no_finding", "Pneumonia": "pneumonia",
        "Tuberculosis": "tuberculosis", "covid-19": "covid_19", "no  Finding": "no_finding"}


def test_unknown_drop_kind_is_a_clean_error(covid_collection, tmp_path, capsys):
    images, metadata = covid_collection
    code, _, err = run_cli(prepare_args(images, metadata, tmp_path / "out", "--drop", "missing,empty-label"), capsys)
    assert_clean_error(code, err, "--drop missing is not one of", "missing-file")


def test_run_config_prepare_section_takes_the_same_options(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("prepare: {source: covid/images, labels: covid/metadata.csv, drop: [missing-file, empty-label], "
                      "keep_source_names: false, source_map: keep/map.csv}\n")
    prepare_config = load_run_config(config).prepare
    assert prepare_config.drop == ("missing-file", "empty-label")
    options = prepare_config.prepare_options()
    assert options.drop == ("missing-file", "empty-label") and options.source_map == "keep/map.csv"
    config.write_text("prepare: {source: covid/images, drop: [missing]}\n")
    with pytest.raises(SynthgenError, match="prepare.*drop missing is not one of missing-file"):
        load_run_config(config)


def test_new_prepare_options_leave_the_stage_hash_of_older_configs_unchanged(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("prepare: {source: covid/images}\n")
    section = load_run_config(config).section("prepare")
    assert not {"drop", "keep_source_names", "source_map"} & set(section)
    config.write_text("prepare: {source: covid/images, drop: [empty-label]}\n")
    assert load_run_config(config).section("prepare")["drop"] == ["empty-label"]
