"""The one definition of the image-set format: file names, manifest columns and dataset.json keys.

An image set is a folder:

    images/<image_id>.png    8- or 16-bit grayscale PNG, one per image
    manifest.csv             one row per image (MANIFEST_COLUMNS, then one 0/1 column per finding,
                             then any extra columns a stage adds, e.g. a sampler's seed)
    dataset.json             what the set is: classes, findings, size, counts, hashes, provenance
                             (`DatasetInfo`; `provenance` is the writing stage's own record)
    .cache/                  decoded arrays for fast loading (rebuilt when the manifest changes)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from synthgen.document import Document

FORMAT_NAME = "synthgen-image-set"
# 2: the `source` column of real sets holds a salted hash of the input path by default (1: the path).
FORMAT_VERSION = 2

IMAGES_DIR = "images"
MANIFEST_FILE = "manifest.csv"
DATASET_FILE = "dataset.json"
CACHE_DIR = ".cache"

MANIFEST_COLUMNS = (
    "image_id",
    "path",
    "label",
    "patient_id",
    "split",
    "source",
    "sha256",
    "width",
    "height",
    "bit_depth",
)
FINDING_PREFIX = "finding_"

# dataset.json `provenance` is the writing stage's own record, typed by that stage (synthgen/prepare_provenance.py,
# synthgen/chest_phantom/provenance.py, synthgen/model/sample_provenance.py; each with `.of(image_set)`);
# a privacy filter copies it and adds its audit record under this key (privacy/filter.py).
PROVENANCE_AUDIT_KEY = "audit"

SPLITS = ("train", "val", "test")
KINDS = ("real", "synthetic")
BIT_DEPTHS = (8, 16)

_NAME_CHARS = re.compile(r"[^a-z0-9]+")


def normalize_name(raw: str) -> str:
    """Class and finding names as stored: lower case, words joined by '_' ('Pleural Thickening' ->
    'pleural_thickening'), so column names and JSON keys are stable across sources."""
    name = _NAME_CHARS.sub("_", str(raw).strip().lower()).strip("_")
    return name


def finding_column(finding: str) -> str:
    return FINDING_PREFIX + finding


def image_filename(image_id: str) -> str:
    return f"{IMAGES_DIR}/{image_id}.png"


@dataclass(frozen=True)
class DatasetInfo(Document):
    """dataset.json: written by ImageSetWriter, checked by ImageSet.open (its schema version is the
    set's `format_version`, the key image sets have carried since their first version)."""

    WHAT: ClassVar[str] = "synthgen image set description (dataset.json)"
    REMEDY: ClassVar[str] = "re-create the image set"
    FORMAT: ClassVar[str] = FORMAT_NAME
    VERSION_KEY: ClassVar[str] = "format_version"
    SCHEMA_VERSION: ClassVar[int] = FORMAT_VERSION

    name: str
    kind: Literal["real", "synthetic"]
    classes: list[str]
    findings: list[str]
    image_size: list[int]  # [H, W]
    channels: int
    bit_depth: int
    counts: dict  # images, patients, by_split, by_class, by_split_class, patients_by_split (, by_finding)
    manifest_sha256: str
    synthgen_version: str
    created: str  # UTC, ISO 8601
    provenance: dict  # the writing stage's record, checked by its own definition (see PROVENANCE_AUDIT_KEY)
