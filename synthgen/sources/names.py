"""Source names out of image sets: file and folder names become salted hashes by default.

Input file and folder names often carry identifiers (DICOM UIDs, acquisition dates, accession
numbers, patient names). Unless the user keeps names (`--keep-source-names`, for non-sensitive
sets), the `source` column holds `S` + 12 hex digits of HMAC-SHA256 under the pseudonym salt, and
the hash -> name map goes to a separate CSV beside the image set whose name says not to share it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

from synthgen.atomic import write_text_atomic
from synthgen.errors import SynthgenError
from synthgen.pseudonym import pseudonym

SOURCE_PREFIX = "S"
MAP_SUFFIX = ".PRIVATE-source-names.csv"  # "PRIVATE" in the name: nobody ships it by mistake
MAP_COLUMNS = ("image_id", "source", "original_source")


def hashed_source(origin: str, salt: bytes) -> str:
    """The `source` column value of an image whose raw relative path (or key) is `origin`."""
    return pseudonym(origin, salt, SOURCE_PREFIX)


def default_map_path(out: Path) -> Path:
    """Beside the image set, not inside it: `runs/k64` -> `runs/k64.PRIVATE-source-names.csv`."""
    out = Path(out)
    return out.with_name(out.name + MAP_SUFFIX)


def check_map_path(path: Path, out: Path) -> Path:
    """The map must not land inside the image set (it would be shipped with it)."""
    path, out = Path(path), Path(out)
    if path.resolve().is_relative_to(out.resolve()):
        raise SynthgenError(f"--source-map {path} is inside the image set {out}: put it outside the set, "
                            "where it is not shared")
    if path.is_dir():
        raise SynthgenError(f"--source-map {path} is a folder: give a file path (e.g. {default_map_path(out)})")
    return path


def write_source_map(path: Path, rows: Sequence[tuple[str, str, str]]) -> None:
    """(image_id, source hash, original name) rows, written atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MAP_COLUMNS)
    writer.writerows(rows)
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(Path(path), buffer.getvalue())
    except OSError as err:
        raise SynthgenError(f"cannot write the source-name map {path}: {err.strerror}") from None


def hide_paths(provenance: dict, salt: bytes) -> dict:
    """A source's provenance block with every `path` value (source folder, labels CSV) hashed."""
    hidden = {}
    for key, value in provenance.items():
        if isinstance(value, dict):
            hidden[key] = hide_paths(value, salt)
        elif key == "path" and isinstance(value, str):
            hidden[key] = hashed_source(value, salt)
        else:
            hidden[key] = value
    return hidden


def redact_patient(source: str, patient_key: str, patient_id: str) -> str:
    """The source path with the raw patient ID replaced by its pseudonym (for kept names).

    File names often carry the patient ID (NIH '00000002_000.png', Kermany 'person1_bacteria_1.jpeg');
    the image set must never show it.
    """
    if patient_key == source:
        return source
    # Only whole tokens: patient '12' must not rewrite 'img_0123.png'.
    return re.sub(rf"(?<![0-9A-Za-z]){re.escape(patient_key)}(?![0-9A-Za-z])", patient_id, source)
