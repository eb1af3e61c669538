"""What an exported file says about where it came from, read from the image set's own documents.

    dataset.json
      kind                      'synthetic' -> SyntheticData YES
      provenance (phantom)      synthgen/chest_phantom/provenance.py -> SyntheticData YES
                                (procedural images are synthetic too)
      provenance (prepared set) synthgen/prepare_provenance.py: its stage
      provenance (sampled set)  synthgen/model/sample_provenance.py: model_sha256, the training set's
                                manifest sha256, sampler / steps / guidance (defaults for the rows)
      provenance.audit          a filtered set's audit record (privacy/filter.py): its numbers, flags
                                and short strings are copied (lists are dropped, see `audit_summary`);
                                its verdict is quoted in DerivationDescription
    manifest.csv extra columns
      sample_index, seed, sampler, steps, guidance, model_sha256
                                per image (override the set-level values; `synthgen sample` writes them)
      view (or view_position)   PA or AP -> ViewPosition (frontal views only)

A provenance that does not match its definition stops the export with one line naming the key.
A real set (kind `real`, from `prepare`) is exported with its own salted pseudonyms and no
SyntheticData YES: its images are acquired data, so the flag would be false.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from privacy.filter import AuditRecord
from synthgen import __version__
from synthgen.chest_phantom.provenance import PHANTOM_STAGE, PhantomProvenance
from synthgen.document import plain
from synthgen.imageset import ImageSet
from synthgen.model.sample_provenance import SampleProvenance
from synthgen.prepare_provenance import PrepareProvenance

_SAMPLING_KEYS = ("sample_index", "seed", "sampler", "steps", "guidance", "model_sha256")
_VIEWS = {"PA", "AP"}  # frontal views only: PatientOrientation is written as L\\F


@dataclass(frozen=True)
class SetProvenance:
    """Set-level facts every exported file repeats."""

    name: str
    kind: str
    synthetic: bool
    manifest_sha256: str
    created: str
    stage: str | None  # the writing stage's (sample, prepare, phantom); None for a set of another writer
    model_sha256: str | None
    training_manifest_sha256: str | None
    audit: AuditRecord | None
    sampling: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, image_set: ImageSet) -> "SetProvenance":
        info = image_set.info
        sample = SampleProvenance.of(image_set)
        stage = next((record.stage for record in (sample, PrepareProvenance.of(image_set),
                                                  PhantomProvenance.of(image_set)) if record is not None), None)
        training_set = sample.training_set if sample is not None else None
        return cls(
            name=image_set.name,
            kind=image_set.kind,
            synthetic=image_set.kind == "synthetic" or stage == PHANTOM_STAGE,
            manifest_sha256=image_set.manifest_sha256,
            created=info["created"],
            stage=stage,
            model_sha256=sample.model_sha256 if sample is not None else None,
            training_manifest_sha256=training_set.manifest_sha256 if training_set is not None else None,
            audit=AuditRecord.of(image_set),
            sampling=_sampling_defaults(sample),
        )

    def audit_verdict(self) -> str | None:
        return self.audit.verdict if self.audit is not None else None

    def image_provenance(self, row: Mapping[str, str]) -> dict:
        """Provenance of one image: set-level values, overridden by the row's sampler columns."""
        values: dict[str, object] = {"synthgen_version": __version__, "image_set": self.name, "kind": self.kind,
                                     "image_set_manifest_sha256": self.manifest_sha256,
                                     "source_image_id": row["image_id"]}
        if self.stage:
            values["stage"] = self.stage
        if self.model_sha256:
            values["model_sha256"] = self.model_sha256
        if self.training_manifest_sha256:
            values["training_manifest_sha256"] = self.training_manifest_sha256
        values.update(self.sampling)
        values.update({k: row[k] for k in _SAMPLING_KEYS if row.get(k) not in (None, "")})
        if self.audit is not None:
            values["privacy_audit"] = audit_summary(self.audit)
        return values

    def derivation_text(self, image: Mapping) -> str:
        """DerivationDescription: the key facts in one short sentence.

        Kept under 256 characters because some PACS (Orthanc's QIDO-RS among them) leave longer
        strings out of their answers; the training set and image set hashes are in the private
        JSON element and the RO-Crate instead.
        """
        if self.kind == "synthetic":
            text = f"Synthetic image generated by synthgen {__version__}"
        elif self.synthetic:
            text = f"Procedural phantom image drawn by synthgen {__version__}"
        else:
            text = f"Real image resized and pseudonymised by synthgen {__version__}"
        parts = [f"{key} {image[key]}" for key in ("model_sha256", "seed", "sampler", "steps", "guidance")
                 if key in image]
        if parts:
            text += "; " + ", ".join(parts)
        if (verdict := self.audit_verdict()) is not None:
            text += f"; privacy audit: {verdict}"
        text += f"; image {image['source_image_id']} of set {self.name}"
        return text[:1024]


def _sampling_defaults(sample: SampleProvenance | None) -> dict[str, str]:
    """Sampler, steps and guidance of the whole set (defaults for rows without those columns)."""
    if sample is None:
        return {}
    settings = {key: getattr(sample.sampling, key) for key in ("sampler", "steps", "guidance")}
    return {key: str(value) for key, value in settings.items() if value is not None}


def audit_summary(audit: AuditRecord | Mapping) -> dict:
    """The audit record's numbers, flags and short strings (nested objects of them too); lists are dropped.

    Lists could hold per-image pairs naming training images or patients, which must never
    travel with an exported file; thresholds, counts, hashes and the verdict are kept.
    """
    kept: dict = {}
    for key, value in (plain(audit) if isinstance(audit, AuditRecord) else audit).items():
        if isinstance(value, Mapping):
            if inner := audit_summary(value):
                kept[str(key)] = inner
        elif isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= 128):
            kept[str(key)] = value
    return kept


def view_position(row: Mapping[str, str]) -> str | None:
    """PA or AP from a `view` or `view_position` column, when the set has one."""
    value = (row.get("view") or row.get("view_position") or "").strip().upper()
    return value if value in _VIEWS else None


def compact_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
