"""A folder of class subfolders (`NORMAL/*.jpeg`, `PNEUMONIA/*.jpeg`), optionally under split
folders (`train/NORMAL/...`, `test/NORMAL/...`), whose split is then kept."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from synthgen.errors import SynthgenError
from synthgen.imageset.format import normalize_name
from synthgen.sources.base import SourceAdapter, SourceOptions, SourceRecord
from synthgen.sources.image_files import decode_image_file, list_image_files
from synthgen.sources.labels import drop_unknown_classes, parse_split, resolve_vocabulary

log = logging.getLogger(__name__)


def patient_from_name(name: str, pattern: re.Pattern | None, path: Path) -> str:
    """The patient ID that `pattern` finds in a file name (first group, else the whole match)."""
    if pattern is None:
        return name
    match = pattern.search(name)
    if match is None:
        raise SynthgenError(f"--patient-pattern {pattern.pattern!r} does not match file {path}; fix the pattern")
    return match.group(1) if match.groups() else match.group(0)


def compile_patient_pattern(options: SourceOptions) -> re.Pattern | None:
    if not options.patient_pattern:
        return None
    try:
        return re.compile(options.patient_pattern)
    except re.error as err:
        raise SynthgenError(f"--patient-pattern {options.patient_pattern!r} is not a valid regex: {err}") from None


def visible_subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


class ClassFolderSource(SourceAdapter):
    format_name = "folders"
    description = "class subfolders of PNG/JPEG images (optionally under train/val/test folders)"

    @classmethod
    def detect(cls, path: Path, options: SourceOptions) -> bool:
        return path.is_dir() and options.labels_csv is None and bool(visible_subfolders(path))

    def records(self) -> list[SourceRecord]:
        if not self.path.is_dir():
            raise SynthgenError(f"source {self.path} is not a folder")
        subfolders = visible_subfolders(self.path)
        if not subfolders:
            raise SynthgenError(
                f"{self.path} has no class subfolders; put images in one folder per class or pass --labels CSV"
            )
        split_names = {sub.name: parse_split(sub.name, str(sub)) if _is_split_name(sub.name) else None for sub in subfolders}
        if all(split_names.values()):
            layout = [(split_names[s.name], c) for s in subfolders for c in visible_subfolders(s)]
        else:
            layout = [(None, c) for c in subfolders]
        pattern = compile_patient_pattern(self.options)
        records = []
        for split, class_dir in layout:
            files = list_image_files(class_dir)
            if not files:
                raise SynthgenError(f"class folder {class_dir} has no images (PNG/JPEG/TIFF/BMP); add some or remove it")
            label = normalize_name(class_dir.name)
            self.label_names[class_dir.name] = label
            for path in files:
                relative = path.relative_to(self.path).as_posix()
                patient = patient_from_name(path.name, pattern, path) if pattern else relative
                records.append(SourceRecord(relative, label, patient, split, frozenset(), path, origin=relative))
        records = drop_unknown_classes(records, self.options.classes, self.problems)
        if not records:
            return []
        if pattern is None:
            log.warning("no --patient-pattern: every image counts as its own patient, so splits are image-level")
        self.classes = resolve_vocabulary({r.label for r in records}, self.options.classes, "class", str(self.path))
        return records

    def decode(self, record: SourceRecord) -> np.ndarray:
        return decode_image_file(record.ref)


def _is_split_name(name: str) -> bool:
    return name.lower() in {"train", "training", "val", "valid", "validation", "test", "testing"}
