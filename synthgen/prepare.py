"""`prepare`: turn any supported source into a real image set (the first stage of every run).

source adapter -> records (bad rows collected) -> patient-level splits -> decode, fit to size ->
every problem reported or the chosen kinds dropped -> pseudonymize, hash source names -> write.
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from synthgen import __version__
from synthgen.atomic import check_output_folder
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet, ImageSetWriter
from synthgen.imageset.pngio import encode_png
from synthgen.pixels import fit_square
from synthgen.prepare_options import PrepareOptions
from synthgen.prepare_provenance import DuplicatesRecord, PrepareOptionsRecord, PrepareProvenance
from synthgen.progress import progress_bar
from synthgen.pseudonym import pseudonym, resolve_salt
from synthgen.sources import SourceOptions, open_source
from synthgen.sources.names import (
    check_map_path, default_map_path, hashed_source, hide_paths, redact_patient, write_source_map,
)
from synthgen.source_problems import check_drop
from synthgen.splits import assign_splits, check_fractions

log = logging.getLogger(__name__)

MAX_SIZE = 4096
_CHUNK = 256  # images decoded ahead of writing: bounds memory on large sources


def prepare(
    source: Path | str,
    out: Path | str,
    options: PrepareOptions | None = None,
    *,
    salt: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    **changes,
) -> ImageSet:
    """Prepare SOURCE as a real image set in OUT and return it opened.

    `options` (a PrepareOptions; keyword arguments change single fields, e.g. `size=32`) say how.
    The whole source is checked first: rows with problems (see source_problems.PROBLEM_KINDS) stop
    the run with all of them named, unless their kind is in `drop` (`dedupe` = drop duplicate-image);
    dropped rows are counted in dataset.json. Splits are patient-level and seeded; splits given by
    the source are kept unless `resplit`. Patient IDs become salted pseudonyms and source names
    salted hashes (`salt`, else $SYNTHGEN_SALT, else random); the hash -> name map goes to
    `source_map` (default beside OUT) unless `keep_source_names`.
    """
    o = replace(options or PrepareOptions(), **changes)
    size, keep_source_names = o.size, o.keep_source_names
    if size <= 0 or size > MAX_SIZE:
        raise SynthgenError(f"--size must be between 1 and {MAX_SIZE} pixels, got {size}")
    check_fractions(o.val_fraction, o.test_fraction)
    drop_kinds = check_drop([*o.drop, *(["duplicate-image"] if o.dedupe else [])])
    out = Path(out)
    check_output_folder(out, overwrite)
    map_path = None if keep_source_names else check_map_path(Path(o.source_map or default_map_path(out)), out)
    key = resolve_salt(salt)
    shared = {f.name: getattr(o, f.name) for f in fields(SourceOptions) if hasattr(o, f.name)}  # the labelling options
    source_options = SourceOptions(**{
        **shared, "labels_csv": Path(o.labels) if o.labels else None,
        "classes": tuple(o.classes) if o.classes else None, "findings": tuple(o.findings) if o.findings else None,
        "extra": {"salt": key},  # adapters pseudonymize identifiers they find in paths with the same key
    })
    adapter = open_source(Path(source), source_options, o.format)
    problems = adapter.problems
    try:
        records = adapter.records()
    except SynthgenError:  # e.g. a class left empty by bad rows: the rows are the better message
        problems.raise_if_blocking(drop_kinds, str(source))
        raise
    if not records:
        problems.raise_if_blocking(drop_kinds, str(source))
        left = " left after dropping bad rows" if problems.items else ""
        raise SynthgenError(f"source {source} holds no images{left}")
    splits = assign_splits(
        [r.patient_key for r in records],
        [r.label for r in records],
        [None if o.resplit else r.split for r in records],
        val_fraction=o.val_fraction,
        test_fraction=o.test_fraction,
        seed=o.seed,
    )
    seen: dict[str, tuple[str, str]] = {}  # pixel hash -> (split, where) of its first copy
    duplicates = {"extra_copies": 0, "across_splits": 0, "dropped": 0}
    workers = o.workers or min(4, os.cpu_count() or 1)

    def load(index: int) -> tuple[np.ndarray, bytes] | str:
        try:
            pixels = fit_square(adapter.decode(records[index]), size)
        except SynthgenError as err:  # counted with the other row problems, reported at the end
            return str(err)
        return pixels, encode_png(pixels)

    set_name = o.name or _default_name(Path(source), key, keep_source_names)
    names: list[tuple[str, str, str]] = []
    with ImageSetWriter(
        out, name=set_name, kind="real", classes=adapter.classes, findings=adapter.findings,
        image_size=size, overwrite=overwrite,
    ) as writer, ThreadPoolExecutor(workers) as pool, progress_bar(len(records), "prepare", enabled=progress) as advance:
        for start in range(0, len(records), _CHUNK):
            batch = range(start, min(start + _CHUNK, len(records)))
            for index, loaded in zip(batch, pool.map(load, batch)):
                record, split = records[index], splits[index]
                advance(1)
                if isinstance(loaded, str):
                    problems.add("unreadable-image", record.where, loaded)
                    continue
                pixels, png = loaded
                digest = hashlib.sha256(png).hexdigest()  # equal pixels give equal PNG bytes
                if digest in seen:
                    duplicates["extra_copies"] += 1
                    duplicates["across_splits"] += seen[digest][0] != split
                    problems.add("duplicate-image", record.where,
                                 f"{record.where} has the same pixels as {seen[digest][1]} (after resizing)")
                    duplicates["dropped"] += "duplicate-image" in drop_kinds
                    continue
                seen[digest] = (split, record.where)
                if problems.blocking(drop_kinds):
                    continue  # this run will stop: go on only to find every problem
                patient_id = pseudonym(record.patient_key, key)
                shown = (redact_patient(record.source, record.patient_key, patient_id) if keep_source_names
                         else hashed_source(record.where, key))
                image_id = writer.add(pixels, label=record.label, patient_id=patient_id, split=split, source=shown,
                                      findings=record.findings, png=png)
                names.append((image_id, shown, record.where))
        problems.raise_if_blocking(drop_kinds, str(source))
        provenance = PrepareProvenance(
            source=adapter.provenance() if keep_source_names else hide_paths(adapter.provenance(), key),
            options=PrepareOptionsRecord(
                size=size, val_fraction=o.val_fraction, test_fraction=o.test_fraction, resplit=o.resplit,
                seed=o.seed, dedupe="duplicate-image" in drop_kinds, drop=sorted(drop_kinds),
                pseudonym_salt="given" if (salt or os.environ.get("SYNTHGEN_SALT")) else "random",
                source_names="kept" if keep_source_names else "salted-hash",
            ),
            duplicates=DuplicatesRecord(**duplicates),
            dropped=problems.dropped(drop_kinds),
            label_mapping={raw: name for raw, name in sorted(adapter.label_names.items())
                           if raw != name and name in adapter.classes},
            synthgen_version=__version__,
        )
        writer.finish(provenance.to_dict())
    for kind, count in problems.dropped(drop_kinds).items():  # the user chose to drop them: say which
        first = [p.where for p in problems.items if p.kind == kind][:5]
        log.info("dropped %d %s row(s): %s%s", count, kind, ", ".join(first), ", …" if count > 5 else "")
    if map_path is not None:
        write_source_map(map_path, names)
        log.info("source names are hashed in %s; the hash -> name map is %s: keep it, never share it", out, map_path)
    log.info("prepared %d images of %d classes into %s", len(writer.rows), len(adapter.classes), out)
    return ImageSet.open(out)


def _default_name(source: Path, salt: bytes, keep_source_names: bool) -> str:
    """The source's name, or (names hashed) a hash of it: folder names can identify too."""
    stem = source.resolve().stem
    return stem if keep_source_names else "set-" + hashed_source(stem, salt)[len("S"):]
