"""Dataset-level provenance: `ro-crate-metadata.json` (RO-Crate 1.1) beside the exported files.

It lists every file (manifest, sidecars and images) with its size and sha256, the image set it was
exported from (name, kind, manifest sha256), the generating model and training set hashes when
known, the privacy audit summary when the set was audited, and the export as a CreateAction by
synthgen. It holds no patient data beyond the exported pseudonyms.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from synthgen import __version__
from synthgen.export.provenance import SetProvenance, audit_summary

CRATE_FILE = "ro-crate-metadata.json"
_MEDIA_TYPES = {".dcm": "application/dicom", ".gz": "application/gzip", ".png": "image/png",
                ".json": "application/json", ".csv": "text/csv"}


@dataclass(frozen=True)
class ExportedFile:
    path: str
    size: int
    sha256: str


def _media_type(path: str) -> str:
    return next((kind for suffix, kind in _MEDIA_TYPES.items() if path.endswith(suffix)), "application/octet-stream")


def crate_document(files: Sequence[ExportedFile], provenance: SetProvenance, export_format: str) -> dict:
    source = {
        "@id": "#source-image-set", "@type": "Dataset", "name": provenance.name,
        "identifier": f"sha256:{provenance.manifest_sha256}",
        "description": f"synthgen image set of kind {provenance.kind}",
    }
    extra = []
    based_on = [{"@id": "#source-image-set"}]
    if provenance.model_sha256:
        extra.append({"@id": "#model", "@type": "SoftwareSourceCode", "name": "generating model",
                      "identifier": f"sha256:{provenance.model_sha256}"})
        based_on.append({"@id": "#model"})
    if provenance.training_manifest_sha256:
        extra.append({"@id": "#training-set", "@type": "Dataset", "name": "training image set",
                      "identifier": f"sha256:{provenance.training_manifest_sha256}"})
        based_on.append({"@id": "#training-set"})
    if provenance.audit is not None:
        extra.append({"@id": "#privacy-audit", "@type": "CreativeWork", "name": "privacy audit",
                      "description": json.dumps(audit_summary(provenance.audit), sort_keys=True)})
        based_on.append({"@id": "#privacy-audit"})
    root = {
        "@id": "./", "@type": "Dataset",
        "name": f"{provenance.name} ({export_format} export)",
        "description": ("SYNTHETIC chest X-ray images: not images of any patient"
                        if provenance.synthetic else "pseudonymised chest X-ray images"),
        "datePublished": provenance.created or None,
        "isBasedOn": based_on,
        "hasPart": [{"@id": f.path} for f in files],
    }
    graph = [
        {"@id": CRATE_FILE, "@type": "CreativeWork", "conformsTo": {"@id": "https://w3id.org/ro/crate/1.1"},
         "about": {"@id": "./"}},
        root,
        *({"@id": f.path, "@type": "File", "contentSize": str(f.size), "sha256": f.sha256,
           "encodingFormat": _media_type(f.path)} for f in files),
        source,
        *extra,
        {"@id": "#synthgen", "@type": "SoftwareApplication", "name": "synthgen", "version": __version__},
        {"@id": "#export", "@type": "CreateAction", "name": f"synthgen export --format {export_format}",
         "instrument": {"@id": "#synthgen"}, "object": [{"@id": "#source-image-set"}], "result": {"@id": "./"}},
    ]
    if root["datePublished"] is None:
        del root["datePublished"]
    return {"@context": "https://w3id.org/ro/crate/1.1/context", "@graph": graph}


def crate_bytes(files: Sequence[ExportedFile], provenance: SetProvenance, export_format: str) -> bytes:
    return (json.dumps(crate_document(files, provenance, export_format), indent=1) + "\n").encode("utf-8")
