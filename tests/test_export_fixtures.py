"""Builders of tiny image sets for the export tests (no tests here; imported by test_export*.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audit_fixtures import audit_document
from privacy.audit import audit_findings
from privacy.filter import write_filtered
from synthgen.chest_phantom import phantom
from synthgen.chest_phantom.findings import CLASSES, FINDINGS
from synthgen.imageset import ImageSet, ImageSetWriter
from synthgen.model.model_card import TrainingSetRecord
from synthgen.model.sample_provenance import GENERATOR, SampleProvenance, SamplingRecord

MODEL_SHA = "ab" * 32
TRAIN_MANIFEST_SHA = "cd" * 32
ENCODER_SHA = "ef" * 32


def phantom_set(root: Path, n: int = 8, size: int = 16, bit_depth: int = 8, seed: int = 3) -> ImageSet:
    return phantom(root, n=n, size=size, seed=seed, bit_depth=bit_depth)


def sample_provenance(training: ImageSet, run: Path) -> SampleProvenance:
    """What `synthgen sample` records for a set drawn from a model trained on `training` (ddim, 25 steps)."""
    return SampleProvenance(
        generator=GENERATOR, run=str(run), model_sha256=MODEL_SHA,
        training_set=TrainingSetRecord(name=training.name, path=str(training.root), manifest_sha256=TRAIN_MANIFEST_SHA,
                                       kind=training.kind),
        model_card=None,
        sampling=SamplingRecord(sampler="ddim", steps=25, guidance=2.0, churn=0.0, model_sha256=MODEL_SHA, seed=1000,
                                n=len(training), per_class=None, start=0, stop=len(training)),
    )


def synthetic_set(root: Path, training: ImageSet, *, audited: bool = True, name: str = "synth") -> ImageSet:
    """A 'sampled' set built from the training set's pixels (shifted, so not copies); `audited`: the set
    the privacy filter writes from it (every image kept, the audit recorded in its provenance).

    Worst case for leaks: its patient_id and source columns carry the training patients'
    pseudonyms and sources, which the export must never write out.
    """
    pixels = np.roll(training.load_pixels(), 1, axis=2)
    top = 255 if training.info["bit_depth"] == 8 else 65535
    dtype = np.uint8 if top == 255 else np.uint16
    sampled_root = root.with_name(root.name + "-unfiltered") if audited else root
    with ImageSetWriter(sampled_root, name=name, kind="synthetic", classes=CLASSES, findings=FINDINGS,
                        image_size=training.image_size,
                        extra_columns=("seed", "sampler", "steps", "guidance", "model_sha256")) as writer:
        for i, row in enumerate(training.rows):
            positive = [f for f in FINDINGS if row[f"finding_{f}"] == "1"]
            writer.add(np.rint(pixels[i] * top).astype(dtype), label=row["label"], patient_id=row["patient_id"],
                       split=row["split"], source=row["source"], findings=positive,
                       extra={"seed": 1000 + i, "sampler": "ddim", "steps": 25, "guidance": 2.0,
                              "model_sha256": MODEL_SHA})
        writer.finish(sample_provenance(training, root.parent / "run").to_dict())
    sampled = ImageSet.open(sampled_root)
    if audited:
        document = audit_document(training, sampled)
        write_filtered(sampled, np.zeros(len(sampled), bool), root,
                       audit_findings(document, document.encode(), {"encoder_sha256": ENCODER_SHA}))
    return ImageSet.open(root)
