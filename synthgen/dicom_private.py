"""synthgen's private DICOM block: written by the exporter, read back by the DICOM source.

Creator "synthgen 1" in group 0011; the exporter reserves the first free block, (0011,0010), so
its elements are (0011,10xx).
"""

from __future__ import annotations

PRIVATE_CREATOR = "synthgen 1"
PRIVATE_GROUP = 0x0011
PROVENANCE_ELEMENT = 0x01  # (0011,xx01) UT: the image's provenance and labels as JSON
DEPTH_ELEMENT = 0x02  # (0011,xx02) US: the image set's bit depth (8 or 16) of the stored pixels
_BLOCK = 0x10


def private_tag(element: int) -> int:
    """The full tag of one element of the block as the exporter writes it."""
    return (PRIVATE_GROUP << 16) | (_BLOCK << 8) | element
