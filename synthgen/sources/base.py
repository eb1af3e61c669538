"""What every source adapter produces: records with shared columns, and decoded pixels.

One adapter per source kind maps its quirks (file layout, label names, patient IDs) onto
`SourceRecord`, so preparation downstream sees one shape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from synthgen.errors import SynthgenError
from synthgen.prepare_options import PrepareOptions
from synthgen.source_problems import ProblemLog


@dataclass(frozen=True)
class SourceRecord:
    """One image of a source, before decoding.

    `patient_key` is the source's raw patient identifier: it only feeds split assignment and the
    salted pseudonym and is never written out. `source` is what the manifest shows as the origin
    when the user keeps source names (a relative path or an array key, known identifiers redacted);
    `origin` is the raw relative path or key, which only feeds the salted source hash, the private
    source-name map and error messages.
    """

    source: str
    label: str
    patient_key: str
    split: str | None = None
    findings: frozenset[str] = frozenset()
    ref: object = None
    origin: str = ""

    @property
    def where(self) -> str:
        """The raw location of the row, for error messages (never written into an image set)."""
        return self.origin or self.source


_DEFAULT = PrepareOptions()  # the labelling defaults are prepare's, declared there once


@dataclass(frozen=True)
class SourceOptions:
    """Labelling options shared by the adapters (each uses the ones that apply to it); set from
    PrepareOptions by `prepare`."""

    labels_csv: Path | None = None
    path_column: str = _DEFAULT.path_column
    label_column: str = _DEFAULT.label_column
    patient_column: str | None = _DEFAULT.patient_column
    patient_pattern: str | None = _DEFAULT.patient_pattern
    findings_column: str | None = _DEFAULT.findings_column
    findings_separator: str = _DEFAULT.findings_separator
    no_finding: str = _DEFAULT.no_finding
    split_column: str | None = _DEFAULT.split_column
    uid_column: str | None = _DEFAULT.uid_column
    classes: tuple[str, ...] | None = None
    findings: tuple[str, ...] | None = None
    extra: dict = field(default_factory=dict)


class SourceAdapter(ABC):
    """Base class of the adapters: `records()` lists the images, `decode()` reads one."""

    format_name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, path: Path, options: SourceOptions) -> None:
        self.path = Path(path)
        self.options = options
        self.classes: list[str] = []
        self.findings: list[str] = []
        self.problems = ProblemLog()  # bad rows found by records(), each left out of its result
        self.label_names: dict[str, str] = {}  # raw label value -> class name, as matched

    @classmethod
    @abstractmethod
    def detect(cls, path: Path, options: SourceOptions) -> bool:
        """True when `path` looks like this adapter's kind of source."""

    @abstractmethod
    def records(self) -> list[SourceRecord]:
        """All good images of the source, labels checked; sets `self.classes` and `self.findings`.

        A bad row (missing file, empty label, unknown class, repeated row, unreadable file) goes
        into `self.problems` and is left out; anything else wrong (a missing column, an empty
        class) raises SynthgenError naming the file or field.
        """

    def checked_records(self) -> list[SourceRecord]:
        """`records()`, failing on any row problem with all of them named (no drop policy)."""
        try:
            records = self.records()
        except SynthgenError:  # e.g. a class left empty by bad rows: the rows are the better message
            self.problems.raise_if_blocking(frozenset(), str(self.path))
            raise
        self.problems.raise_if_blocking(frozenset(), str(self.path))
        return records

    @abstractmethod
    def decode(self, record: SourceRecord) -> np.ndarray:
        """Pixels of one record as a 2-D uint8 or uint16 array, bright = dense (MONOCHROME2).

        Raise SynthgenError naming the file for unreadable, truncated or unsupported images.
        """

    def provenance(self) -> dict:
        """What to record about the source in dataset.json (no patient identifiers)."""
        return {"format": self.format_name, "path": str(self.path)}
