"""`prepare`: turn any supported source into a real image set (the first stage of every run).

source adapter -> records -> patient-level splits -> decode, fit to size -> pseudonymize -> write.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from synthgen import __version__
from synthgen.atomic import check_output_folder
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet, ImageSetWriter
from synthgen.imageset.pngio import encode_png
from synthgen.pixels import fit_square
from synthgen.progress import progress_bar
from synthgen.pseudonym import pseudonym, resolve_salt
from synthgen.sources import SourceOptions, open_source
from synthgen.splits import assign_splits, check_fractions

log = logging.getLogger(__name__)

MAX_SIZE = 4096
_CHUNK = 256  # images decoded ahead of writing: bounds memory on large sources


def prepare(
    source: Path | str,
    out: Path | str,
    *,
    size: int = 64,
    format: str = "auto",
    labels: Path | str | None = None,
    path_column: str = "path",
    label_column: str = "label",
    patient_column: str | None = None,
    patient_pattern: str | None = None,
    findings_column: str | None = None,
    findings_separator: str = "|",
    no_finding: str = "No Finding",
    split_column: str | None = None,
    uid_column: str | None = None,
    classes: Sequence[str] | None = None,
    findings: Sequence[str] | None = None,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    resplit: bool = False,
    seed: int = 0,
    salt: str | None = None,
    dedupe: bool = False,
    name: str | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> ImageSet:
    """Prepare SOURCE as a real image set in OUT and return it opened.

    Splits are patient-level and seeded; splits given by the source are kept unless `resplit`.
    Patient IDs become salted pseudonyms (`salt`, else $SYNTHGEN_SALT, else random).
    """
    if size <= 0 or size > MAX_SIZE:
        raise SynthgenError(f"--size must be between 1 and {MAX_SIZE} pixels, got {size}")
    check_fractions(val_fraction, test_fraction)
    out = Path(out)
    check_output_folder(out, overwrite)
    key = resolve_salt(salt)
    options = SourceOptions(
        labels_csv=Path(labels) if labels else None,
        path_column=path_column,
        label_column=label_column,
        patient_column=patient_column,
        patient_pattern=patient_pattern,
        findings_column=findings_column,
        findings_separator=findings_separator,
        no_finding=no_finding,
        split_column=split_column,
        uid_column=uid_column,
        classes=tuple(classes) if classes else None,
        findings=tuple(findings) if findings else None,
        extra={"salt": key},  # adapters pseudonymize identifiers they find in paths with the same key
    )
    adapter = open_source(Path(source), options, format)
    records = adapter.records()
    if not records:
        raise SynthgenError(f"source {source} holds no images")
    splits = assign_splits(
        [r.patient_key for r in records],
        [r.label for r in records],
        [None if resplit else r.split for r in records],
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
    )
    seen: dict[str, str] = {}  # pixel hash -> split of its first copy
    duplicates = {"extra_copies": 0, "across_splits": 0, "dropped": 0}
    workers = workers or min(4, os.cpu_count() or 1)

    def load(index: int) -> tuple[np.ndarray, bytes]:
        pixels = fit_square(adapter.decode(records[index]), size)
        return pixels, encode_png(pixels)

    set_name = name or Path(source).resolve().stem
    with ImageSetWriter(
        out, name=set_name, kind="real", classes=adapter.classes, findings=adapter.findings,
        image_size=size, overwrite=overwrite,
    ) as writer, ThreadPoolExecutor(workers) as pool, progress_bar(len(records), "prepare", enabled=progress) as advance:
        for start in range(0, len(records), _CHUNK):
            batch = range(start, min(start + _CHUNK, len(records)))
            for index, (pixels, png) in zip(batch, pool.map(load, batch)):
                record, split = records[index], splits[index]
                advance(1)
                digest = hashlib.sha256(png).hexdigest()  # equal pixels give equal PNG bytes
                if digest in seen:
                    duplicates["extra_copies"] += 1
                    duplicates["across_splits"] += seen[digest] != split
                    if dedupe:
                        duplicates["dropped"] += 1
                        continue
                else:
                    seen[digest] = split
                patient_id = pseudonym(record.patient_key, key)
                writer.add(
                    pixels, label=record.label, patient_id=patient_id, split=split,
                    source=redact(record.source, record.patient_key, patient_id), findings=record.findings, png=png,
                )
        provenance = {
            "stage": "prepare",
            "source": adapter.provenance(),
            "options": {
                "size": size, "val_fraction": val_fraction, "test_fraction": test_fraction,
                "resplit": resplit, "seed": seed, "dedupe": dedupe,
                "pseudonym_salt": "given" if (salt or os.environ.get("SYNTHGEN_SALT")) else "random",
            },
            "duplicates": duplicates,
            "synthgen_version": __version__,
        }
        writer.finish(provenance)
    if duplicates["across_splits"] and not dedupe:
        log.warning(
            "%d exact duplicate images sit in different splits (a leak for evaluation and privacy audits); "
            "pass --dedupe to drop repeated copies", duplicates["across_splits"],
        )
    log.info("prepared %d images of %d classes into %s", len(writer.rows), len(adapter.classes), out)
    return ImageSet.open(out)


def redact(source: str, patient_key: str, patient_id: str) -> str:
    """The source path with the raw patient ID replaced by its pseudonym.

    File names often carry the patient ID (NIH '00000002_000.png', Kermany 'person1_bacteria_1.jpeg');
    the image set must never show it.
    """
    if patient_key == source:
        return source
    # Only whole tokens: patient '12' must not rewrite 'img_0123.png'.
    return re.sub(rf"(?<![0-9A-Za-z]){re.escape(patient_key)}(?![0-9A-Za-z])", patient_id, source)
