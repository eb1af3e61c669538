"""What `synthgen prepare` records in its real image set's dataset.json `provenance`: one definition.

    stage             "prepare"
    source            the source adapter's own record (format, paths; paths hidden unless names are kept)
    options           size, split fractions, resplit, seed, dedupe, drop, salt and source-name handling
    duplicates        extra copies found, how many crossed splits, how many were dropped
    dropped           rows dropped, by problem kind (the user's --drop choice)
    label_mapping     raw source label -> class name, where they differ
    synthgen_version  of the synthgen that prepared the set

Readers take `PrepareProvenance.of(image_set)`: None for a set that `prepare` did not write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from synthgen.document import Document
from synthgen.imageset import DATASET_FILE, ImageSet

PREPARE_STAGE = "prepare"


@dataclass(frozen=True)
class PrepareOptionsRecord:
    """The options the set was prepared with (synthgen/prepare_options.py declares them)."""

    size: int
    val_fraction: float
    test_fraction: float
    resplit: bool
    seed: int
    dedupe: bool
    pseudonym_salt: Literal["given", "random"]
    drop: list[str] | None = None  # None: prepared before --drop existed (only dedupe could drop rows)
    source_names: Literal["kept", "salted-hash"] = "kept"  # before hashing existed, names were kept


@dataclass(frozen=True)
class DuplicatesRecord:
    extra_copies: int  # images with the same pixels as an earlier one (after resizing)
    across_splits: int  # of them, in another split than their first copy
    dropped: int


@dataclass(frozen=True)
class PrepareProvenance(Document):
    WHAT: ClassVar[str] = "prepared set's provenance"
    REMEDY: ClassVar[str] = "prepare the set again (synthgen prepare)"

    source: dict  # the adapter's record; its keys depend on the source format
    options: PrepareOptionsRecord
    duplicates: DuplicatesRecord
    synthgen_version: str
    dropped: dict[str, int] | None = None  # None: prepared before dropped rows were recorded
    label_mapping: dict[str, str] | None = None  # None: prepared before label matching was recorded
    stage: Literal["prepare"] = PREPARE_STAGE

    @classmethod
    def of(cls, image_set: ImageSet) -> "PrepareProvenance | None":
        """The provenance of a set written by `synthgen prepare`; None otherwise."""
        provenance = image_set.info.get("provenance")
        if not isinstance(provenance, dict) or provenance.get("stage") != PREPARE_STAGE:
            return None
        return cls.from_dict(provenance, f"{image_set.root / DATASET_FILE} provenance")
