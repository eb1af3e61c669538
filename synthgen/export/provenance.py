"""What an exported file says about where it came from, read defensively from the image set.

Keys read (each optional: present -> written into the DICOM provenance / sidecars; absent -> left out):

    dataset.json
      kind                         'synthetic' -> SyntheticData YES
      provenance.stage             'phantom' (or provenance.generator 'synthgen.chest_phantom')
                                   -> SyntheticData YES (procedural images are synthetic too)
      provenance.audit             the privacy audit of a filtered set (any JSON object): its numbers,
                                   flags and short strings are copied (lists are dropped, see
                                   `audit_summary`); `verdict` (or `passed`) is quoted in
                                   DerivationDescription
      model_sha256                 anywhere inside `provenance` (first found, depth first)
      training_manifest_sha256 / train_manifest_sha256, or `manifest_sha256` inside a
                                   `training_set` / `train_set` / `training` / `train` / `data` object
      sampler, steps, guidance     anywhere inside `provenance` (defaults for the rows)
    manifest.csv extra columns
      sample_index, seed, sampler, steps, guidance, model_sha256
                                   per image (override the set-level values; `synthgen sample` writes them)
      view (or view_position)      PA or AP -> ViewPosition (frontal views only)

A real set (kind `real`, from `prepare`) is exported with its own salted pseudonyms and no
SyntheticData YES: its images are acquired data, so the flag would be false.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from synthgen import __version__
from synthgen.imageset import ImageSet

_TRAINING_OBJECTS = ("training_set", "train_set", "training", "train", "data")
_SAMPLING_KEYS = ("sample_index", "seed", "sampler", "steps", "guidance", "model_sha256")
_VIEWS = {"PA", "AP"}  # frontal views only: PatientOrientation is written as L\\F


def find_key(tree: object, key: str) -> object | None:
    """The first value stored under `key` anywhere in nested dicts/lists (depth first), else None."""
    if isinstance(tree, Mapping):
        if key in tree and tree[key] not in (None, ""):
            return tree[key]
        children = tree.values()
    elif isinstance(tree, list):
        children = tree
    else:
        return None
    for child in children:
        found = find_key(child, key)
        if found is not None:
            return found
    return None


def _training_manifest(provenance: Mapping) -> str | None:
    for key in ("training_manifest_sha256", "train_manifest_sha256"):
        if (value := find_key(provenance, key)) is not None:
            return str(value)
    for name in _TRAINING_OBJECTS:
        part = find_key(provenance, name)
        if isinstance(part, Mapping) and part.get("manifest_sha256"):
            return str(part["manifest_sha256"])
    return None


@dataclass(frozen=True)
class SetProvenance:
    """Set-level facts every exported file repeats."""

    name: str
    kind: str
    synthetic: bool
    manifest_sha256: str
    created: str
    stage: str | None
    model_sha256: str | None
    training_manifest_sha256: str | None
    audit: Mapping | None
    sampling: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, image_set: ImageSet) -> "SetProvenance":
        info = image_set.info
        provenance = info.get("provenance") if isinstance(info.get("provenance"), Mapping) else {}
        stage = provenance.get("stage")
        if provenance.get("generator") == "synthgen.chest_phantom":
            stage = "phantom"
        audit = provenance.get("audit") if isinstance(provenance.get("audit"), Mapping) else None
        model = find_key(provenance, "model_sha256")
        sampling = {k: str(v) for k in ("sampler", "steps", "guidance") if (v := find_key(provenance, k)) is not None}
        return cls(
            name=str(info.get("name", image_set.root.name)),
            kind=image_set.kind,
            synthetic=image_set.kind == "synthetic" or stage == "phantom",
            manifest_sha256=image_set.manifest_sha256,
            created=str(info.get("created", "")),
            stage=str(stage) if stage else None,
            model_sha256=str(model) if model is not None else None,
            training_manifest_sha256=_training_manifest(provenance),
            audit=audit,
            sampling=sampling,
        )

    def audit_verdict(self) -> str | None:
        if self.audit is None:
            return None
        for key in ("verdict", "passed", "result"):
            if key in self.audit:
                return str(self.audit[key])
        return "recorded"

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


def audit_summary(audit: Mapping) -> dict:
    """The audit's numbers, flags and short strings (nested objects of them too); lists are dropped.

    Lists could hold per-image pairs naming training images or patients, which must never
    travel with an exported file; thresholds, counts, hashes and the verdict are kept.
    """
    kept: dict = {}
    for key, value in audit.items():
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
