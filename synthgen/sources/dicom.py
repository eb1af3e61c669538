"""A folder of DICOM radiographs (CR/DX/...), labelled by class subfolders or a labels CSV.

The CSV is keyed by relative file path (`--path-column`) or by SOPInstanceUID (`--uid-column`).
`records()` reads headers only and rejects what cannot be a single grey radiograph; `decode()`
reads the pixels (see `dicom_pixels`). Identifiers found in a file's header are never copied into
the record's `source`: where they appear in the file path they are replaced by salted pseudonyms.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from synthgen.errors import SynthgenError
from synthgen.imageset.format import normalize_name
from synthgen.pseudonym import pseudonym, resolve_salt
from synthgen.sources.base import SourceAdapter, SourceOptions, SourceRecord
from synthgen.sources.dicom_pixels import MONOCHROME, check_decoder, radiograph_pixels, transfer_syntax_of, uid_name
from synthgen.sources.image_files import IMAGE_SUFFIXES
from synthgen.sources.labels import drop_unknown_classes, read_label_csv, resolve_vocabulary

log = logging.getLogger(__name__)

DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})
_NEVER_DICOM = IMAGE_SUFFIXES | {".csv", ".txt", ".json", ".md", ".npz", ".npy", ".gz", ".zip"}
_PIXEL_TAGS = (b"\xe0\x7f\x10\x00", b"\x7f\xe0\x00\x10")  # (7FE0,0010) little / big endian
# Header values that identify a patient or study, and the pseudonym prefix replacing them in paths.
_IDENTIFIERS = {
    "PatientID": "P", "OtherPatientIDs": "P", "PatientName": "N", "AccessionNumber": "A",
    "StudyInstanceUID": "U", "SeriesInstanceUID": "U", "SOPInstanceUID": "U",
    "PatientBirthDate": "D", "StudyDate": "D", "SeriesDate": "D", "AcquisitionDate": "D", "ContentDate": "D",
}


def is_dicom_file(path: Path) -> bool:
    """A `.dcm`/`.dicom` file, or any other (non-image) file with 'DICM' at byte 128."""
    if not path.is_file() or path.name.startswith(".") or path.name.upper() == "DICOMDIR":
        return False
    suffix = path.suffix.lower()
    if suffix in DICOM_SUFFIXES:
        return True
    if suffix in _NEVER_DICOM:
        return False
    with path.open("rb") as handle:
        return handle.read(132)[128:] == b"DICM"


def _visible_files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            yield path


@dataclass(frozen=True)
class _Header:
    """What `records()` keeps of one header (no datasets held: sources can have 100k files)."""

    path: Path
    relative: str
    sop_uid: str
    patient: str | None
    identifiers: tuple[tuple[str, str], ...]  # (value, pseudonym prefix)
    sop_class: str
    modality: str
    transfer_syntax: str


class DicomSource(SourceAdapter):
    format_name = "dicom"
    description = "a folder of DICOM files (.dcm), labelled by class subfolders or --labels CSV"

    def __init__(self, path: Path, options: SourceOptions) -> None:
        super().__init__(path, options)
        salt = options.extra.get("salt")
        self._salt = salt.encode("utf-8") if isinstance(salt, str) else salt or resolve_salt(None)
        self._seen: dict[str, Counter] = {}

    @classmethod
    def detect(cls, path: Path, options: SourceOptions) -> bool:
        return path.is_dir() and any(is_dicom_file(p) for p in _visible_files(path))

    def records(self) -> list[SourceRecord]:
        if not self.path.is_dir():
            raise SynthgenError(f"DICOM source {self.path} is not a folder")
        files = []
        for path in _visible_files(self.path):
            if is_dicom_file(path):
                files.append(path)
            else:
                log.debug("skipping %s: not a DICOM file", path)
        if not files:
            raise SynthgenError(f"{self.path} holds no DICOM files (.dcm or 'DICM' preamble)")
        if self.options.labels_csv is not None:
            labelled = self._labels_from_csv(files)
        else:
            labelled = self._labels_from_folders(files)
        self._seen = {key: Counter() for key in ("sop_classes", "modalities", "transfer_syntaxes")}
        records = []
        for header, label, patient, split, findings in labelled:
            self._seen["sop_classes"][header.sop_class] += 1
            self._seen["modalities"][header.modality] += 1
            self._seen["transfer_syntaxes"][header.transfer_syntax] += 1
            patient_key = patient or header.patient or header.relative
            own_id = () if patient_key == header.relative else ((patient_key, "P"),)
            source = self._redact(header.relative, header.identifiers + own_id)
            records.append(SourceRecord(source, label, patient_key, split, findings, header.path,
                                        origin=header.relative))
        records = drop_unknown_classes(records, self.options.classes, self.problems)
        if not records:
            return []
        if not self.options.patient_column and any(h.patient is None for h, *_ in labelled):
            log.warning("some DICOM files have no PatientID, PatientName or StudyInstanceUID: each counts as its own patient")
        where = str(self.options.labels_csv or self.path)
        self.classes = resolve_vocabulary({r.label for r in records}, self.options.classes, "class", where)
        if self.options.findings_column:
            found = {f for r in records for f in r.findings}
            self.findings = resolve_vocabulary(found, self.options.findings, "finding", where)
        return records

    def _labels_from_folders(self, files: list[Path]) -> list[tuple]:
        loose = [p for p in files if p.parent == self.path]
        if loose:
            raise SynthgenError(
                f"DICOM file {loose[0]} sits directly in {self.path}: put files in one subfolder per class "
                "or pass --labels CSV (with --path-column or --uid-column)"
            )
        labelled = []
        for path in files:
            header = self._header_or_problem(path)
            if header is None:
                continue
            folder = path.relative_to(self.path).parts[0]
            self.label_names[folder] = normalize_name(folder)
            labelled.append((header, normalize_name(folder), None, None, frozenset()))
        return labelled

    def _labels_from_csv(self, files: list[Path]) -> list[tuple]:
        options, csv_path = self.options, self.options.labels_csv
        by_uid = options.uid_column is not None
        rows = read_label_csv(csv_path, options, options.uid_column if by_uid else options.path_column, self.problems)
        if by_uid:
            headers = {h.sop_uid: h for h in map(self._header_or_problem, files) if h is not None}
        else:
            relative = {p.relative_to(self.path).as_posix(): p for p in files}
        labelled, used = [], set()
        for row in rows:
            where, short = f"{csv_path} line {row.line}", f"{Path(csv_path).name} line {row.line}"
            if by_uid:
                header = headers.get(row.key)
                if header is None:
                    self.problems.add("missing-file", short, f"{where}: no readable DICOM file under {self.path} "
                                      f"has SOPInstanceUID {row.key}; fix the row or remove it")
                    continue
            else:
                key = row.key.replace("\\", "/").removeprefix("./")
                if key not in relative:
                    exists = (self.path / key).is_file()
                    problem = "is not a DICOM file" if exists else "does not exist"
                    self.problems.add("unreadable-image" if exists else "missing-file", short,
                                      f"{where}: file {self.path / key} {problem}; fix the path or remove the row")
                    continue
                header = self._header_or_problem(relative[key])
                if header is None:
                    continue
            used.add(header.path)
            self.label_names[row.raw_label] = row.label
            labelled.append((header, row.label, row.patient, row.split, row.findings))
        if unlisted := len(files) - len(used):
            log.warning("%d DICOM files under %s are not in %s: skipped", unlisted, self.path, csv_path)
        return labelled

    def _header_or_problem(self, path: Path) -> _Header | None:
        """The header of `path`, or None with an unreadable-image problem logged."""
        try:
            return self._read_header(path)
        except SynthgenError as err:
            self.problems.add("unreadable-image", path.relative_to(self.path).as_posix(), str(err))
            return None

    def _read_header(self, path: Path) -> _Header:
        """Header of one file (pixels not read), rejecting anything but a single-frame grey image."""
        try:
            with path.open("rb") as handle:
                ds = pydicom.dcmread(handle, stop_before_pixels=True, force=True)
                remaining = path.stat().st_size - handle.tell()  # bytes from the pixel data element on
                pixel_tag = handle.read(12)
        except Exception as err:  # a damaged header can fail anywhere in pydicom's parser
            raise SynthgenError(f"{path} is not a readable DICOM file ({err}); remove or replace it") from None
        if "SOPClassUID" not in ds and "Rows" not in ds and not getattr(ds, "file_meta", None):
            raise SynthgenError(f"{path} is not a readable DICOM file (no DICOM header found); remove or replace it")
        self._check_image(ds, path, pixel_tag, remaining)
        transfer_syntax = transfer_syntax_of(ds)
        check_decoder(transfer_syntax, path)
        patient = next((str(ds.get(k)) for k in ("PatientID", "PatientName", "StudyInstanceUID") if ds.get(k)), None)
        return _Header(
            path, path.relative_to(self.path).as_posix(), str(ds.get("SOPInstanceUID", "")), patient,
            identifier_values(ds), uid_name(ds.get("SOPClassUID")), str(ds.get("Modality") or "unknown"),
            uid_name(transfer_syntax),
        )

    @staticmethod
    def _check_image(ds: Dataset, path: Path, pixel_tag: bytes, remaining: int) -> None:
        if pixel_tag[:4] not in _PIXEL_TAGS:
            raise SynthgenError(f"{path} has no pixel data: not an image object (SR/PR/KO?) or a truncated file; "
                                "remove it or leave it out of --labels")
        # Explicit VR: tag, 'OB'/'OW', 2 reserved bytes, 4-byte length; implicit VR: tag, 4-byte length.
        explicit = pixel_tag[4:6] in (b"OB", b"OW")
        order = "little" if pixel_tag[0] == 0xE0 else "big"
        length = int.from_bytes(pixel_tag[8:12] if explicit else pixel_tag[4:8], order)
        remaining -= 12 if explicit else 8
        if length != 0xFFFFFFFF and length > remaining:
            raise SynthgenError(f"{path} is truncated or its pixel data cannot be decoded: "
                                f"{max(remaining, 0)} of {length} pixel bytes present; replace the file")
        frames = ds.get("NumberOfFrames")
        if frames is not None and int(frames or 1) > 1:
            raise SynthgenError(f"{path} is a multi-frame image ({frames} frames): only single radiographs are "
                                "supported; split the frames into separate files or leave it out")
        photometric = str(ds.get("PhotometricInterpretation", "")).strip()
        if int(ds.get("SamplesPerPixel", 1)) != 1 or photometric.startswith(("RGB", "YBR")):
            raise SynthgenError(f"{path}: colour images are not supported; convert to grayscale")
        if photometric not in MONOCHROME:
            raise SynthgenError(f"{path}: unsupported photometric interpretation {photometric or 'missing'} "
                                "(only MONOCHROME1/MONOCHROME2 radiographs); convert or leave it out")
        if not ds.get("Rows") or not ds.get("Columns") or not ds.get("BitsStored"):
            raise SynthgenError(f"{path} lacks Rows, Columns or BitsStored: not a valid image; replace the file")

    def _redact(self, relative: str, identifiers: tuple[tuple[str, str], ...]) -> str:
        """`relative` with every identifier value in it replaced by its salted pseudonym, longest first.

        Values of 4+ characters are replaced wherever they occur (case-insensitively), shorter ones
        only as whole tokens, so patient '12' does not rewrite 'img_0123.dcm'.
        """
        for value, prefix in sorted(set(identifiers), key=lambda item: -len(item[0])):
            pattern = re.escape(value) if len(value) >= 4 else rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])"
            relative = re.sub(pattern, pseudonym(value, self._salt, prefix), relative, flags=re.IGNORECASE)
        return relative

    def decode(self, record: SourceRecord) -> np.ndarray:
        path = Path(record.ref)
        try:
            ds = pydicom.dcmread(path, force=True)
        except Exception as err:  # as in _read_header: damage can surface anywhere in the parser
            raise SynthgenError(f"{path} is truncated or its pixel data cannot be decoded: {err}") from None
        check_decoder(transfer_syntax_of(ds), path)
        try:
            if "PixelData" not in ds:
                raise ValueError("the pixel data element ends early or is missing")
            stored = ds.pixel_array
        except Exception as err:  # decoder plugins raise anything from ValueError to struct.error
            if "missing dependencies" in str(err):
                raise SynthgenError(f"{path}: no pixel-data decoder plugin available: {err}") from None
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise SynthgenError(f"{path} is truncated or its pixel data cannot be decoded: {message}") from None
        if stored.ndim != 2:
            raise SynthgenError(f"{path} decodes to shape {stored.shape}, not a single grey image; convert it")
        return radiograph_pixels(ds, stored, str(path))

    def provenance(self) -> dict:
        info = super().provenance()
        info["files"] = sum(self._seen.get("modalities", Counter()).values())
        info.update({key: dict(sorted(counts.items())) for key, counts in self._seen.items()})
        if self.options.labels_csv is not None:
            csv_path = Path(self.options.labels_csv)
            info["labels_csv"] = {"path": str(csv_path), "sha256": hashlib.sha256(csv_path.read_bytes()).hexdigest()}
        return info


def identifier_values(ds: Dataset) -> tuple[tuple[str, str], ...]:
    """(value, prefix) for every identifying header value, names also split into their components."""
    found = []
    for keyword, prefix in _IDENTIFIERS.items():
        value = ds.get(keyword)
        values = list(value) if isinstance(value, pydicom.multival.MultiValue) else [value]
        for item in values:
            text = str(item or "").strip()
            parts = [text]
            if keyword == "PatientName":
                parts += [p.strip() for p in re.split(r"[\^=]", text) if len(p.strip()) >= 3]
            found += [(part, prefix) for part in parts if part]
    return tuple(found)
