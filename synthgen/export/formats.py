"""Export formats: each turns one image into the files it writes and its row of manifest.csv.

`Encoder.files()` returns (relative path, bytes) pairs; `finish()` writes the format's own
whole-set files. The exported `manifest.csv` (EXPORT_COLUMNS, finding_<name> 0/1 columns, then the
format's extras) is what `synthgen prepare OUT --labels OUT/manifest.csv` reads back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from synthgen.export.codes import Code, code_table
from synthgen.export.dicom_writer import DicomWriter
from synthgen.export.identities import DicomIdentity
from synthgen.export.provenance import SetProvenance
from synthgen.imageset import DATASET_FILE, MANIFEST_FILE, ImageSet, finding_column

EXPORT_MANIFEST = MANIFEST_FILE
EXPORT_COLUMNS = ("path", "label", "findings", "patient_id", "split", "source_image_id", "sha256")


class Encoder:
    """Base: the manifest row shared by all formats; subclasses add files and extra columns."""

    needs_pixels = True
    extra_columns: tuple[str, ...] = ()
    writes_manifest = True

    def __init__(self, image_set: ImageSet, provenance: SetProvenance) -> None:
        self.image_set = image_set
        self.provenance = provenance
        self.findings = image_set.findings

    @classmethod
    def create(cls, image_set: ImageSet, provenance: SetProvenance, *, codes: Mapping[str, Code] | None = None,
               compression: str = "none") -> Encoder:
        """The encoder for one export (the settings only DICOM uses are ignored by the others)."""
        return cls(image_set, provenance)

    def columns(self) -> list[str]:
        return [*EXPORT_COLUMNS, *(finding_column(f) for f in self.findings), *self.extra_columns]

    def positive(self, row: Mapping[str, str]) -> list[str]:
        return [f for f in self.findings if row.get(finding_column(f)) == "1"]

    def manifest_row(self, row: Mapping[str, str], identity: DicomIdentity, path: str, sha256: str) -> dict:
        out = {
            "path": path, "label": row["label"], "findings": "|".join(self.positive(row)),
            "patient_id": identity.patient_id, "split": row["split"], "source_image_id": row["image_id"],
            "sha256": sha256,
        }
        out.update({finding_column(f): row.get(finding_column(f), "0") for f in self.findings})
        return out

    def files(self, pixels: np.ndarray | None, png: bytes, row: Mapping[str, str],
              identity: DicomIdentity) -> list[tuple[str, bytes]]:
        raise NotImplementedError

    def finish(self, stage: Path, manifest_rows: Sequence[Mapping[str, str]]) -> list[str]:
        """Write whole-set files into `stage`; returns their relative paths."""
        return []


class DicomEncoder(Encoder):
    extra_columns = ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")

    def __init__(self, image_set: ImageSet, provenance: SetProvenance, codes: Mapping[str, Code],
                 compression: str = "none") -> None:
        super().__init__(image_set, provenance)
        self.writer = DicomWriter(provenance, codes, self.findings, image_set.image_size, compression)

    @classmethod
    def create(cls, image_set, provenance, *, codes=None, compression="none"):
        table = code_table([*image_set.classes, *image_set.findings], codes, where=str(image_set.root))
        return cls(image_set, provenance, table, compression)

    def files(self, pixels, png, row, identity):
        return [(f"images/{row['image_id']}.dcm", self.writer.encode(pixels, row, identity))]

    def manifest_row(self, row, identity, path, sha256):
        out = super().manifest_row(row, identity, path, sha256)
        out.update(SOPInstanceUID=identity.sop_uid, StudyInstanceUID=identity.study_uid,
                   SeriesInstanceUID=identity.series_uid)
        return out


class PngEncoder(Encoder):
    """The image-set layout itself: PNGs byte for byte, the set's own manifest.csv and dataset.json."""

    needs_pixels = False
    writes_manifest = False

    def files(self, pixels, png, row, identity):
        return [(row["path"], png)]

    def finish(self, stage, manifest_rows):
        for name in (MANIFEST_FILE, DATASET_FILE):
            (stage / name).write_bytes((self.image_set.root / name).read_bytes())
        return [MANIFEST_FILE, DATASET_FILE]
