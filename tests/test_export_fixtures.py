"""Builders of tiny image sets for the export tests (no tests here; imported by test_export*.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synthgen.chest_phantom import phantom
from synthgen.chest_phantom.findings import CLASSES, FINDINGS
from synthgen.imageset import ImageSet, ImageSetWriter

MODEL_SHA = "ab" * 32
TRAIN_MANIFEST_SHA = "cd" * 32
AUDIT = {
    "verdict": "pass",
    "fraction_flagged": 0.0,
    "thresholds": {"pixels": 0.125, "encoder": 0.31},
    "pairs": [{"train_patient": "PH000001", "train_image": "000000"}],  # a list: must not be copied
}


def phantom_set(root: Path, n: int = 8, size: int = 16, bit_depth: int = 8, seed: int = 3) -> ImageSet:
    return phantom(root, n=n, size=size, seed=seed, bit_depth=bit_depth)


def synthetic_set(root: Path, training: ImageSet, *, audited: bool = True, name: str = "synth") -> ImageSet:
    """A 'sampled' set built from the training set's pixels (shifted, so not copies).

    Worst case for leaks: its patient_id and source columns carry the training patients'
    pseudonyms and sources, which the export must never write out.
    """
    pixels = np.roll(training.load_pixels(), 1, axis=2)
    top = 255 if training.info["bit_depth"] == 8 else 65535
    dtype = np.uint8 if top == 255 else np.uint16
    provenance = {"stage": "sample", "run": {"model_sha256": MODEL_SHA,
                                             "training_set": {"manifest_sha256": TRAIN_MANIFEST_SHA}},
                  "sampler": "ddim", "steps": 25, "guidance": 2.0}
    if audited:
        provenance["audit"] = AUDIT
    with ImageSetWriter(root, name=name, kind="synthetic", classes=CLASSES, findings=FINDINGS,
                        image_size=training.image_size,
                        extra_columns=("seed", "sampler", "steps", "guidance", "model_sha256")) as writer:
        for i, row in enumerate(training.rows):
            positive = [f for f in FINDINGS if row[f"finding_{f}"] == "1"]
            writer.add(np.rint(pixels[i] * top).astype(dtype), label=row["label"], patient_id=row["patient_id"],
                       split=row["split"], source=row["source"], findings=positive,
                       extra={"seed": 1000 + i, "sampler": "ddim", "steps": 25, "guidance": 2.0,
                              "model_sha256": MODEL_SHA})
        writer.finish(provenance)
    return ImageSet.open(root)
