"""What `synthgen phantom` records in its image set's dataset.json `provenance`: one definition.

    stage             "phantom"
    generator         "synthgen.chest_phantom"
    seed, n, size     the draw: same values, same images
    patients          synthetic patients drawn
    parameters        split fractions, images per patient (min, max), bit depth
    synthgen_version  of the synthgen that drew the set

Readers take `PhantomProvenance.of(image_set)`: None for a set that is not a phantom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from synthgen.document import Document
from synthgen.imageset import DATASET_FILE, ImageSet

PHANTOM_STAGE = "phantom"
PHANTOM_GENERATOR = "synthgen.chest_phantom"  # dataset.json provenance.generator of every phantom set


@dataclass(frozen=True)
class PhantomParameters:
    val_fraction: float
    test_fraction: float
    images_per_patient: list[int]  # [min, max]
    bit_depth: int


@dataclass(frozen=True)
class PhantomProvenance(Document):
    WHAT: ClassVar[str] = "phantom set's provenance"
    REMEDY: ClassVar[str] = "draw the set again (synthgen phantom)"

    seed: int
    n: int
    size: int
    patients: int
    parameters: PhantomParameters
    synthgen_version: str
    generator: Literal["synthgen.chest_phantom"] = PHANTOM_GENERATOR
    stage: Literal["phantom"] = PHANTOM_STAGE  # phantoms drawn before the documents were typed lack it

    @classmethod
    def of(cls, image_set: ImageSet) -> "PhantomProvenance | None":
        """The provenance of a set written by `synthgen phantom`; None otherwise."""
        provenance = image_set.info.get("provenance")
        if not isinstance(provenance, dict) or not is_phantom(provenance):
            return None
        return cls.from_dict(provenance, f"{image_set.root / DATASET_FILE} provenance")


def is_phantom(provenance: dict) -> bool:
    """Whether a set's provenance is the phantom's (phantoms drawn before `stage` was written: by `generator`)."""
    return provenance.get("stage") == PHANTOM_STAGE or (
        "stage" not in provenance and provenance.get("generator") == PHANTOM_GENERATOR)
