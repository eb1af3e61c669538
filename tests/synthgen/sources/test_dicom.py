"""The DICOM adapter: pixel pipeline, labels (folders / CSV by path / CSV by UID), rejections, no PHI out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless

from synthgen.errors import SynthgenError
from synthgen.sources import SourceOptions, open_source
from synthgen.sources.dicom import DicomSource
from tests.fixtures.dicom import make_dataset, ramp, write_csv, write_dicom, write_image
from tests.fixtures.paths import SHARED_DATA


SHARED_DICOM = SHARED_DATA / "dicom"
PYDICOM_DATA = Path(pydicom.__file__).resolve().parent.parent / "data_store" / "data"


def adapter_for(root: Path, **options: object) -> DicomSource:
    return DicomSource(root, SourceOptions(extra={"salt": "test-salt"}, **options))


def decode_one(tmp_path: Path, ds: Dataset) -> np.ndarray:
    write_dicom(tmp_path / "src" / "normal" / "a.dcm", ds)
    adapter = adapter_for(tmp_path / "src")
    return adapter.decode(adapter.checked_records()[0])


def records_then_decode(adapter: DicomSource) -> None:
    for record in adapter.checked_records():
        adapter.decode(record)


# --- pixel pipeline -------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [8, 16])
def test_monochrome2_without_rescale_or_window_comes_back_exactly(tmp_path, bits):
    pixels = ramp(bits=bits)
    out = decode_one(tmp_path, make_dataset(pixels))
    assert out.dtype == (np.uint8 if bits == 8 else np.uint16)
    np.testing.assert_array_equal(out, pixels)


def test_identity_rescale_keeps_pixels_exact(tmp_path):
    pixels = ramp(bits=16)
    out = decode_one(tmp_path, make_dataset(pixels, RescaleSlope=1, RescaleIntercept=0))
    np.testing.assert_array_equal(out, pixels)


@pytest.mark.parametrize("bits", [8, 16])
def test_monochrome1_is_inverted_so_dense_is_bright(tmp_path, bits):
    pixels = ramp(bits=bits)
    out = decode_one(tmp_path, make_dataset(pixels, photometric="MONOCHROME1"))
    top = 255 if bits == 8 else 65535
    np.testing.assert_array_equal(out.astype(np.int64), top - pixels.astype(np.int64))


def test_12_bit_stored_is_stretched_onto_16_bits(tmp_path):
    pixels = ramp(bits=12).astype(np.uint16)
    out = decode_one(tmp_path, make_dataset(pixels, bits_stored=12))
    assert out.dtype == np.uint16 and out.max() == 65535 and out.min() == 0
    np.testing.assert_array_equal(out, np.rint(pixels * (65535 / 4095)).astype(np.uint16))


def test_signed_pixels_map_from_their_signed_range(tmp_path):
    pixels = ramp(bits=16, signed=True)
    out = decode_one(tmp_path, make_dataset(pixels))
    np.testing.assert_array_equal(out, (pixels.astype(np.int64) + 32768).astype(np.uint16))


def test_rescale_slope_intercept_maps_the_rescaled_nominal_range(tmp_path):
    pixels = ramp(bits=12).astype(np.uint16)
    plain = decode_one(tmp_path / "a", make_dataset(pixels, bits_stored=12))
    rescaled = decode_one(tmp_path / "b", make_dataset(pixels, bits_stored=12, RescaleSlope=2, RescaleIntercept=-1000))
    np.testing.assert_array_equal(rescaled, plain)  # a linear rescale of the whole range changes nothing
    negative = decode_one(tmp_path / "c", make_dataset(pixels, bits_stored=12, RescaleSlope=-1, RescaleIntercept=0))
    np.testing.assert_array_equal(negative, 65535 - plain)  # higher rescaled values stay brighter


def test_window_center_width_is_applied_linearly(tmp_path):
    pixels = ramp(bits=16)
    center, width = 30000.0, 20000.0
    out = decode_one(tmp_path, make_dataset(pixels, WindowCenter=center, WindowWidth=width))
    # PS3.3 C.11.2.1.2.1 (LINEAR): 0 below the window, full scale above, linear between.
    np.testing.assert_allclose(out.astype(np.int64), _window_to_uint16(pixels, center, width), atol=1)
    assert (out[pixels < 20000] == 0).all() and (out[pixels > 40001] == 65535).all()


def test_window_on_monochrome1_is_inverted_after_windowing(tmp_path):
    pixels = ramp(bits=8)
    window = {"WindowCenter": 128, "WindowWidth": 256}
    mono2 = decode_one(tmp_path / "a", make_dataset(pixels, **window))
    mono1 = decode_one(tmp_path / "b", make_dataset(pixels, photometric="MONOCHROME1", **window))
    np.testing.assert_array_equal(mono1, 255 - mono2)


def test_voi_lut_sequence_output_is_mapped_from_the_lut_bit_depth(tmp_path):
    pixels = ramp(bits=12).astype(np.uint16)
    item = Dataset()
    item.add_new("LUTDescriptor", "US", [4096, 0, 8])
    item.add_new("LUTData", "US", [v // 16 for v in range(4096)])  # 12 -> 8 bits
    ds = make_dataset(pixels, bits_stored=12)
    ds.VOILUTSequence = [item]
    out = decode_one(tmp_path, ds)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, (pixels // 16) * 257)


def test_rle_compressed_file_decodes_like_the_uncompressed_one(tmp_path):
    pixels = ramp(bits=16, seed=3)
    ds = make_dataset(pixels)
    ds.compress(RLELossless)
    assert ds.file_meta.TransferSyntaxUID == RLELossless
    np.testing.assert_array_equal(decode_one(tmp_path, ds), pixels)


def test_file_without_file_meta_is_read_with_its_encoding(tmp_path):
    pixels = ramp(bits=16)
    ds = make_dataset(pixels)
    del ds.file_meta
    path = tmp_path / "src" / "normal" / "raw.dcm"
    path.parent.mkdir(parents=True)
    ds.save_as(path, implicit_vr=True, little_endian=True)
    adapter = adapter_for(tmp_path / "src")
    np.testing.assert_array_equal(adapter.decode(adapter.checked_records()[0]), pixels)


# --- file discovery and labels --------------------------------------------------------------------


def test_class_subfolders_label_the_files_and_non_dicom_files_are_ignored(tmp_path):
    root = tmp_path / "src"
    write_image(root / "NORMAL" / "a.dcm", ramp(), PatientID="p1")
    write_image(root / "Pleural Effusion" / "study" / "b.dcm", ramp(seed=1), PatientID="p2")
    write_image(root / "NORMAL" / "IM0001", ramp(seed=2), PatientID="p3")  # no suffix: found by preamble
    write_image(root / "NORMAL" / ".hidden.dcm", ramp())
    (root / "NORMAL" / "notes.txt").write_text("not an image")
    (root / "NORMAL" / "other").write_bytes(b"\0" * 200)
    adapter = open_source(root, SourceOptions())
    assert isinstance(adapter, DicomSource)
    records = adapter.checked_records()
    assert adapter.classes == ["normal", "pleural_effusion"]
    assert [(r.source, r.label, r.patient_key) for r in records] == [
        ("NORMAL/IM0001", "normal", "p3"), ("NORMAL/a.dcm", "normal", "p1"),
        ("Pleural Effusion/study/b.dcm", "pleural_effusion", "p2"),
    ]
    assert adapter.provenance()["files"] == 3


def test_detect_needs_a_dicom_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("text")
    assert not DicomSource.detect(tmp_path, SourceOptions())
    write_image(tmp_path / "a" / "deep" / "y.dcm", ramp())
    assert DicomSource.detect(tmp_path, SourceOptions())


def test_dicom_files_directly_in_the_root_need_a_labels_csv(tmp_path):
    write_image(tmp_path / "a.dcm", ramp())
    with pytest.raises(SynthgenError, match=r"a\.dcm.*--labels"):
        adapter_for(tmp_path).checked_records()


def test_csv_keyed_by_path_with_findings_and_header_patients(tmp_path, caplog):
    root = tmp_path / "src"
    write_image(root / "img" / "1.dcm", ramp(), PatientID="pat-A")
    write_image(root / "img" / "2.dcm", ramp(seed=1), PatientID="", PatientName="Roe^Richard")
    write_image(root / "img" / "3.dcm", ramp(seed=2), PatientID="", PatientName="", StudyInstanceUID="1.2.3.4")
    write_image(root / "img" / "unlisted.dcm", ramp(seed=3))
    labels = write_csv(tmp_path / "labels.csv", [
        {"path": "img/1.dcm", "label": "Abnormal", "findings": "Effusion|Mass"},
        {"path": "./img/2.dcm", "label": "normal", "findings": "No Finding"},
        {"path": "img/3.dcm", "label": "abnormal", "findings": "Mass"},
    ])
    adapter = adapter_for(root, labels_csv=labels, findings_column="findings")
    records = adapter.checked_records()
    assert [r.label for r in records] == ["abnormal", "normal", "abnormal"]
    assert [r.findings for r in records] == [{"effusion", "mass"}, set(), {"mass"}]
    assert [r.patient_key for r in records] == ["pat-A", "Roe^Richard", "1.2.3.4"]
    assert adapter.classes == ["abnormal", "normal"] and adapter.findings == ["effusion", "mass"]
    assert "1 DICOM files" in caplog.text and "not in" in caplog.text
    assert len(adapter.provenance()["labels_csv"]["sha256"]) == 64


def test_csv_patient_column_overrides_the_header(tmp_path):
    root = tmp_path / "src"
    write_image(root / "1.dcm", ramp(), PatientID="header-id")
    labels = write_csv(tmp_path / "labels.csv", [{"path": "1.dcm", "label": "a", "pid": "csv-id"}])
    assert adapter_for(root, labels_csv=labels, patient_column="pid").checked_records()[0].patient_key == "csv-id"


def test_csv_keyed_by_sop_instance_uid(tmp_path):
    root = tmp_path / "src"
    uids = ["1.2.826.0.1.3680043.8.498.1001", "1.2.826.0.1.3680043.8.498.1002"]
    for i, uid in enumerate(uids):
        write_image(root / "x" / f"file{i}.dcm", ramp(seed=i), SOPInstanceUID=uid)
    labels = write_csv(tmp_path / "labels.csv", [
        {"uid": uids[1], "label": "b"}, {"uid": uids[0], "label": "a"},
    ])
    records = adapter_for(root, labels_csv=labels, uid_column="uid").checked_records()
    assert {r.ref.name: r.label for r in records} == {"file0.dcm": "a", "file1.dcm": "b"}
    labels = write_csv(tmp_path / "bad.csv", [{"uid": "1.2.3.999", "label": "a"}])
    with pytest.raises(SynthgenError, match="line 2.*SOPInstanceUID 1.2.3.999"):
        adapter_for(root, labels_csv=labels, uid_column="uid").checked_records()


def test_csv_row_for_a_missing_file_names_line_and_file(tmp_path):
    root = tmp_path / "src"
    write_image(root / "a.dcm", ramp())
    labels = write_csv(tmp_path / "labels.csv", [{"path": "a.dcm", "label": "x"}, {"path": "gone.dcm", "label": "x"}])
    with pytest.raises(SynthgenError, match=r"labels\.csv line 3: file .*gone\.dcm does not exist"):
        adapter_for(root, labels_csv=labels).checked_records()


def test_unknown_label_with_classes_given_is_an_error(tmp_path):
    write_image(tmp_path / "normal" / "a.dcm", ramp())
    write_image(tmp_path / "tumour" / "b.dcm", ramp())
    with pytest.raises(SynthgenError, match="class value 'tumour' is not in --classes"):
        adapter_for(tmp_path, classes=("normal",)).checked_records()


# --- rejections -----------------------------------------------------------------------------------


def _multi_frame() -> Dataset:
    ds = make_dataset(np.zeros((2, 32, 40), np.uint8).reshape(64, 40))
    ds.Rows, ds.NumberOfFrames = 32, 2
    return ds


def _no_pixels() -> Dataset:
    return make_dataset(None, sop_class="1.2.840.10008.5.1.4.1.1.88.11")  # Basic Text SR


@pytest.mark.parametrize("build, message", [
    (_multi_frame, "multi-frame"),
    (lambda: make_dataset(np.zeros((32, 40, 3), np.uint8), photometric="RGB"), "colour images are not supported"),
    (lambda: make_dataset(ramp(), photometric="YBR_FULL"), "colour images are not supported"),
    (lambda: make_dataset(ramp(), photometric="PALETTE COLOR"), "unsupported photometric interpretation PALETTE COLOR"),
    (_no_pixels, "has no pixel data: not an image object"),
])
def test_non_radiograph_objects_are_rejected_when_listing(tmp_path, build, message):
    write_dicom(tmp_path / "c" / "bad.dcm", build())
    with pytest.raises(SynthgenError, match=rf"bad\.dcm.*{message}"):
        adapter_for(tmp_path).checked_records()


@pytest.mark.filterwarnings("ignore:End of file reached")
@pytest.mark.parametrize("compressed", [False, True])
def test_truncated_file_fails_at_prepare_time_naming_the_file(tmp_path, compressed):
    ds = make_dataset(ramp(64, 64, bits=16, seed=5))
    if compressed:
        ds.compress(RLELossless)
    path = write_dicom(tmp_path / "c" / "cut.dcm", ds)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(SynthgenError, match=r"cut\.dcm.*truncated"):
        records_then_decode(adapter_for(tmp_path))


def test_dcm_file_that_is_not_dicom_is_an_error(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "junk.dcm").write_bytes(b"this is no DICOM file at all")
    with pytest.raises(SynthgenError, match=r"junk\.dcm"):
        records_then_decode(adapter_for(tmp_path))


def test_missing_decoder_plugin_names_the_package(tmp_path, monkeypatch):
    class NoPlugin:
        is_available = False
        missing_dependencies = ["pylibjpeg - requires pylibjpeg>=2.0 and pylibjpeg-openjpeg>=2.0"]

    write_image(tmp_path / "c" / "a.dcm", ramp())
    monkeypatch.setattr("synthgen.sources.dicom_pixels.get_decoder", lambda uid: NoPlugin())
    with pytest.raises(SynthgenError, match=r"a\.dcm.*decoder plugin.*pylibjpeg-openjpeg"):
        adapter_for(tmp_path).checked_records()


# --- no identifiers out ---------------------------------------------------------------------------

MARKER_UIDS = {
    "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.99999111222333",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.8.498.99999111222444",
    "SOPInstanceUID": "1.2.826.0.1.3680043.8.498.99999111222555",
}
MARKERS = {
    "PatientName": "MARKERNAME42^MARKERGIVEN42", "PatientID": "MARKERID42", "OtherPatientIDs": "MARKEROTHER42",
    "PatientBirthDate": "19370913", "StudyDate": "20130517", "AccessionNumber": "MARKERACC42",
    "InstitutionName": "MARKERINST42", "ReferringPhysicianName": "MARKERDOC42", **MARKER_UIDS,
}
MARKER_STRINGS = ["MARKER", "19370913", "20130517", "99999111222"]


def phi_source(root: Path) -> Path:
    """Two classes of three patients; one file full of markers, stored under its PatientID and UIDs."""
    sop = MARKER_UIDS["SOPInstanceUID"]
    write_image(root / "normal" / "MARKERID42" / "20130517" / f"{sop}.dcm", ramp(seed=9), **MARKERS)
    for i in range(5):
        write_image(root / ("normal" if i < 2 else "abnormal") / f"img{i}.dcm", ramp(seed=i), PatientID=f"p{i}")
    return root


def test_records_and_provenance_carry_no_header_identifier(tmp_path):
    adapter = adapter_for(phi_source(tmp_path / "src"))
    records = adapter.checked_records()
    marked = next(r for r in records if r.patient_key == "MARKERID42")
    assert marked.source.startswith("normal/P") and marked.source.endswith(".dcm")
    text = repr([(r.source, r.label, sorted(r.findings)) for r in records]) + repr(adapter.provenance())
    for marker in MARKER_STRINGS:
        assert marker.lower() not in text.lower(), marker
    assert "1.2.826" not in repr(adapter.provenance())


def test_path_pseudonyms_are_stable_for_one_salt(tmp_path):
    root = phi_source(tmp_path / "src")
    first, second = adapter_for(root).checked_records(), adapter_for(root).checked_records()
    assert [r.source for r in first] == [r.source for r in second]


def test_prepare_output_holds_no_identifier_bytes(tmp_path):
    prepare = pytest.importorskip("synthgen.prepare").prepare
    out = tmp_path / "set"
    prepare(phi_source(tmp_path / "src"), out, size=16, salt="s", progress=False)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".png" for p in files)
    for path in files:
        data = path.read_bytes().lower()
        for marker in [*MARKER_STRINGS, "MARKERID42", "1.2.826.0.1.3680043"]:
            assert marker.lower().encode() not in data, (marker, path)


# --- real files -----------------------------------------------------------------------------------


def _window_to_uint16(stored: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 LINEAR window onto the full uint16 range."""
    fraction = np.clip((stored - (center - 0.5)) / (width - 1) + 0.5, 0, 1)
    return np.rint(fraction * 65535).astype(np.uint16)


def test_pydicom_data_radiograph_uncompressed_and_jpeg2000_decode_identically(tmp_path):
    names = ("RG1_UNCR.dcm", "RG1_J2KR.dcm")
    if not all((PYDICOM_DATA / n).is_file() for n in names):
        pytest.skip(f"pydicom-data test files are not installed ({PYDICOM_DATA})")
    root = tmp_path / "src"
    for name in names:
        (root / name.split("_")[1].removesuffix(".dcm")).mkdir(parents=True)
        (root / name.split("_")[1].removesuffix(".dcm") / name).symlink_to(PYDICOM_DATA / name)
    adapter = adapter_for(root)
    records = adapter.checked_records()
    raw, j2k = (adapter.decode(r) for r in sorted(records, key=lambda r: r.label != "uncr"))
    assert raw.dtype == np.uint16 and raw.shape == (1955, 1841)
    np.testing.assert_array_equal(raw, j2k)
    ds = pydicom.dcmread(PYDICOM_DATA / names[0])  # MONOCHROME1, 15 bits, window 15000/30000
    expected = 65535 - _window_to_uint16(ds.pixel_array.astype(np.float64), 15000, 30000)
    np.testing.assert_allclose(raw.astype(np.int64), expected.astype(np.int64), atol=1)


@pytest.mark.shared_data
def test_shared_monochrome1_copy_decodes_to_the_inverse(tmp_path):
    names = ("1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm", "Fake_MONOHR1.dcm")
    if not all((SHARED_DICOM / n).is_file() for n in names):
        pytest.skip(f"{SHARED_DICOM} is absent: integration tests need ../shared/data beside the repository")
    labels = write_csv(tmp_path / "labels.csv", [{"path": n, "label": "chest"} for n in names])
    adapter = adapter_for(SHARED_DICOM, labels_csv=labels)
    mono2, mono1 = (adapter.decode(r) for r in adapter.checked_records())
    assert mono2.shape == mono1.shape == (1024, 1024) and mono2.dtype == mono1.dtype == np.uint8
    assert (mono2.astype(np.int64) + mono1 == 255).all()
    assert "1.2.276" not in repr(adapter.checked_records()[0].source)
