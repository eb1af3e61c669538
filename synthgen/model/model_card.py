"""The run folder's documents, one definition each (written by train, read by sample, the
orchestrator and every stage that follows the provenance of a sampled set):

    RUN/training_set.json        TrainingSetRecord: the image set the run trains on (written at the start)
    RUN/model/model_card.json    ModelCard: what was trained, on what, how long, with which libraries

Light on purpose (no torch), so readers of a sampled set's provenance import nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from synthgen.document import Document

if TYPE_CHECKING:
    from synthgen.model.data import TrainingData


@dataclass(frozen=True)
class TrainingSetRecord(Document):
    WHAT: ClassVar[str] = "training set record"
    REMEDY: ClassVar[str] = "the run folder is incomplete; start a new run"

    name: str
    path: str  # absolute, when the run started
    manifest_sha256: str
    kind: str


@dataclass(frozen=True)
class ModelCard(Document):
    WHAT: ClassVar[str] = "model card"
    REMEDY: ClassVar[str] = "train the model again (synthgen train) to write it"

    model_sha256: str  # of model/weights.pt
    training_set: TrainingSetRecord
    classes: list[str]
    findings: list[str]
    image_size: int
    bit_depth: int
    training_images: int
    parameters: int
    steps: int  # optimizer steps taken
    batch_size: int
    seed: int
    processes: int
    device: str
    final_loss: float
    wall_time_s: float
    versions: dict[str, str]
    budget: dict | None = None  # {"steps", "minutes"}: the budget asked for (cards before EDM have none)
    ema: dict | None = None  # which EMA weights were saved and why (cards before EDM have none)
    kind: str = "diffusion"  # the model family (diffusion | gan)
    # GAN runs only (issue 14): discriminator size, final ADA probability, generator loss (final_loss: D's)
    discriminator_parameters: int | None = None
    augment_probability: float | None = None
    final_generator_loss: float | None = None
    # GAN with training.snapshot_every or ema_profiles: which candidate was kept, every score (gan/select.py)
    selection: dict | None = None


def training_data_fields(dataset: TrainingData, training_set: Path) -> dict:
    """The card's fields that describe what either family was trained on (its training_set.json and data)."""
    return {"training_set": TrainingSetRecord.read(training_set), "classes": list(dataset.label_space.classes),
            "findings": list(dataset.label_space.findings), "image_size": dataset.image_size,
            "bit_depth": dataset.bit_depth, "training_images": len(dataset)}
