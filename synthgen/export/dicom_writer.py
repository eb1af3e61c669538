"""One Digital X-Ray Image ("For Presentation") file per image, with labels and provenance inside.

What each file holds (pydicom; highdicom has no DX constructor):
  - pixels: MONOCHROME2, 16 bits allocated; 16-bit sets are stored as they are (BitsStored 16),
    8-bit sets widened to BitsStored 12 by bit replication (v -> 16 v + v // 16, so 0 -> 0 and
    255 -> 4095, the usual depth of a radiograph) with their depth in the private element
    (0011,xx02) US; rescale slope 1 / intercept 0 and a window covering the full stored range
    (centre 2^(b-1), width 2^b) that maps every stored value onto itself. `synthgen prepare` reads
    back the identical pixels: the DICOM source narrows a synthgen file of depth 8 again, and
    round(x * 255 / 4095) inverts the replication exactly;
  - labels: AcquisitionContextSequence (0040,0555) coded items, (DCM 121073 Impression) = the class
    code and one (DCM 121071 Finding) = code per positive finding (codes from `codes.py`), plus
    ImageComments `label=...; findings=...` for people;
  - marking: SyntheticData YES for synthetic and phantom sets, ImageType DERIVED\\PRIMARY, a
    SeriesDescription starting with SYNTHETIC, synthetic patient names and IDs (`identities.py`);
  - provenance: Manufacturer synthgen + SoftwareVersions, ContributingEquipmentSequence (Processing
    Equipment), DerivationDescription (one sentence, see `provenance.py`), and the same facts as
    JSON in the private element (0011,xx01) UT of creator "synthgen 1".
ImagerPixelSpacing is nominal (a 430 mm detector across the image side): synthetic and resized
images have no true physical size.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    RLELossless,
)

from synthgen import __version__
from synthgen.dicom_private import (
    DEPTH_ELEMENT, PRIVATE_CREATOR, PRIVATE_GROUP, PROVENANCE_ELEMENT, private_tag,
)
from synthgen.errors import SynthgenError
from synthgen.export.codes import CHEST, FINDING, IMPRESSION, PROCESSING_EQUIPMENT, Code
from synthgen.export.element_bytes import FileHead, encode_elements, encode_value, join_elements
from synthgen.export.identities import DicomIdentity
from synthgen.export.provenance import SetProvenance, compact_json, view_position
from synthgen.imageset.format import finding_column

COMPRESSIONS = {"none": ExplicitVRLittleEndian, "rle": RLELossless, "jpeg2000": JPEG2000Lossless}
PRIVATE_TAG = private_tag(PROVENANCE_ELEMENT)
PRIVATE_DEPTH_TAG = private_tag(DEPTH_ELEMENT)
WIDENED_BITS = 12  # stored depth of 8-bit images
DETECTOR_SIDE_MM = 430.0
JPEG2000_MIN_SIZE = 32


def code_item(code: Code) -> Dataset:
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme
    item.CodeMeaning = code.meaning
    return item


def _context_item(name: Code, value: Code) -> Dataset:
    item = Dataset()
    item.ValueType = "CODE"
    item.ConceptNameCodeSequence = [code_item(name)]
    item.ConceptCodeSequence = [code_item(value)]
    return item


def stored_pixels(pixels: np.ndarray) -> np.ndarray:
    """The values written to the file: uint16 as they are, uint8 widened to 12 bits by bit replication."""
    if pixels.dtype == np.uint16:
        return pixels
    wide = pixels.astype(np.uint16)
    return (wide << 4) | (wide >> 4)


def _dicom_date_time(created: str) -> tuple[str, str]:
    """'2024-05-01T12:34:56Z' -> ('20240501', '123456'); empty strings when unknown."""
    if len(created) >= 19 and created[4] == "-" and created[10] == "T":
        return created[:10].replace("-", ""), created[11:19].replace(":", "")
    return "", ""


class DicomWriter:
    """Builds the attributes shared by a whole set once; `encode` adds one image's own."""

    def __init__(
        self,
        provenance: SetProvenance,
        codes: Mapping[str, Code],
        findings: Sequence[str],
        image_size: int,
        compression: str = "none",
    ) -> None:
        if compression not in COMPRESSIONS:
            raise SynthgenError(f"compression {compression!r} is not one of {', '.join(COMPRESSIONS)}")
        if compression == "jpeg2000" and image_size < JPEG2000_MIN_SIZE:
            # OpenJPEG's default of 6 resolution levels needs tiles of at least 2^5 pixels a side.
            raise SynthgenError(f"--compression jpeg2000 needs images of at least {JPEG2000_MIN_SIZE}² pixels, "
                                f"this set's are {image_size}²; use --compression rle")
        self.provenance = provenance
        self.findings = list(findings)
        self.transfer_syntax = COMPRESSIONS[compression]
        self._impressions = {label: _context_item(IMPRESSION, code) for label, code in codes.items()}
        self._finding_items = {name: _context_item(FINDING, codes[name]) for name in self.findings if name in codes}
        self._template = self._shared(image_size)
        self._shared_bytes = encode_elements(self._template, self._template.SpecificCharacterSet)
        self._head = FileHead(self._meta(None, ExplicitVRLittleEndian))
        self._encoded_labels: dict[tuple, list] = {}  # (label, findings) -> encoded context sequence
        self._encoded_pixel_modules: dict[tuple, list] = {}  # (shape, bits) -> Rows ... WindowWidth

    def _shared(self, image_size: int) -> Dataset:
        prov = self.provenance
        date, time = _dicom_date_time(prov.created)
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.ImageType = ["DERIVED", "PRIMARY"]
        ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
        ds.SOPClassUID = DigitalXRayImageStorageForPresentation
        ds.StudyDate, ds.ContentDate = date, date
        ds.StudyTime, ds.ContentTime = time, time
        ds.AccessionNumber = ""
        ds.Modality = "DX"
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.Manufacturer = "synthgen"
        ds.ReferringPhysicianName = ""
        prefix = "SYNTHETIC" if prov.synthetic else "PSEUDONYMISED"
        ds.StudyDescription = f"{prefix} chest X-ray set {prov.name}"[:64]
        ds.SeriesDescription = f"{prefix} chest X-ray (synthgen) {prov.name}"[:64]
        ds.ManufacturerModelName = "synthgen export"
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        if not prov.synthetic:
            ds.PatientIdentityRemoved = "YES"
            ds.DeidentificationMethod = "synthgen prepare: salted pseudonyms, no source identifiers"
        ds.BodyPartExamined = "CHEST"
        ds.SoftwareVersions = f"synthgen {__version__}"
        ds.ImagerPixelSpacing = [f"{DETECTOR_SIDE_MM / image_size:.6g}"] * 2
        ds.DetectorType = ""
        ds.StudyID = "1"
        ds.SeriesNumber = 1
        ds.PatientOrientation = ["L", "F"]  # frontal view as conventionally displayed
        ds.ImageLaterality = "U"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelRepresentation = 0
        ds.PixelIntensityRelationship = "LOG"
        ds.PixelIntensityRelationshipSign = -1  # higher values = less X-ray intensity (bright = dense)
        ds.WindowCenterWidthExplanation = "FULL STORED RANGE"
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.RescaleType = "US"
        ds.LossyImageCompression = "00"
        ds.BurnedInAnnotation = "NO"
        ds.AnatomicRegionSequence = [code_item(CHEST)]
        ds.PresentationLUTShape = "IDENTITY"
        equipment = Dataset()
        equipment.Manufacturer = "synthgen"
        equipment.SoftwareVersions = f"synthgen {__version__}"
        equipment.ContributionDescription = (
            "generated the image" if prov.kind == "synthetic" else "drew the image" if prov.synthetic
            else "resized and pseudonymised the image"
        )
        equipment.PurposeOfReferenceCodeSequence = [code_item(PROCESSING_EQUIPMENT)]
        ds.ContributingEquipmentSequence = [equipment]
        if prov.synthetic:
            ds.SyntheticData = "YES"
        ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)  # (0011,0010): first free block, 0x10
        return ds

    def _varying_values(self, pixels: np.ndarray, row: Mapping[str, str],
                        identity: DicomIdentity) -> list[tuple[int, str, str | bytes]]:
        """(tag, VR, value) of the elements unique to one image, in tag order: UIDs, patient,
        provenance text and JSON, pixels."""
        image = self.provenance.image_provenance(row)
        positive = self._positive(row)
        values = [
            (0x00080018, "UI", identity.sop_uid),
            (0x00082111, "ST", self.provenance.derivation_text(image)),
            (0x00100010, "PN", identity.patient_name),
            (0x00100020, "LO", identity.patient_id),
            (PRIVATE_TAG, "UT", compact_json({**image, "label": row["label"], "findings": list(positive)})),
        ]
        if (view := view_position(row)) is not None:
            values.append((0x00185101, "CS", view))  # ViewPosition
        values += [
            (0x0020000D, "UI", identity.study_uid),
            (0x0020000E, "UI", identity.series_uid),
            (0x00200013, "IS", str(identity.instance_number)),
            (0x00204000, "LT", f"label={row['label']}; findings={'|'.join(positive)}"),
            (0x7FE00010, "OW", np.ascontiguousarray(stored_pixels(pixels), dtype="<u2").tobytes()),
        ]
        return values

    def _varying(self, pixels: np.ndarray, row: Mapping[str, str], identity: DicomIdentity) -> Dataset:
        ds = Dataset()
        for tag, vr, value in self._varying_values(pixels, row, identity):
            ds.add_new(tag, vr, value)
        return ds

    def _positive(self, row: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(name for name in self.findings if row.get(finding_column(name)) == "1")

    def _labels(self, label: str, positive: tuple[str, ...]) -> Dataset:
        ds = Dataset()
        ds.AcquisitionContextSequence = [self._impressions[label]] + [self._finding_items[f] for f in positive]
        return ds

    @staticmethod
    def _pixel_module(shape: tuple[int, int], depth: int) -> Dataset:
        """Rows ... WindowWidth for images of the set's bit `depth` (8 or 16), and that depth."""
        bits = WIDENED_BITS if depth == 8 else 16
        ds = Dataset()
        ds.add_new(PRIVATE_DEPTH_TAG, "US", depth)
        ds.Rows, ds.Columns = shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits, bits - 1
        ds.WindowCenter, ds.WindowWidth = 2 ** (bits - 1), 2**bits
        return ds

    def _own(self, pixels: np.ndarray, row: Mapping[str, str], identity: DicomIdentity) -> list[Dataset]:
        return [self._varying(pixels, row, identity), self._labels(row["label"], self._positive(row)),
                self._pixel_module(pixels.shape, pixels.dtype.itemsize * 8)]

    def _meta(self, identity: DicomIdentity | None, transfer_syntax: str) -> FileMetaDataset:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = DigitalXRayImageStorageForPresentation
        if identity is not None:
            meta.MediaStorageSOPInstanceUID = identity.sop_uid
        meta.TransferSyntaxUID = transfer_syntax
        return meta

    def dataset(self, pixels: np.ndarray, row: Mapping[str, str], identity: DicomIdentity) -> Dataset:
        """The complete dataset of one image (file meta included), compressed when asked."""
        ds = Dataset(dict(self._template._dict))
        for part in self._own(pixels, row, identity):
            ds.update(part)
        ds.file_meta = self._meta(identity, ExplicitVRLittleEndian)
        if self.transfer_syntax != ExplicitVRLittleEndian:
            ds.compress(self.transfer_syntax, stored_pixels(pixels), generate_instance_uid=False)
        return ds

    def encode(self, pixels: np.ndarray, row: Mapping[str, str], identity: DicomIdentity) -> bytes:
        """The file's bytes. Uncompressed files join pre-encoded set-wide elements with the image's
        own (`element_bytes`), the same bytes `dcmwrite(dataset(...))` gives, several times faster."""
        if self.transfer_syntax != ExplicitVRLittleEndian:
            buffer = io.BytesIO()
            dcmwrite(buffer, self.dataset(pixels, row, identity), enforce_file_format=True)
            return buffer.getvalue()
        charset = self._template.SpecificCharacterSet
        varying = [(tag, encode_value(tag, vr, value))
                   for tag, vr, value in self._varying_values(pixels, row, identity)]
        labels_key = (row["label"], self._positive(row))
        if labels_key not in self._encoded_labels:
            self._encoded_labels[labels_key] = encode_elements(self._labels(*labels_key), charset)
        pixel_key = (pixels.shape, pixels.dtype.itemsize * 8)
        if pixel_key not in self._encoded_pixel_modules:
            self._encoded_pixel_modules[pixel_key] = encode_elements(self._pixel_module(*pixel_key), charset)
        return self._head.bytes_for(identity.sop_uid) + join_elements(
            self._shared_bytes, varying, self._encoded_labels[labels_key], self._encoded_pixel_modules[pixel_key])
