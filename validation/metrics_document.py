"""metrics.json, everything `synthgen validate` measured: its one definition.

The sections are the numbers of validation/api.py's steps, each documented where it is computed
(utility: validation/utility.py, realism: validation/realism.py, ...); `verdicts` are the report's
headline levels (validation/verdict.py) and `thresholds` the conventions they use. NaN and infinity
are written as null (strict JSON). Readers take `ValidationMetrics.read(path)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from synthgen.document import Document

METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class ValidationMetrics(Document):
    WHAT: ClassVar[str] = "validation metrics file"
    REMEDY: ClassVar[str] = "re-run `synthgen validate` to write it again"

    synthgen_version: str
    created: str
    data: dict  # the sets and rows used (validation/data.py)
    seeds: list[int]
    recipe: dict  # the downstream classifier's training recipe
    options: dict
    encoder: str  # what embedded the images for the realism metrics
    utility: dict  # regimes (TRTR, TSTR, ...) with bootstrap CIs, tstr_trtr_auc_ratio, trts_trtr_auc_ratio
    findings: dict | None  # per-finding classifiers; null when the sets share no finding
    realism: dict  # FD, KID, precision, recall, density, coverage of synthetic and real test
    diversity: dict
    intensity: dict
    high_frequency: dict
    two_sample: dict  # the real-vs-synthetic classifier test
    external_tests: dict
    audit: dict | None  # the report's view of the privacy audit (validation/audit_summary.py); null without one
    training_curves: dict | None  # the generator's loss curve; null when not found
    thresholds: dict[str, float]
    warnings: list[str]
    verdicts: dict[str, dict]  # realism, utility, label_fidelity, privacy: {level, text, ...}
    timings: dict[str, float]  # seconds per step
    # How the sampled model's final weights were chosen (its model card's kind, steps, ema, selection);
    # null when the set was not sampled by synthgen, and in files written before it existed
    generator_weights: dict | None = None
