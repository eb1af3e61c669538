"""The filtered image set: the synthetic images the audit did not flag, with the audit recorded.

It is written with ImageSetWriter, so it is an ordinary image set (verify() passes). Each kept
image's PNG bytes are copied unchanged (same sha256); labels, splits, findings and every extra
manifest column of the synthetic set (e.g. `seed`, `sampler`, `model_sha256`) are kept, plus
`unfiltered_image_id` (the image's id in the audited set). `kind` stays that of the input.

dataset.json `provenance` is the synthetic set's provenance with one key added, `audit`:

    audit.fpr                      false-positive rate the thresholds were calibrated at
    audit.verdict                  "pass" or "fail" (see privacy/report.py)
    audit.thresholds               {space: distance threshold}, e.g. {"pixels": 0.23, "encoder": 0.30, "registered": 0.16}
    audit.score_threshold          threshold on the combined score (min over spaces of the held-out share)
    audit.counts                   {"synthetic", "flagged", "kept", "train", "holdout", "holdout_flagged"}
    audit.selftest_recall          share of the audit's own planted copies it flagged (null without a self-test)
    audit.inputs                   {"train"|"synthetic"|"holdout": {"name", "manifest_sha256", "images"}}
    audit.audit_json_sha256        sha256 of the audit.json written beside the filtered set
    audit.encoder_sha256           sha256 of the trained encoder's weights.pt
    audit.flagged_sha256           sorted sha256 of the removed images' PNG files
    audit.classes_dropped          classes with no image left (removed from `classes`)
    audit.synthgen_version
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from synthgen import __version__
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet, ImageSetWriter
from synthgen.imageset.format import MANIFEST_COLUMNS, finding_column
from synthgen.imageset.pngio import decode_png

log = logging.getLogger(__name__)

FILTERED_DIR = "filtered"


def write_filtered(synthetic: ImageSet, flagged: np.ndarray, out: Path, audit_record: dict) -> dict:
    """Write the unflagged images of `synthetic` as a new image set at `out`; returns its dataset.json."""
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
    record = {
        **audit_record,
        "flagged_sha256": sorted(row["sha256"] for row, bad in zip(synthetic.rows, flagged) if bad),
        "classes_dropped": dropped,
        "synthgen_version": __version__,
    }
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
        provenance["audit"] = record
        return writer.finish(provenance)
