"""The image-set format shared by every stage: see `format.py` for its definition."""

from synthgen.imageset.format import (
    DATASET_FILE,
    FINDING_PREFIX,
    MANIFEST_COLUMNS,
    MANIFEST_FILE,
    SPLITS,
    finding_column,
    normalize_name,
)
from synthgen.imageset.reader import ImageSet
from synthgen.imageset.writer import ImageSetWriter

__all__ = [
    "DATASET_FILE",
    "FINDING_PREFIX",
    "MANIFEST_COLUMNS",
    "MANIFEST_FILE",
    "SPLITS",
    "ImageSet",
    "ImageSetWriter",
    "finding_column",
    "normalize_name",
]
