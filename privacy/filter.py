"""The filtered image set: the synthetic images the audit did not flag, with the audit recorded.

It is written with ImageSetWriter, so it is an ordinary image set (verify() passes). Each kept
image's PNG bytes are copied unchanged (same sha256); labels, splits, findings and every extra
manifest column of the synthetic set (e.g. `seed`, `sampler`, `model_sha256`) are kept, plus
`unfiltered_image_id` (the image's id in the audited set). `kind` stays that of the input.

dataset.json `provenance` is the synthetic set's provenance with one key added, `audit`: an
`AuditRecord` (below), read back with `AuditRecord.of(image_set)`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from privacy.audit_document import AuditCounts, AuditInput, Verdict
from synthgen import __version__
from synthgen.document import Document
from synthgen.errors import SynthgenError
from synthgen.imageset import DATASET_FILE, ImageSet, ImageSetWriter
from synthgen.imageset.format import MANIFEST_COLUMNS, PROVENANCE_AUDIT_KEY, finding_column
from synthgen.imageset.pngio import decode_png

log = logging.getLogger(__name__)

FILTERED_DIR = "filtered"


@dataclass(frozen=True)
class AuditRecord(Document):
    """What a filtered set's provenance keeps of its audit (no per-image pairs, no patient IDs)."""

    WHAT: ClassVar[str] = "privacy audit record"
    REMEDY: ClassVar[str] = "re-run `synthgen audit --filter` to write the filtered set again"

    fpr: float  # false-positive rate the thresholds were calibrated at
    verdict: Verdict
    thresholds: dict[str, float]  # {space: distance threshold}
    score_threshold: float  # threshold on the combined score
    counts: AuditCounts
    inputs: dict[str, AuditInput]  # train, synthetic, holdout
    audit_json_sha256: str  # of the audit.json written beside the filtered set
    encoder_sha256: str  # of the trained encoder's weights.pt
    flagged_sha256: list[str]  # sorted sha256 of the removed images' PNG files
    classes_dropped: list[str]  # classes with no image left (removed from `classes`)
    synthgen_version: str
    # share of the audit's planted copies it flagged (null without a self-test; absent before self-tests)
    selftest_recall: float | None = None

    @classmethod
    def of(cls, image_set: ImageSet) -> "AuditRecord | None":
        """The audit record of a filtered set; None for a set no audit filtered."""
        provenance = image_set.info.get("provenance")
        if not isinstance(provenance, dict) or PROVENANCE_AUDIT_KEY not in provenance:
            return None
        return cls.from_dict(provenance[PROVENANCE_AUDIT_KEY], f"{image_set.root / DATASET_FILE} provenance.{PROVENANCE_AUDIT_KEY}")


def write_filtered(synthetic: ImageSet, flagged: np.ndarray, out: Path, audit_findings: dict) -> dict:
    """Write the unflagged images of `synthetic` as a new image set at `out`; returns its dataset.json.

    `audit_findings`: the AuditRecord fields the audit knows (privacy.audit.audit_findings)."""
    flagged = np.asarray(flagged, dtype=bool)
    keep = [row for row, bad in zip(synthetic.rows, flagged) if not bad]
    if not keep:
        raise SynthgenError(
            f"every one of the {len(flagged)} synthetic images of {synthetic.root} was flagged, so the filtered "
            "set would be empty: sample again from a less memorizing model, or run without --filter"
        )
    present = {row["label"] for row in keep}
    classes = [name for name in synthetic.classes if name in present]
    dropped = [name for name in synthetic.classes if name not in present]
    if dropped:
        log.warning("filtered set: no image of class(es) %s is left; they are dropped from its classes", dropped)
    known = set(MANIFEST_COLUMNS) | {finding_column(f) for f in synthetic.findings}
    extra = [c for c in synthetic.rows[0] if c not in known and c != "unfiltered_image_id"] + ["unfiltered_image_id"]
    record = AuditRecord(
        **audit_findings,
        flagged_sha256=sorted(row["sha256"] for row, bad in zip(synthetic.rows, flagged) if bad),
        classes_dropped=dropped,
        synthgen_version=__version__,
    )
    with ImageSetWriter(
        out,
        name=f"{synthetic.name}-filtered",
        kind=synthetic.kind,
        classes=classes,
        findings=synthetic.findings,
        image_size=synthetic.image_size,
        extra_columns=extra,
    ) as writer:
        for row in keep:
            path = synthetic.root / row["path"]
            png = path.read_bytes()
            writer.add(
                decode_png(path),
                label=row["label"],
                patient_id=row["patient_id"],
                split=row["split"],
                source=row["source"],
                findings=[f for f in synthetic.findings if row[finding_column(f)] == "1"],
                extra={**{c: row.get(c, "") for c in extra[:-1]}, "unfiltered_image_id": row["image_id"]},
                png=png,
            )
        provenance = dict(synthetic.info.get("provenance", {}))
        provenance[PROVENANCE_AUDIT_KEY] = record.to_dict()
        return writer.finish(provenance)
