"""Deterministic DICOM UIDs: the same image set exported twice gives the same UIDs.

Every UID is pydicom's `generate_uid` under the one root `UID_ROOT` (pydicom's registered root,
1.2.826.0.1.3680043.8.498) with entropy sources

    ["synthgen-export/1", <what>, <image set manifest sha256>, <model sha256>, <seed>, <index>]

`<what>` is `study`, `series` or `instance`; study and series UIDs use the exported patient ID
instead of seed and index. The image set's manifest sha256 makes two different sets never share a
UID (even from the same model and seeds), while re-exporting an unchanged set, or re-sending it to
a PACS, reuses them (so the PACS stores each instance once). The model sha256 and seed are empty
for real image sets.
"""

from __future__ import annotations

from pydicom.uid import PYDICOM_ROOT_UID, UID, generate_uid

UID_ROOT = PYDICOM_ROOT_UID
_NAMESPACE = "synthgen-export/1"


def derived_uid(what: str, set_sha256: str, *parts: object) -> UID:
    return generate_uid(prefix=UID_ROOT, entropy_srcs=[_NAMESPACE, what, set_sha256, *(str(p) for p in parts)])


def study_uid(set_sha256: str, patient_id: str) -> UID:
    return derived_uid("study", set_sha256, patient_id)


def series_uid(set_sha256: str, patient_id: str) -> UID:
    return derived_uid("series", set_sha256, patient_id)


def instance_uid(set_sha256: str, model_sha256: str, seed: str, index: str) -> UID:
    return derived_uid("instance", set_sha256, model_sha256, seed, index)
