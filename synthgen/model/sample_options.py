"""`SampleOptions`: every option of `sample`, declared once (`synthgen sample` and a run config's
`sample:` section derive from it). Light on purpose (no torch): the CLI builds its options from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from synthgen.errors import SynthgenError
from synthgen.model.config import DEFAULT_SAMPLER, Sampler
from synthgen.options import option


class ClassCounts(click.ParamType):
    """`normal=500,pneumonia=500` on the command line (a mapping in YAML) -> {class: count}."""

    name = "class=count,..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dict[str, int]:
        if isinstance(value, dict):
            return value
        counts = {}
        for part in str(value).split(","):
            name, sep, number = part.partition("=")
            if not sep or not number.strip().lstrip("-").isdigit():
                raise SynthgenError(f"--per-class {value!r}: write class=count pairs, e.g. normal=500,pneumonia=500")
            counts[name.strip()] = int(number)
        return counts


def _sampler_help() -> str:
    defaults = ", ".join(f"{s.value} for {p.value}" for p, s in DEFAULT_SAMPLER.items())
    return (f"Default: the run's config, else the model's default ({defaults}). "
            + "; ".join(f"{s.value}: {s.summary}" for s in Sampler) + ".")


@dataclass(frozen=True)
class SampleOptions:
    """How many images and how they are drawn; sampler settings left None take the run's `sampling:`
    config, then the parametrization's defaults (synthgen.model.config.Sampler)."""

    n: int | None = option(None, "Images in all, split across classes like the training set.")
    per_class: dict | None = option(None, "Images per class instead of --n, e.g. normal=500,pneumonia=500.",
                                    click_type=ClassCounts())
    sampler: str | None = option(None, _sampler_help(), choices=tuple(s.value for s in Sampler))
    steps: int | None = option(None, "Sampler steps (heun: noise levels; default from the run's config).")
    guidance: float | None = option(None, "Classifier-free guidance scale (1 = conditional model, >1 stronger).")
    churn: float | None = option(None, "heun: EDM's stochastic churn S_churn (0 = deterministic ODE).")
    truncation: float | None = option(None, "GAN models: truncation psi in (0, 1] (latents scaled by psi; "
                                            "default: the run's config, 1 = none).")
    seed: int = option(0, "Seed: image i always gets the same noise.")
    batch_size: int | None = option(None, "Images per network batch (bounds memory).")
    device: str = option("auto", "auto, cpu, cuda or cuda:N.")
