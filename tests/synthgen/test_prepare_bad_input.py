"""Every bad input: one line naming the file or field and the fix, exit 2, no partial output.

| case                                   | expected message fragment             |
|----------------------------------------|----------------------------------------|
| missing source path                    | does not exist                         |
| empty source folder                    | is empty                               |
| truncated / unreadable image           | truncated or corrupt                   |
| CSV missing a column                   | has no column                          |
| CSV row pointing at a missing file     | line N: image ... does not exist       |
| unknown label value                    | is not in --classes                    |
| class with zero images                 | have zero images                       |
| --size <= 0                            | --size must be                         |
| output exists and is not empty         | --overwrite                            |
| unwritable output                      | cannot write output                    |
| DICOM cases                            | see tests/synthgen/sources/test_dicom.py         |
| several bad rows (missing, unlabelled,…) | N rows have problems: tests/synthgen/test_prepare_dirty_tables.py |
| --drop with an unknown kind            | --drop X is not one of                 |
| --source-map inside the image set      | is inside the image set                |
| crafted pickle as weights/checkpoint   | not a synthgen checkpoint: tests/synthgen/model/test_untrusted_files.py |
"""

import pytest
from tests.fixtures.cli import assert_clean_error, run_cli



def no_partial_output(tmp_path):
    return not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))


def test_missing_source_path(tmp_path, capsys):
    code, _, err = run_cli(["prepare", tmp_path / "nope", "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "nope", "does not exist")
    assert no_partial_output(tmp_path)


def test_empty_source_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(["prepare", tmp_path / "empty", "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "empty", "is empty")
    assert no_partial_output(tmp_path)


def test_truncated_image(class_folders, tmp_path, capsys):
    victim = class_folders / "NORMAL" / "pat01_img0.jpeg"
    victim.write_bytes(victim.read_bytes()[:200])
    code, _, err = run_cli(["prepare", class_folders, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "pat01_img0.jpeg", "truncated or corrupt")
    assert no_partial_output(tmp_path)


def test_not_an_image_file(class_folders, tmp_path, capsys):
    (class_folders / "NORMAL" / "fake.png").write_text("hello")
    code, _, err = run_cli(["prepare", class_folders, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "fake.png", "not a readable image")


def test_csv_missing_a_column(csv_source, tmp_path, capsys):
    root, labels = csv_source
    code, _, err = run_cli(["prepare", root, "--labels", labels, "--label-column", "diagnosis",
                            "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "labels.csv", "'diagnosis'", "--*-column")
    assert no_partial_output(tmp_path)


def test_csv_row_pointing_at_a_missing_file(csv_source, tmp_path, capsys):
    root, labels = csv_source
    (root / "img" / "005.png").unlink()
    code, _, err = run_cli(["prepare", root, "--labels", labels, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "line 7", "005.png", "does not exist")


def test_unknown_label_value(csv_source, tmp_path, capsys):
    root, labels = csv_source
    code, _, err = run_cli(["prepare", root, "--labels", labels, "--classes", "normal,pneumonia",
                            "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "'abnormal'", "--classes")


def test_class_with_zero_images(class_folders, tmp_path, capsys):
    code, _, err = run_cli(["prepare", class_folders, "--classes", "normal,pneumonia,effusion",
                            "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "'effusion'", "zero images")


@pytest.mark.parametrize("size", ["0", "-3"])
def test_size_not_positive(class_folders, tmp_path, capsys, size):
    code, _, err = run_cli(["prepare", class_folders, "--size", size, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "--size must be")
    assert no_partial_output(tmp_path)


def test_output_folder_exists_and_is_not_empty(class_folders, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("keep me")
    code, _, err = run_cli(["prepare", class_folders, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "out", "not empty", "--overwrite")
    assert (tmp_path / "out" / "precious.txt").read_text() == "keep me"


def test_unwritable_output(class_folders, capsys):
    code, _, err = run_cli(["prepare", class_folders, "--out", "/proc/synthgen-test/out"], capsys)
    assert_clean_error(code, err, "/proc/synthgen-test/out", "cannot")


def test_output_under_a_file(class_folders, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    code, _, err = run_cli(["prepare", class_folders, "--out", tmp_path / "afile" / "out"], capsys)
    assert_clean_error(code, err, "afile", "is a file")


def test_bad_fraction(class_folders, tmp_path, capsys):
    code, _, err = run_cli(["prepare", class_folders, "--val-fraction", "0.6", "--test-fraction", "0.5",
                            "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "--val-fraction + --test-fraction")


def test_verify_of_a_missing_set(tmp_path, capsys):
    code, _, err = run_cli(["verify", tmp_path / "nothing"], capsys)
    assert_clean_error(code, err, "nothing", "does not exist")
