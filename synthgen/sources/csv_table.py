"""A folder of PNG/JPEG images plus a labels CSV (`--labels`): paths relative to the folder, one
label column, optional patient, multi-label findings and split columns."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from synthgen.errors import SynthgenError
from synthgen.sources.base import SourceAdapter, SourceOptions, SourceRecord
from synthgen.sources.class_folders import compile_patient_pattern, patient_from_name
from synthgen.sources.image_files import IMAGE_SUFFIXES, decode_image_file
from synthgen.sources.labels import drop_unknown_classes, read_label_csv, resolve_vocabulary

log = logging.getLogger(__name__)


class CsvTableSource(SourceAdapter):
    format_name = "csv"
    description = "a folder of PNG/JPEG images with a labels CSV (--labels)"

    @classmethod
    def detect(cls, path: Path, options: SourceOptions) -> bool:
        return options.labels_csv is not None and path.is_dir()

    def records(self) -> list[SourceRecord]:
        if self.options.labels_csv is None:
            raise SynthgenError(f"source {self.path} needs a labels CSV: pass --labels FILE.csv")
        if not self.path.is_dir():
            raise SynthgenError(f"source {self.path} is not a folder")
        rows = read_label_csv(self.options.labels_csv, self.options, self.options.path_column, self.problems)
        pattern = compile_patient_pattern(self.options)
        records, lines, csv_name = [], {}, Path(self.options.labels_csv).name
        for row in rows:
            path = self.path / row.key
            where, short = f"{self.options.labels_csv} line {row.line}", f"{csv_name} line {row.line}"
            if not path.is_file():
                self.problems.add("missing-file", short,
                                  f"{where}: image {path} does not exist; fix the path or remove the row")
                continue
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                self.problems.add("unreadable-image", short, f"{where}: {path} is not a "
                                  "PNG/JPEG/TIFF/BMP file; use --format dicom for DICOM")
                continue
            patient = row.patient or (patient_from_name(path.name, pattern, path) if pattern else row.key)
            lines[len(records)] = short
            self.label_names[row.raw_label] = row.label
            records.append(SourceRecord(Path(row.key).as_posix(), row.label, patient, row.split, row.findings, path,
                                        origin=Path(row.key).as_posix()))
        records = drop_unknown_classes(records, self.options.classes, self.problems, lines)
        if not records:
            return []
        if not self.options.patient_column and pattern is None:
            log.warning("no --patient-column: every image counts as its own patient, so splits are image-level")
        where = str(self.options.labels_csv)
        self.classes = resolve_vocabulary({r.label for r in records}, self.options.classes, "class", where)
        if self.options.findings_column:
            found = {f for r in records for f in r.findings}
            self.findings = resolve_vocabulary(found, self.options.findings, "finding", where)
        return records

    def decode(self, record: SourceRecord) -> np.ndarray:
        return decode_image_file(record.ref)

    def provenance(self) -> dict:
        info = super().provenance()
        csv_path = Path(self.options.labels_csv)
        info["labels_csv"] = {"path": str(csv_path), "sha256": hashlib.sha256(csv_path.read_bytes()).hexdigest()}
        return info
