"""audit.json, the privacy audit's summary: its one definition (written by privacy/report.py).

    schema_version      1
    fpr                 false-positive rate the thresholds were calibrated at
    verdict             "pass" or "fail"; verdict_reasons: one sentence per failed rule (empty on pass)
    verdict_rule        the rule, in words
    counts              train, synthetic, flagged, kept, holdout, holdout_flagged
    flagged_fraction    share of synthetic images flagged in any space (holdout_flagged_fraction: of held-out real)
    score_threshold     threshold on the combined score; calibration: how it was reached
    union_test          binomial test of the flagged count against fpr
    selftest            the planted copies scored in every audit (null with 0 copies)
    spaces              per space (pixels, encoder, registered, ...): see `SpaceResult`
    inputs              train, synthetic, holdout: name, manifest sha256, images, native image_size
    audit_image_size    the side all images were resampled to for the audit
    by_class            per class of the synthetic images' labels: synthetic, flagged, holdout, holdout_flagged
                        (held-out images of that class); null when the synthetic side has no labels

Readers take `AuditDocument.read(path)` and its fields; a file that does not match fails naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from synthgen.document import Document

AUDIT_FILE = "audit.json"
PAIRS_FILE = "pairs.csv"
PAIRS_SCORE_COLUMN = "score"  # pairs.csv: the combined closeness of each synthetic image (low = close)
MONTAGE_FILE = "closest_pairs.png"
Verdict = Literal["pass", "fail"]


@dataclass(frozen=True)
class AuditCounts:
    train: int
    synthetic: int
    flagged: int
    kept: int
    holdout: int
    holdout_flagged: int


@dataclass(frozen=True)
class ClassFlags:
    """Flags among one class's images: a generator that copies often copies one class (a narrow mode)."""

    synthetic: int
    flagged: int
    holdout: int
    holdout_flagged: int


@dataclass(frozen=True)
class SelfTest:
    """How many planted copies of training images the audit flagged (overall and per space)."""

    copies: int
    flagged: int
    recall: float
    floor: float
    met: bool
    recall_by_space: dict[str, float]
    nearest_is_source_by_space: dict[str, float]
    alteration: dict


@dataclass(frozen=True)
class SpaceResult:
    """One space's calibration, flags, distances, tests and attacks."""

    flags: bool  # whether the space takes part in the flag (the pixel space only feeds the registered one)
    threshold: float  # for a space that does not flag: what it would flag at
    scale: float
    flagged: int
    fraction_flagged: float
    holdout_fraction_flagged: float
    synthetic_distance: dict[str, float]  # percentiles
    holdout_distance: dict[str, float]
    nearest_ratio: dict[str, float]  # nearest / second-nearest distance percentiles
    test: dict  # Mann-Whitney U and binomial p-values
    search: dict  # method, recall_at_1
    membership_inference: dict | None  # {attack: {auc, ci_low, ci_high}, members: n, ...}; null: registered space
    patient_linkage: dict | None
    description: dict  # what the space is (encoder, size, dim, ...)


@dataclass(frozen=True)
class AuditInput:
    name: str
    manifest_sha256: str
    images: int
    image_size: int | None = None  # native side; absent in audits written before sets of two sizes were compared


@dataclass(frozen=True)
class AuditDocument(Document):
    WHAT: ClassVar[str] = "privacy audit"
    REMEDY: ClassVar[str] = "re-run `synthgen audit` to write it again"

    fpr: float
    verdict: Verdict
    verdict_reasons: list[str]
    verdict_rule: str
    counts: AuditCounts
    flagged_fraction: float
    holdout_flagged_fraction: float
    score_threshold: float
    calibration: dict
    union_test: dict
    selftest: SelfTest | None
    spaces: dict[str, SpaceResult]
    inputs: dict[str, AuditInput]
    audit_image_size: int
    by_class: dict[str, ClassFlags] | None = None  # absent in audits written before it was added

    @classmethod
    def read_folder(cls, folder: Path | str) -> "AuditDocument":
        """The audit.json of an audit folder (`synthgen audit --out FOLDER`)."""
        return cls.read(Path(folder) / AUDIT_FILE)
