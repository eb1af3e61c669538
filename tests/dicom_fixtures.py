"""Tiny DICOM files for the DICOM adapter tests, written with pydicom (Explicit VR Little Endian)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ComputedRadiographyImageStorage, ExplicitVRLittleEndian, generate_uid

# A UID root reserved for examples (pydicom's), so generated UIDs never collide with real ones.
UID_ROOT = "1.2.826.0.1.3680043.8.498."


def ramp(height: int = 32, width: int = 40, bits: int = 8, seed: int = 0, signed: bool = False) -> np.ndarray:
    """Random pixels spanning the whole range of `bits` stored bits (both ends included)."""
    rng = np.random.default_rng(seed)
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    values = rng.integers(low, high + 1, size=(height, width), dtype=np.int64)
    values.flat[0], values.flat[1] = low, high
    dtype = (np.int8 if signed else np.uint8) if bits <= 8 else (np.int16 if signed else np.uint16)
    return values.astype(dtype)


def make_dataset(
    pixels: np.ndarray | None,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    sop_class: str = ComputedRadiographyImageStorage,
    **attributes: object,
) -> Dataset:
    """A valid single-frame image dataset with file meta; `attributes` are set last (override anything)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid(UID_ROOT)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = generate_uid(UID_ROOT)
    ds.SeriesInstanceUID = generate_uid(UID_ROOT)
    ds.Modality = "CR" if sop_class == ComputedRadiographyImageStorage else "OT"
    ds.PatientID = "PAT-1"
    ds.PatientName = "Doe^Jane"
    if pixels is not None:
        pixels = np.asarray(pixels)
        samples = 3 if pixels.ndim == 3 and pixels.shape[-1] == 3 else 1
        ds.SamplesPerPixel = samples
        if samples == 3:
            ds.PlanarConfiguration = 0
        ds.PhotometricInterpretation = photometric
        ds.Rows, ds.Columns = pixels.shape[:2]
        ds.BitsAllocated = pixels.dtype.itemsize * 8
        ds.BitsStored = bits_stored or ds.BitsAllocated
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = int(pixels.dtype.kind == "i")
        ds.PixelData = pixels.tobytes()
    for name, value in attributes.items():
        setattr(ds, name, value)
    if "SOPInstanceUID" in attributes:
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def write_dicom(path: Path, ds: Dataset) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_image(path: Path, pixels: np.ndarray, **kwargs: object) -> Path:
    """Shorthand: `make_dataset(pixels, **kwargs)` written to `path`."""
    return write_dicom(path, make_dataset(pixels, **kwargs))


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


__all__ = ["UID_ROOT", "make_dataset", "ramp", "write_csv", "write_dicom", "write_image"]
