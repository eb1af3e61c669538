"""dataset.json: counts computed from manifest rows, and the document itself."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Mapping, Sequence

from synthgen.imageset.format import SPLITS, DatasetInfo, finding_column


def count_rows(rows: Sequence[Mapping[str, str]], classes: Sequence[str], findings: Sequence[str]) -> dict:
    """Counts per split and class (and finding), plus distinct patients per split."""
    by_split = Counter(row["split"] for row in rows)
    by_class = Counter(row["label"] for row in rows)
    by_split_class = {
        split: {name: 0 for name in classes} for split in SPLITS if by_split.get(split)
    }
    patients: dict[str, set[str]] = {split: set() for split in by_split_class}
    for row in rows:
        by_split_class[row["split"]][row["label"]] += 1
        patients[row["split"]].add(row["patient_id"])
    counts = {
        "images": len(rows),
        "patients": len({row["patient_id"] for row in rows}),
        "by_split": {split: by_split[split] for split in by_split_class},
        "by_class": {name: by_class.get(name, 0) for name in classes},
        "by_split_class": by_split_class,
        "patients_by_split": {split: len(ids) for split, ids in patients.items()},
    }
    if findings:
        counts["by_finding"] = {
            name: sum(int(row[finding_column(name)]) for row in rows) for name in findings
        }
    return counts


def creation_time() -> str:
    """ISO-8601 UTC time; SOURCE_DATE_EPOCH pins it so reruns can be byte-identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
        if epoch and epoch.isdigit()
        else dt.datetime.now(tz=dt.timezone.utc)
    )
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def dataset_document(
    *,
    name: str,
    kind: str,
    classes: Sequence[str],
    findings: Sequence[str],
    image_size: int,
    bit_depths: Sequence[int],
    counts: dict,
    manifest_sha256: str,
    provenance: dict,
    version: str,
) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        kind=kind,
        classes=list(classes),
        findings=list(findings),
        image_size=[image_size, image_size],
        channels=1,
        bit_depth=max(bit_depths) if bit_depths else 8,
        counts=counts,
        manifest_sha256=manifest_sha256,
        synthgen_version=version,
        created=creation_time(),
        provenance=provenance,
    )
