"""`export`: write an image set as DICOM, NIfTI, PNG or a MONAI datalist, optionally push to a PACS.

    export(image_set, out, format="dicom")   ->  out/images/<image_id>.dcm
                                                 out/manifest.csv            labels, pseudonyms, UIDs
                                                 out/ro-crate-metadata.json  every file with its sha256
                                                 out/pacs-push.json          with `to`: what was sent

Everything is written into a staging folder beside `out` and renamed at the end: a bad input, an
unknown label or a PACS that did not take every instance leaves no export folder behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from synthgen.atomic import check_output_folder, staged_folder
from synthgen.errors import SynthgenError
from synthgen.export.codes import Code
from synthgen.export.datalist import DatalistEncoder
from synthgen.export.formats import EXPORT_MANIFEST, DicomEncoder, Encoder, PngEncoder
from synthgen.export.identities import plan_identities
from synthgen.export.nifti import NiftiEncoder
from synthgen.export.options import ExportOptions
from synthgen.export.pacs import Destination, PushSummary, parse_destination, push
from synthgen.export.provenance import SetProvenance
from synthgen.export.reading import open_for_export, read_images
from synthgen.export.rocrate import CRATE_FILE, ExportedFile, crate_bytes
from synthgen.imageset.writer import manifest_bytes
from synthgen.progress import progress_bar

log = logging.getLogger(__name__)

# The export formats: name -> Encoder class (one module each). A new format is a module and a line here.
ENCODERS: dict[str, type[Encoder]] = {
    "dicom": DicomEncoder,
    "nifti": NiftiEncoder,
    "png": PngEncoder,
    "datalist": DatalistEncoder,
}
FORMATS = tuple(ENCODERS)
PUSH_LOG = "pacs-push.json"
_WRITE_AHEAD = 64  # encoded files waiting for a writer thread: bounds memory


@dataclass
class ExportResult:
    out: Path
    format: str
    files: int
    push: PushSummary | None = None
    manifest: list[dict] = field(default_factory=list)


def export(
    image_set: Path | str,
    out: Path | str,
    options: ExportOptions | None = None,
    *,
    codes: Mapping[str, Code] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    **changes,
) -> ExportResult:
    """Export IMAGE_SET into the folder OUT (see the module docstring). `options` (an ExportOptions;
    keyword arguments change single fields, e.g. `format="png"`) say how; `codes` add DICOM codes for
    labels the built-in table lacks."""
    o = replace(options or ExportOptions(), **changes)
    format, compression = o.format, o.compression
    if format not in ENCODERS:
        raise SynthgenError(f"--format {format!r} is not one of {', '.join(ENCODERS)}")
    if compression != "none" and format != "dicom":
        raise SynthgenError(f"--compression {compression} applies to --format dicom only")
    destination: Destination | None = parse_destination(o.to) if o.to else None
    if destination is not None and format != "dicom":
        raise SynthgenError(f"--to sends DICOM: use it with --format dicom, not {format}")
    out = Path(out)
    check_output_folder(out, overwrite)
    opened = open_for_export(image_set, o.filtered_only)
    provenance = SetProvenance.of(opened)
    encoder = ENCODERS[format].create(opened, provenance, codes=codes, compression=compression)
    identities = plan_identities(opened.rows, provenance)
    workers = o.workers or min(2, os.cpu_count() or 1)
    manifest: list[dict] = []
    pending: deque[Future] = deque()
    exported: list[ExportedFile] = []
    summary = None
    with staged_folder(out, overwrite) as stage, ThreadPoolExecutor(workers) as writers:
        (stage / "images").mkdir()
        with progress_bar(len(opened.rows), f"export {format}", enabled=progress) as advance:
            for item in read_images(opened, decode=encoder.needs_pixels, workers=workers):
                identity = identities[item.index]
                files = encoder.files(item.pixels, item.png, item.row, identity)
                # Files are written and hashed in threads (both release the GIL) while the next is encoded.
                pending.extend(writers.submit(_write, stage, relpath, data) for relpath, data in files)
                manifest.append(encoder.manifest_row(item.row, identity, files[0][0], ""))  # sha256 below
                while len(pending) > _WRITE_AHEAD:
                    exported.append(pending.popleft().result())
                advance(1)
            exported.extend(future.result() for future in pending)
        checksums = {item.path: item.sha256 for item in exported}
        for row in manifest:
            row["sha256"] = checksums[row["path"]]
        whole_set = encoder.finish(stage, manifest)
        if encoder.writes_manifest:
            (stage / EXPORT_MANIFEST).write_bytes(manifest_bytes(manifest, encoder.columns()))
            whole_set.append(EXPORT_MANIFEST)
        listed = [ExportedFile(p, (stage / p).stat().st_size, hashlib.sha256((stage / p).read_bytes()).hexdigest())
                  for p in whole_set]
        (stage / CRATE_FILE).write_bytes(crate_bytes(listed + exported, provenance, format))
        if destination is not None:
            summary = _push(stage, manifest, destination, o.retries, o.backoff, progress)
    log.info("exported %d images of %s as %s into %s", len(manifest), opened.root, format, out)
    return ExportResult(out, format, len(exported), summary, manifest)


def _write(stage: Path, relpath: str, data: bytes) -> ExportedFile:
    (stage / relpath).write_bytes(data)
    return ExportedFile(relpath, len(data), hashlib.sha256(data).hexdigest())


def _push(stage: Path, manifest: list[dict], destination: Destination, retries: int, backoff: float,
          progress: bool) -> PushSummary:
    files = [(stage / row["path"], row["SOPInstanceUID"]) for row in manifest]
    with progress_bar(len(files), f"send {destination.kind}", unit="instances", enabled=progress) as advance:
        summary = push(files, destination, retries=retries, backoff=backoff, on_sent=advance)
    if summary.failed:
        first_uid, reason = next(iter(summary.failed.items()))
        raise SynthgenError(
            f"{destination}: {len(summary.failed)} of {len(files)} instance(s) not stored "
            f"(e.g. {first_uid}: {reason}); "
            "nothing was exported; fix the PACS or the address and re-run (re-sending is idempotent)"
        )
    (stage / PUSH_LOG).write_text(json.dumps(summary.as_json(), indent=1) + "\n")
    log.info("sent %d instance(s) to %s", len(summary.sent), destination)
    return summary
