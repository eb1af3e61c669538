"""`PrepareOptions`: every option of `prepare`, declared once (the CLI and the run config derive from it).

Light on purpose (no adapters imported): `synthgen prepare --help` builds its options from here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from synthgen.options import option
from synthgen.source_problems import DROP_CHOICES


def source_formats() -> tuple[str, ...]:
    """`auto` and every source adapter's name (the registry is synthgen.sources.ADAPTERS)."""
    from synthgen.sources import FORMATS

    return FORMATS


@dataclass(frozen=True)
class PrepareOptions:
    """How a source becomes an image set: labels and patients, splits, size, names. Paths stay strings
    (as written in a config); `classes`, `findings` and `drop` are tuples (lists are accepted)."""

    size: int = option(64, "Side of the square output images, in pixels.")
    format: str = option("auto", "Source kind (auto-detected).", choices=source_formats)
    labels: str | None = option(None, "Labels CSV (paths relative to SOURCE).", path=True)
    path_column: str = option("path", "CSV column with the image path.")
    label_column: str = option("label", "CSV column with the class name.")
    patient_column: str | None = option(None, "CSV column with the patient ID (used for splits, then pseudonymized).")
    patient_pattern: str | None = option(None, "Regex finding the patient ID in file names (first group).")
    findings_column: str | None = option(None, "CSV column with multi-label findings, e.g. 'Effusion|Mass'.")
    findings_separator: str = option("|", "Separator inside --findings-column.")
    no_finding: str = option("No Finding", "Findings value meaning none.")
    split_column: str | None = option(None, "CSV column with an existing train/val/test split to keep.")
    uid_column: str | None = option(None, "CSV column with SOPInstanceUIDs (DICOM sources keyed by UID).")
    classes: tuple[str, ...] | None = option(
        None, "Comma-separated class names, in index order; other labels are errors.")
    findings: tuple[str, ...] | None = option(None, "Comma-separated finding names; other findings are errors.")
    val_fraction: float = option(0.1, "Share of patients for validation.")
    test_fraction: float = option(0.1, "Share of patients for test.")
    resplit: bool = option(False, "Ignore the source's splits and make new patient-level ones.")
    seed: int = option(0, "Seed of the split assignment.")
    dedupe: bool = option(False, "Drop exact duplicate images (after resizing); = --drop duplicate-image.")
    drop: tuple[str, ...] = option(
        (), "Leave out rows with these problems (comma-separated; counted in dataset.json): "
        + ", ".join(DROP_CHOICES) + ". Without it, any problem stops prepare, all of them listed.")
    keep_source_names: bool = option(
        False, "Keep input file names in the `source` column (non-sensitive sets only; default: salted hashes).")
    source_map: str | None = option(
        None, "Where the private hash -> file-name map goes (default: OUT.PRIVATE-source-names.csv beside OUT).",
        path=True)
    name: str | None = option(None, "Name of the image set (default: the source's name, hashed unless names are kept).")
    workers: int | None = option(None, "Decoding threads (default: up to 4).")

    def __post_init__(self) -> None:
        for name in ("classes", "findings", "drop"):  # a list (from Python or YAML) is kept as a tuple
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        for name in ("labels", "source_map"):  # a pathlib.Path is kept as its string
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                object.__setattr__(self, name, str(value))


PREPARE_OPTION_NAMES = tuple(f.name for f in fields(PrepareOptions))
