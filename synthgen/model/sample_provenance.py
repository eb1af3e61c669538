"""What `synthgen sample` records in its image set's dataset.json `provenance`: one definition.

    stage           "sample"
    generator       what drew the images
    run             the training run folder (absolute path when sampled)
    model_sha256    of the run's model/weights.pt
    training_set    the set the model was trained on (the model card's; null without a card)
    model_card      the run's model card (null when the run had none)
    sampling        model_sha256, seed, n, per_class, start, stop and the settings (`SamplingRecord`)

A filtered set (privacy/filter.py) keeps this provenance and adds its audit record under `audit`.
Readers take `SampleProvenance.of(image_set)`: None for a set that was not sampled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from synthgen.document import Document
from synthgen.imageset import DATASET_FILE, ImageSet
from synthgen.imageset.format import PROVENANCE_AUDIT_KEY
from synthgen.model.model_card import ModelCard, TrainingSetRecord

SAMPLE_STAGE = "sample"
GENERATOR = "synthgen conditional diffusion (MONAI DiffusionModelUNet)"


@dataclass(frozen=True)
class SamplingRecord:
    """How the set was sampled: the plan (seed, counts, slice) and the settings every image shares
    (also in its manifest row); a diffusion model's sampler, steps, guidance and churn, or a GAN's truncation."""

    model_sha256: str
    seed: int
    n: int | None  # images asked for (None when per_class was given)
    per_class: dict[str, int] | None
    start: int  # the slice [start, stop) of the plan this set holds
    stop: int
    sampler: str | None = None
    steps: int | None = None
    guidance: float | None = None
    churn: float = 0.0  # sets sampled before churn existed were sampled without it
    truncation: float | None = None


@dataclass(frozen=True)
class SampleProvenance(Document):
    WHAT: ClassVar[str] = "sampled set's provenance"
    REMEDY: ClassVar[str] = "sample the set again (synthgen sample)"

    generator: str
    run: str
    model_sha256: str
    training_set: TrainingSetRecord | None
    model_card: ModelCard | None
    sampling: SamplingRecord
    stage: Literal["sample"] = SAMPLE_STAGE  # sets sampled before the documents were typed lack it

    @classmethod
    def of(cls, image_set: ImageSet) -> "SampleProvenance | None":
        """The provenance of a set written by `synthgen sample` (or filtered from one); None otherwise."""
        provenance = image_set.info.get("provenance")
        if not isinstance(provenance, dict) or not is_sampled(provenance):
            return None
        own = {key: value for key, value in provenance.items() if key != PROVENANCE_AUDIT_KEY}
        return cls.from_dict(own, f"{image_set.root / DATASET_FILE} provenance")


def is_sampled(provenance: dict) -> bool:
    """Whether a set's provenance is the sampler's (sets sampled before `stage` was written: by `generator`)."""
    return provenance.get("stage") == SAMPLE_STAGE or (
        "stage" not in provenance and provenance.get("generator") == GENERATOR)
