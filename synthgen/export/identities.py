"""Who and where each exported DICOM image is: patient pseudonym, study, series and instance.

Grouping (documented in the README): every distinct `patient_id` of the image set becomes one
DICOM patient with one study holding one series; its images are numbered 1, 2, ... in manifest
order. Synthetic sets (and phantom sets) get new IDs `SYN-000000`, `SYN-000001`, ... in order of
first appearance and names `SYNTHETIC^SYN-000000`; the set's own patient_id values are never
written, so nothing of a training patient can leak through them. Real sets keep their salted
pseudonyms (`P` + 12 hex digits) as PatientID, with the name `PSEUDONYM^<id>`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from synthgen.export.provenance import SetProvenance
from synthgen.export.uids import instance_uid, series_uid, study_uid


@dataclass(frozen=True)
class DicomIdentity:
    patient_id: str
    patient_name: str
    study_uid: str
    series_uid: str
    sop_uid: str
    instance_number: int


def plan_identities(rows: Sequence[Mapping[str, str]], provenance: SetProvenance) -> list[DicomIdentity]:
    """One identity per row, deterministic from the set (see `uids`)."""
    exported: dict[str, str] = {}
    counts: dict[str, int] = {}
    identities = []
    for row in rows:
        source_patient = row["patient_id"]
        if source_patient not in exported:
            exported[source_patient] = (
                f"SYN-{len(exported):06d}" if provenance.synthetic else source_patient
            )
        patient = exported[source_patient]
        counts[patient] = counts.get(patient, 0) + 1
        seed = row.get("seed", "") if provenance.synthetic else ""
        model = (row.get("model_sha256") or provenance.model_sha256 or "") if provenance.synthetic else ""
        identities.append(
            DicomIdentity(
                patient_id=patient,
                patient_name=f"SYNTHETIC^{patient}" if provenance.synthetic else f"PSEUDONYM^{patient}",
                study_uid=study_uid(provenance.manifest_sha256, patient),
                series_uid=series_uid(provenance.manifest_sha256, patient),
                sop_uid=instance_uid(provenance.manifest_sha256, model, seed, row["image_id"]),
                instance_number=counts[patient],
            )
        )
    return identities
