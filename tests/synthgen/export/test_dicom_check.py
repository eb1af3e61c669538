"""The export's DICOM check: dciodvfy on a spread of exported files, counted and summarised in a line."""

from __future__ import annotations

import shutil

import pytest

from synthgen.export import export
from synthgen.export.dicom_check import check_dicom, dicom_check_text
from tests.fixtures.export import phantom_set, synthetic_set


def test_dicom_check_counts_files_dciodvfy_rejects(tmp_path):
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy is absent: install the Debian package dicom3tools")
    synthetic = synthetic_set(tmp_path / "synth", phantom_set(tmp_path / "train"))
    folder = export(synthetic.root, tmp_path / "dicom", progress=False).out
    files = sorted((folder / "images").glob("*.dcm"))
    assert check_dicom(folder, 3) == {"checked": 3, "failed": 0, "first_failures": [], "note": "dciodvfy"}
    files[0].write_bytes(files[0].read_bytes()[:300])  # truncated: header without pixel data
    result = check_dicom(folder, 3)
    assert result["failed"] == 1 and result["first_failures"][0].startswith(files[0].name)
    assert check_dicom(folder, 0)["checked"] == 0


def test_dicom_check_of_no_files_checks_nothing(tmp_path):
    assert check_dicom(tmp_path, 3) == {"checked": 0, "failed": 0, "note": "no files"}
    assert check_dicom(tmp_path, 0) == {"checked": 0, "failed": 0, "note": "not checked (export.check_dicom is 0)"}


def test_dicom_check_text_says_how_many_files_pass_or_why_none_were_checked():
    assert dicom_check_text(None) == "no DICOM exported"
    assert dicom_check_text({"checked": 0, "failed": 0, "note": "no files"}) == "no files"
    assert dicom_check_text({"checked": 3, "failed": 0, "first_failures": []}) == "3 of 3 checked files pass dciodvfy"
    failing = {"checked": 3, "failed": 1, "first_failures": ["000001.dcm: Error - missing PixelData"]}
    assert dicom_check_text(failing) == ("1 of 3 checked files FAIL dciodvfy "
                                         "(e.g. 000001.dcm: Error - missing PixelData)")
