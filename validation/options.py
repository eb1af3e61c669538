"""`ValidateOptions`: what a user sets about a validation, declared once (`synthgen validate` and a run
config's `validate:` section derive from it; `validate()`, `Recipe` and the regimes take their defaults
from it). Light on purpose (no torch): the CLI builds its options from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthgen.errors import SynthgenError
from synthgen.options import option


def networks() -> tuple[str, ...]:
    """The classifier networks (the registry is validation.classifier.NETWORKS)."""
    from validation.classifier import NETWORKS

    return NETWORKS


@dataclass(frozen=True)
class ValidateOptions:
    seeds: int = option(3, "Classifiers trained per regime (seeds --seed, --seed+1, …).")
    seed: int = option(0, "First seed (training, subsets, bootstrap).")
    network: str = option("resnet-tiny", "MONAI classifier network.", choices=networks)
    width: int = option(8, "resnet-tiny: channels of its first stage.")
    steps: int = option(400, "Training steps per classifier (same for every regime).")
    batch_size: int = option(64, "Training batch size.")
    low_data: tuple[float, ...] = option((0.1, 0.25), "Fractions of real train for low-data regimes.")
    real_share: float | None = option(None, "Share of each classifier batch drawn from real images in the "
                                            "regimes that mix real and synthetic ones (e.g. 0.5); unset: every "
                                            "image of a class is drawn equally often, so the larger set dominates.")
    bootstrap: int = option(1000, "Bootstrap resamples of the test set.")
    min_per_class: int = option(10, "Fewest images per class in each set (fewer test images per class make "
                                    "ROC-AUC and its CI meaningless).")

    def __post_init__(self) -> None:
        if isinstance(self.low_data, list):  # from YAML
            object.__setattr__(self, "low_data", tuple(self.low_data))
        if self.real_share is not None and not 0 < self.real_share < 1:
            raise SynthgenError(f"validate option real_share (--real-share) is {self.real_share}; it must be "
                                "between 0 and 1 (e.g. 0.5), or left unset")

    def arguments(self) -> dict:
        """These options as keyword arguments of validation.api.validate (the classifier as a Recipe)."""
        from validation.classifier import Recipe

        return {"seeds": self.seeds, "seed": self.seed, "low_data": self.low_data, "bootstrap": self.bootstrap,
                "min_per_class": self.min_per_class,
                "recipe": Recipe(network=self.network, width=self.width, steps=self.steps, batch_size=self.batch_size,
                                 real_share=self.real_share)}
