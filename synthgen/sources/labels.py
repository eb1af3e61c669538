"""Label tables (CSV) and class/finding vocabularies, shared by the adapters that take `--labels`."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from synthgen.errors import SynthgenError
from synthgen.imageset.format import SPLITS, normalize_name
from synthgen.sources.base import SourceOptions

_SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                  "validation": "val", "test": "test", "testing": "test"}


@dataclass(frozen=True)
class LabelRow:
    """One CSV row: `key` is the value of the path (or UID) column; `line` is for error messages."""

    line: int
    key: str
    label: str
    patient: str | None
    findings: frozenset[str]
    split: str | None


def parse_findings(value: str, separator: str, no_finding: str) -> frozenset[str]:
    """'Effusion|Infiltration' -> {'effusion', 'infiltration'}; the no-finding value -> {}."""
    parts = [part.strip() for part in value.split(separator)] if value.strip() else []
    return frozenset(normalize_name(p) for p in parts if p and p != no_finding)


def parse_split(value: str, where: str) -> str | None:
    if not value.strip():
        return None
    split = _SPLIT_ALIASES.get(value.strip().lower())
    if split is None:
        raise SynthgenError(f"{where}: split {value!r} is not one of {', '.join(SPLITS)} (or valid/validation)")
    return split


def read_label_csv(path: Path, options: SourceOptions, key_column: str) -> list[LabelRow]:
    """Read and check a labels CSV: required columns present, no empty key or label."""
    path = Path(path)
    if not path.is_file():
        raise SynthgenError(f"labels CSV {path} does not exist: check --labels")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            wanted = [key_column, options.label_column]
            wanted += [c for c in (options.patient_column, options.findings_column, options.split_column) if c]
            missing = [c for c in wanted if c not in header]
            if missing:
                raise SynthgenError(
                    f"labels CSV {path} has no column {', '.join(repr(c) for c in missing)} "
                    f"(columns: {', '.join(header) or 'none'}); name the right one with the matching --*-column option"
                )
            rows = []
            for line, raw in enumerate(reader, start=2):
                where = f"{path} line {line}"
                key, label = (raw.get(key_column) or "").strip(), (raw.get(options.label_column) or "").strip()
                if not key:
                    raise SynthgenError(f"{where}: column {key_column!r} is empty; every row needs one")
                if not label:
                    raise SynthgenError(f"{where}: column {options.label_column!r} is empty; give every image a label")
                patient = (raw.get(options.patient_column) or "").strip() if options.patient_column else None
                findings = (
                    parse_findings(raw.get(options.findings_column) or "", options.findings_separator, options.no_finding)
                    if options.findings_column
                    else frozenset()
                )
                split = parse_split(raw.get(options.split_column) or "", where) if options.split_column else None
                rows.append(LabelRow(line, key, normalize_name(label), patient or None, findings, split))
    except UnicodeDecodeError:
        raise SynthgenError(f"labels CSV {path} is not UTF-8 text; save it as UTF-8 CSV") from None
    except csv.Error as err:
        raise SynthgenError(f"labels CSV {path} is not valid CSV: {err}") from None
    if not rows:
        raise SynthgenError(f"labels CSV {path} has no rows")
    keys = {}
    for row in rows:
        if row.key in keys:
            raise SynthgenError(f"{path} lines {keys[row.key]} and {row.line}: {key_column!r} value {row.key!r} appears twice")
        keys[row.key] = row.line
    return rows


def resolve_vocabulary(found: Iterable[str], requested: tuple[str, ...] | None, what: str, where: str) -> list[str]:
    """The class (or finding) names of a source: `requested` in its order, else the sorted names found.

    With `requested`, a name found in the data but not requested is an error (an unknown label),
    and so is a requested name that no image carries (a class with zero images).
    """
    found_set = set(found)
    if requested is None:
        if not found_set and what == "class":
            raise SynthgenError(f"{where}: no labelled images found")
        return sorted(found_set)
    names = [normalize_name(n) for n in requested]
    unknown = sorted(found_set - set(names))
    option = "--classes" if what == "class" else "--findings"
    if unknown:
        raise SynthgenError(
            f"{where}: {what} value(s) {', '.join(map(repr, unknown))} are not in {option} "
            f"({', '.join(names)}); add them or fix the labels"
        )
    empty = [n for n in names if n not in found_set]
    if empty and what == "class":
        raise SynthgenError(
            f"{where}: class(es) {', '.join(map(repr, empty))} have zero images; drop them from --classes"
        )
    return names
