"""The npz, class-folder and folder+CSV adapters map their sources onto shared records."""

import numpy as np
import pytest

from synthgen.errors import SynthgenError
from synthgen.sources import SourceOptions, open_source
from synthgen.sources.class_folders import ClassFolderSource
from synthgen.sources.csv_table import CsvTableSource
from synthgen.sources.npz import NpzSource
from tests.fixtures.images import gradient_image, write_image


def test_npz_source_reads_splits_and_medmnist_class_names(npz_source):
    adapter = open_source(npz_source, SourceOptions())
    assert isinstance(adapter, NpzSource)
    records = adapter.checked_records()
    assert adapter.classes == ["normal", "pneumonia"]
    assert [r.split for r in records].count("train") == 12 and [r.split for r in records].count("val") == 4
    assert records[1].label == "pneumonia" and records[1].source == "pneumoniamnist.npz#train/1"
    assert adapter.decode(records[0]).shape == (28, 28)


def test_npz_label_outside_the_named_classes_is_an_error(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, train_images=np.zeros((3, 8, 8), np.uint8), train_labels=np.array([0, 1, 5]))
    with pytest.raises(SynthgenError, match="unknown label value 5.*--classes names only 2"):
        NpzSource(path, SourceOptions(classes=("a", "b"))).checked_records()


def test_npz_multi_label_rows_become_findings(tmp_path):
    path = tmp_path / "chestmnist.npz"
    labels = np.array([[0, 0, 0], [1, 0, 1], [0, 1, 0]], np.uint8)
    np.savez(path, test_images=np.zeros((3, 8, 8), np.uint8), test_labels=labels)
    adapter = NpzSource(path, SourceOptions(findings=("mass", "nodule", "edema")))
    records = adapter.checked_records()
    assert adapter.findings == ["mass", "nodule", "edema"] and adapter.classes == ["normal", "abnormal"]
    assert records[1].findings == {"mass", "edema"} and records[0].label == "normal"


def test_npz_without_image_arrays_is_an_error(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(SynthgenError, match="no train_images"):
        NpzSource(path, SourceOptions()).checked_records()


def test_class_folders_use_folder_names_and_patient_pattern(class_folders):
    adapter = open_source(class_folders, SourceOptions(patient_pattern=r"^(pat\d+)_"))
    assert isinstance(adapter, ClassFolderSource)
    records = adapter.checked_records()
    assert adapter.classes == ["normal", "pneumonia"] and len(records) == 12
    assert records[0].patient_key == "pat00" and records[0].source == "NORMAL/pat00_img0.jpeg"
    assert adapter.decode(records[0]).dtype == np.uint8


def test_class_folders_under_split_folders_keep_the_split(tmp_path):
    for split in ("train", "test"):
        for name in ("a", "b"):
            write_image(tmp_path / split / name / f"{split}{name}.png", gradient_image(1))
    records = ClassFolderSource(tmp_path, SourceOptions()).checked_records()
    assert sorted((r.split, r.label) for r in records) == [("test", "a"), ("test", "b"), ("train", "a"), ("train", "b")]


def test_empty_class_folder_is_an_error(class_folders):
    (class_folders / "EMPTY").mkdir()
    with pytest.raises(SynthgenError, match="class folder .*EMPTY has no images"):
        ClassFolderSource(class_folders, SourceOptions()).checked_records()


def test_csv_source_reads_patients_and_multi_label_findings(csv_source):
    root, labels = csv_source
    options = SourceOptions(labels_csv=labels, patient_column="patient_id", findings_column="finding_labels")
    adapter = open_source(root, options)
    assert isinstance(adapter, CsvTableSource)
    records = adapter.checked_records()
    assert adapter.classes == ["abnormal", "normal"] and adapter.findings == ["effusion", "mass"]
    assert records[2].findings == {"effusion", "mass"} and records[0].findings == frozenset()
    assert records[3].patient_key == "PATIENT-RAW-1"


def test_csv_missing_column_names_the_column_and_option(csv_source):
    root, labels = csv_source
    with pytest.raises(SynthgenError, match="no column 'pid'.*--\\*-column"):
        CsvTableSource(root, SourceOptions(labels_csv=labels, patient_column="pid")).checked_records()


def test_csv_row_for_a_missing_file_names_the_line(csv_source):
    root, labels = csv_source
    (root / "img/003.png").unlink()
    with pytest.raises(SynthgenError, match="labels.csv line 5: image .*003.png does not exist"):
        CsvTableSource(root, SourceOptions(labels_csv=labels)).checked_records()


def test_csv_unknown_label_is_an_error_when_classes_are_given(csv_source):
    root, labels = csv_source
    expected = "6 rows have problems.*unknown-class: 6 rows, first .*class value 'abnormal' is not in --classes"
    with pytest.raises(SynthgenError, match=expected):
        CsvTableSource(root, SourceOptions(labels_csv=labels, classes=("normal", "pneumonia"))).checked_records()


def test_requested_class_with_zero_images_is_an_error(csv_source):
    root, labels = csv_source
    with pytest.raises(SynthgenError, match="'pneumonia' have zero images"):
        CsvTableSource(root, SourceOptions(labels_csv=labels, classes=("normal", "abnormal", "pneumonia"))).checked_records()


def test_colour_image_is_rejected(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200
    write_image(tmp_path / "a" / "x.png", rgb)
    adapter = ClassFolderSource(tmp_path, SourceOptions())
    with pytest.raises(SynthgenError, match="x.png is a colour image"):
        adapter.decode(adapter.checked_records()[0])


def test_sixteen_bit_png_decodes_as_uint16(tmp_path):
    write_image(tmp_path / "a" / "x.png", gradient_image(2, dtype=np.uint16))
    adapter = ClassFolderSource(tmp_path, SourceOptions())
    pixels = adapter.decode(adapter.checked_records()[0])
    assert pixels.dtype == np.uint16 and np.array_equal(pixels, gradient_image(2, dtype=np.uint16))
