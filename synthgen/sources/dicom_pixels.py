"""DICOM pixel pipeline: stored values -> modality LUT -> VOI window/LUT -> uint8/uint16, bright = dense;
and, before any pixel is read, whether this installation can decode the file's transfer syntax.

The output range is mapped linearly from the range the last applied stage can produce (not from the
image's own min/max), so an unsigned MONOCHROME2 image without rescale or window comes back exactly
and images of one series keep comparable grey levels.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut, get_decoder
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from synthgen.dicom_private import DEPTH_ELEMENT, PRIVATE_CREATOR, PRIVATE_GROUP
from synthgen.errors import SynthgenError
from synthgen.pixels import max_value, rescale_to_dtype

log = logging.getLogger(__name__)

MONOCHROME = ("MONOCHROME1", "MONOCHROME2")


def synthgen_depth(ds: Dataset) -> int | None:
    """The bit depth (8 or 16) synthgen's exporter recorded for these pixels, else None."""
    try:
        element = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)[DEPTH_ELEMENT]
    except KeyError:
        return None
    return int(element.value) if element.value in (8, 16) else None


def output_dtype(ds: Dataset) -> np.dtype:
    """uint8 for up to 8 stored bits or a synthgen export of an 8-bit set, uint16 otherwise."""
    narrow = int(ds.BitsStored) <= 8 or synthgen_depth(ds) == 8
    return np.dtype(np.uint8 if narrow else np.uint16)


def stored_range(ds: Dataset) -> tuple[float, float]:
    """The nominal range of the stored values: BitsStored wide, signed when PixelRepresentation is 1."""
    bits = int(ds.BitsStored)
    if int(ds.get("PixelRepresentation", 0)) == 1:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _rescaled(ds: Dataset, low: float, high: float) -> tuple[float, float]:
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        return low * slope + intercept, high * slope + intercept
    return low, high


def _lut_range(item: Dataset) -> tuple[float, float]:
    return 0, 2 ** int(item.LUTDescriptor[2]) - 1


def modality_range(ds: Dataset) -> tuple[float, float]:
    """Range after `apply_modality_lut`: the LUT's entry range, else the stored range rescaled."""
    if ds.get("ModalityLUTSequence"):
        return _lut_range(ds.ModalityLUTSequence[0])
    return _rescaled(ds, *stored_range(ds))


def window_range(ds: Dataset) -> tuple[float, float]:
    """The output range pydicom's `apply_windowing` maps a window onto (y_min, y_max in its source)."""
    if ds.get("ModalityLUTSequence"):
        low, high = _lut_range(ds.ModalityLUTSequence[0])
    else:
        low, high = stored_range(ds)
    return _rescaled(ds, low, high)


def has_voi_lut(ds: Dataset) -> bool:
    """Same test as pydicom's `apply_voi_lut`: a first item with both descriptor and data."""
    items = ds.get("VOILUTSequence")
    return bool(items) and items[0].get("LUTDescriptor") is not None and items[0].get("LUTData") is not None


def has_window(ds: Dataset) -> bool:
    return ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None


def apply_voi(values: np.ndarray, ds: Dataset, name: str) -> tuple[np.ndarray, float, float] | None:
    """The first VOI LUT (preferred) or window applied, with its output range; None when there is none."""
    if not (has_voi_lut(ds) or has_window(ds)):
        return None
    if has_voi_lut(ds):
        if values.dtype.kind == "f" and np.array_equal(values, np.round(values)):
            values = values.astype(np.int64)  # rescaled integers index the LUT exactly
        low, high = _lut_range(ds.VOILUTSequence[0])
    else:
        low, high = window_range(ds)
    try:
        return apply_voi_lut(values, _wide_lut_view(ds), index=0), low, high
    except (ValueError, NotImplementedError, IndexError) as err:
        log.warning("%s: ignoring its VOI window/LUT (%s); using the full value range", name, err)
        return None


def _wide_lut_view(ds: Dataset) -> Dataset:
    """`ds`, or for an 8-bit VOI LUT of over 256 entries a stand-in declaring 16-bit entries.

    pydicom 3.0 builds the LUT index array in the entries' dtype, so indices past 255 wrap around
    in an 8-bit LUT; declaring 16 bits keeps the same entry values and indexes them correctly.
    """
    if not has_voi_lut(ds):
        return ds
    item = ds.VOILUTSequence[0]
    entries, first, bits = (int(v) for v in item.LUTDescriptor)
    if bits != 8 or entries <= 256 and entries != 0 or "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):
        return ds
    wide = Dataset()
    wide.add_new("LUTDescriptor", "US", [entries, first, 16])
    wide.add(item["LUTData"])
    view = Dataset()
    view.file_meta = ds.file_meta
    view.VOILUTSequence = [wide]
    return view


def radiograph_pixels(ds: Dataset, stored: np.ndarray, name: str) -> np.ndarray:
    """Stored pixel values of a single-frame MONOCHROME1/2 dataset as uint8/uint16, bright = dense."""
    values = apply_modality_lut(stored, ds)
    low, high = sorted(modality_range(ds))  # a negative slope reverses the ends: low values stay dark
    windowed = apply_voi(values, ds, name)
    if windowed is not None:
        values, low, high = windowed
        if high < low:  # pydicom maps a window onto (y_min, y_max) even when a negative slope swaps them
            values, low, high = -np.asarray(values, dtype=np.float64), -low, -high
    dtype = output_dtype(ds)
    out = rescale_to_dtype(values, low, high, dtype)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        out = (max_value(dtype) - out).astype(dtype)
    return out


def transfer_syntax_of(ds: Dataset) -> UID:
    """The file's transfer syntax; a file without file meta gets the encoding it was read with."""
    if "TransferSyntaxUID" not in ds.file_meta:
        implicit, little = ds.original_encoding
        ds.file_meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian if little else ExplicitVRBigEndian
        )
    return UID(ds.file_meta.TransferSyntaxUID)


def check_decoder(transfer_syntax: UID, path: Path) -> None:
    """Fail early, naming the packages to install, when no plugin can decode this transfer syntax."""
    try:
        decoder = get_decoder(transfer_syntax)
    except NotImplementedError:
        raise SynthgenError(f"{path}: transfer syntax {uid_name(transfer_syntax)} cannot be decoded by pydicom; "
                            "convert the file (e.g. to uncompressed or JPEG 2000)") from None
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies) or "a decoder plugin"
        raise SynthgenError(f"{path}: reading {uid_name(transfer_syntax)} pixel data needs a decoder plugin; "
                            f"install one of: {missing} (e.g. pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg)")


def uid_name(uid: object) -> str:
    """A standard UID's name; never a non-standard UID itself (it could identify a site)."""
    if not uid:
        return "unknown"
    uid = UID(str(uid))
    return uid.name if uid.name != str(uid) else "non-standard UID"
