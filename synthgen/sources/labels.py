"""Label tables (CSV) and class/finding vocabularies, shared by the adapters that take `--labels`."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from synthgen.errors import SynthgenError
from synthgen.imageset.format import SPLITS, normalize_name
from synthgen.sources.base import SourceOptions, SourceRecord
from synthgen.source_problems import ProblemLog

_SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                  "validation": "val", "test": "test", "testing": "test"}


@dataclass(frozen=True)
class LabelRow:
    """One CSV row: `key` is the value of the path (or UID) column; `line` is for error messages;
    `label` is the class name matched from `raw_label` (case and spacing ignored)."""

    line: int
    key: str
    label: str
    patient: str | None
    findings: frozenset[str]
    split: str | None
    raw_label: str = ""


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


def read_label_csv(path: Path, options: SourceOptions, key_column: str, problems: ProblemLog) -> list[LabelRow]:
    """Read and check a labels CSV: required columns present; rows with an empty key or label, or a
    key listed again, go into `problems` and are left out."""
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
            rows, first_line, seen_any = [], {}, False
            for line, raw in enumerate(reader, start=2):
                seen_any = True
                where = f"{path.name} line {line}"
                key, label = (raw.get(key_column) or "").strip(), (raw.get(options.label_column) or "").strip()
                if not key:
                    problems.add("missing-file", where, f"{path} line {line}: column {key_column!r} is empty; "
                                 "every row needs one")
                    continue
                if not label:
                    problems.add("empty-label", where, f"{path} line {line}: column {options.label_column!r} is "
                                 "empty; give every image a label")
                    continue
                if key in first_line:
                    problems.add("duplicate-row", where, f"{path} lines {first_line[key]} and {line}: "
                                 f"{key_column!r} value {key!r} appears twice")
                    continue
                first_line[key] = line
                patient = (raw.get(options.patient_column) or "").strip() if options.patient_column else None
                findings = (
                    parse_findings(raw.get(options.findings_column) or "", options.findings_separator, options.no_finding)
                    if options.findings_column
                    else frozenset()
                )
                split = (parse_split(raw.get(options.split_column) or "", f"{path} line {line}")
                         if options.split_column else None)
                rows.append(LabelRow(line, key, normalize_name(label), patient or None, findings, split, label))
    except UnicodeDecodeError:
        raise SynthgenError(f"labels CSV {path} is not UTF-8 text; save it as UTF-8 CSV") from None
    except csv.Error as err:
        raise SynthgenError(f"labels CSV {path} is not valid CSV: {err}") from None
    if not seen_any:
        raise SynthgenError(f"labels CSV {path} has no rows")
    return rows


def drop_unknown_classes(records: list[SourceRecord], requested: tuple[str, ...] | None, problems: ProblemLog,
                         where: dict[int, str] | None = None) -> list[SourceRecord]:
    """`records` without those whose label is not in `requested` (each such row becomes a problem)."""
    if requested is None:
        return records
    names = [normalize_name(n) for n in requested]
    kept = []
    for i, record in enumerate(records):
        if record.label in names:
            kept.append(record)
            continue
        location = (where or {}).get(i, record.where)
        problems.add("unknown-class", location, f"{location}: class value {record.label!r} is not in --classes "
                     f"({', '.join(names)}); add it or fix the label")
    return kept


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
