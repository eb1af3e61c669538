"""Pre-encoded DICOM elements: encode what every file of a set shares once, then join per file.

An Explicit VR Little Endian data set is its elements' encodings concatenated in tag order, so
the set-wide elements (about fifty, with sequences) are encoded once by pydicom and each file
only encodes its own few elements and merges the two sorted lists. `DicomWriter` checks nothing
here differs from `dcmwrite` of the full dataset: tests compare the bytes.
"""

from __future__ import annotations

import heapq
import struct
from collections.abc import Iterable, Sequence

from pydicom.charset import convert_encodings
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info

Encoded = list[tuple[int, bytes]]  # (tag, element bytes), sorted by tag
_LONG_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UC", "UN", "UR", "UT"})  # 4-byte lengths


def _buffer() -> DicomBytesIO:
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    return buffer


def encode_elements(ds: Dataset, character_set: str | Sequence[str]) -> Encoded:
    """Each element of `ds` encoded alone (Explicit VR Little Endian), in tag order."""
    encodings = convert_encodings(character_set)
    encoded = []
    for element in ds:  # iterating a Dataset yields its elements sorted by tag
        buffer = _buffer()
        write_data_element(buffer, element, encodings)
        encoded.append((int(element.tag), buffer.getvalue()))
    return encoded


def encode_value(tag: int, vr: str, value: bytes | str) -> bytes:
    """One element (Explicit VR Little Endian) of a string (UTF-8) or binary value, padded as
    pydicom pads: UI and binary values with NUL, text with a space. Only for single values of
    these simple VRs; everything else goes through `encode_elements`."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if len(data) % 2:
        data += b"\x00" if vr in ("UI", "OB", "OW") else b" "
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode("ascii")
    if vr in _LONG_VRS:
        return head + struct.pack("<HI", 0, len(data)) + data
    return head + struct.pack("<H", len(data)) + data


class FileHead:
    """Preamble, 'DICM' and the file meta group: pydicom encodes the fixed elements once, each file
    adds its MediaStorageSOPInstanceUID and the group length."""

    def __init__(self, meta: FileMetaDataset) -> None:
        meta.setdefault("MediaStorageSOPInstanceUID", "1.2")  # a stand-in: each file adds its own
        write_file_meta_info(_buffer(), meta, enforce_standard=True)  # adds version and implementation UID
        fixed = Dataset({tag: meta[tag] for tag in meta.keys() if tag not in (0x00020000, 0x00020003)})
        self._fixed = encode_elements(fixed, "ISO_IR 6")

    def bytes_for(self, sop_instance_uid: str) -> bytes:
        instance = [(0x00020003, encode_value(0x00020003, "UI", sop_instance_uid))]
        body = join_elements(self._fixed, instance)
        group_length = struct.pack("<HH", 0x0002, 0x0000) + b"UL" + struct.pack("<HI", 4, len(body))
        return b"\x00" * 128 + b"DICM" + group_length + body


def join_elements(*parts: Iterable[tuple[int, bytes]]) -> bytes:
    """Every element of the sorted `parts`, merged in tag order."""
    return b"".join(data for _, data in heapq.merge(*parts, key=lambda item: item[0]))
