"""Coded concepts: image-set labels -> SNOMED CT (or DICOM) codes, and the fixed codes we write.

A label is looked up by its normalised name (`pleural_effusion`, `no_finding`, ...). Codes come
from DICOM context groups (CID 6104/6105 list Mass, Nodule, Infiltrate, Pneumothorax) or SNOMED CT
International; a label this table does not know is an error naming it, unless the caller supplies
its code (`--code LABEL=SCHEME:VALUE:MEANING`, e.g. `--code hernia=SCT:84089009:Hiatal hernia`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from synthgen.errors import SynthgenError
from synthgen.imageset.format import normalize_name


@dataclass(frozen=True)
class Code:
    """One coded concept: (CodeValue, CodingSchemeDesignator, CodeMeaning)."""

    value: str
    scheme: str
    meaning: str

    def as_json(self) -> dict:
        return {"code": self.value, "scheme": self.scheme, "meaning": self.meaning}


# Concepts synthgen writes whatever the labels are.
CHEST = Code("43799004", "SCT", "Chest")  # Anatomic Region Sequence (CID 4)
IMPRESSION = Code("121073", "DCM", "Impression")  # concept name of the primary class
FINDING = Code("121071", "DCM", "Finding")  # concept name of each positive finding
PROCESSING_EQUIPMENT = Code("109102", "DCM", "Processing Equipment")  # Contributing Equipment purpose

_NORMAL = Code("17621005", "SCT", "Normal")
_PNEUMONIA = Code("233604007", "SCT", "Pneumonia")
_EFFUSION = Code("60046008", "SCT", "Pleural effusion")
_COVID = Code("840539006", "SCT", "Disease caused by severe acute respiratory syndrome coronavirus 2")

# Normalised label -> code. Synonyms used by the public chest X-ray sets map to one concept.
LABEL_CODES: dict[str, Code] = {
    "normal": _NORMAL,
    "no_finding": _NORMAL,
    "pneumonia": _PNEUMONIA,
    "bacterial_pneumonia": Code("53084003", "SCT", "Bacterial pneumonia"),
    "bacteria": Code("53084003", "SCT", "Bacterial pneumonia"),
    "viral_pneumonia": Code("75570004", "SCT", "Viral pneumonia"),
    "virus": Code("75570004", "SCT", "Viral pneumonia"),
    "covid": _COVID,
    "covid_19": _COVID,
    "covid19": _COVID,
    "tuberculosis": Code("154283005", "SCT", "Pulmonary tuberculosis"),
    "atelectasis": Code("46621007", "SCT", "Atelectasis"),
    "cardiomegaly": Code("8186001", "SCT", "Cardiomegaly"),
    "consolidation": Code("95436008", "SCT", "Lung consolidation"),
    "effusion": _EFFUSION,
    "pleural_effusion": _EFFUSION,
    "edema": Code("19242006", "SCT", "Pulmonary edema"),
    "emphysema": Code("87433001", "SCT", "Pulmonary emphysema"),
    "fibrosis": Code("51615001", "SCT", "Fibrosis of lung"),
    "hernia": Code("84089009", "SCT", "Hiatal hernia"),
    "infiltration": Code("112121", "DCM", "Infiltrate"),
    "infiltrate": Code("112121", "DCM", "Infiltrate"),
    "mass": Code("4147007", "SCT", "Mass"),
    "nodule": Code("27925004", "SCT", "Nodule"),
    "pneumothorax": Code("36118008", "SCT", "Pneumothorax"),
}

_SCHEMES = ("SCT", "DCM", "LN", "RADLEX", "99SYNTHGEN")


def parse_code(option: str) -> tuple[str, Code]:
    """'hernia=SCT:84089009:Hiatal hernia' -> ('hernia', Code(...)); the meaning may contain ':'."""
    label, _, spec = option.partition("=")
    parts = spec.split(":", 2)
    if not label.strip() or len(parts) != 3 or not all(p.strip() for p in parts):
        raise SynthgenError(
            f"--code {option!r} is not LABEL=SCHEME:VALUE:MEANING (e.g. hernia=SCT:84089009:Hiatal hernia)"
        )
    scheme, value, meaning = (p.strip() for p in parts)
    if scheme not in _SCHEMES:
        raise SynthgenError(f"--code {option!r}: coding scheme {scheme!r} is not one of {', '.join(_SCHEMES)}")
    if len(value) > 16 or len(meaning) > 64:
        raise SynthgenError(f"--code {option!r}: the code value is at most 16 and the meaning 64 characters")
    return normalize_name(label), Code(value, scheme, meaning)


def code_table(
    labels: Iterable[str], extra: Mapping[str, Code] | None = None, where: str = "the image set"
) -> dict[str, Code]:
    """The code of every label, user codes first; an unknown label is an error naming it and the fix."""
    table = {**LABEL_CODES, **(extra or {})}
    unknown = sorted({name for name in labels if name not in table})
    if unknown:
        raise SynthgenError(
            f"{where}: label(s) {', '.join(map(repr, unknown))} have no DICOM code; give one with "
            f"--code LABEL=SCHEME:VALUE:MEANING (e.g. --code {unknown[0]}=SCT:<SNOMED id>:<meaning>)"
        )
    return {name: table[name] for name in labels}
