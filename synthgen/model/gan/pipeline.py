"""The GAN sampling pipeline: the EMA generator, saved as config.json beside weights.pt.

One network pass per image. Every image has its own torch.Generator seeded from its own seed: its
latent and noise maps never depend on which images share the batch, so any image can be
regenerated alone and shards sampled anywhere hold the images of one full run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch

from synthgen.config import build_dataclass
from synthgen.document import Document
from synthgen.errors import SynthgenError
from synthgen.model.config_files import config_to_dict
from synthgen.model.gan.config import GeneratorConfig
from synthgen.model.gan.networks import Generator
from synthgen.model.labels import LabelSpace
from synthgen.model.run_folder import load_state_dict, save_model

GAN_MODEL_FORMAT = "synthgen-gan-model"
GAN_MODEL_FORMAT_VERSION = 1


@dataclass(frozen=True)
class GanModelConfigFile(Document):
    """RUN/model/config.json of a GAN. `generator` is the training config's section, checked key by
    key when the pipeline builds it."""

    WHAT: ClassVar[str] = "synthgen GAN model config"
    REMEDY: ClassVar[str] = "not a synthgen model folder; train one with synthgen train"
    FORMAT: ClassVar[str] = GAN_MODEL_FORMAT
    VERSION_KEY: ClassVar[str] = "format_version"  # the key model folders have carried since their first version
    SCHEMA_VERSION: ClassVar[int] = GAN_MODEL_FORMAT_VERSION

    generator: dict
    labels: dict  # LabelSpace.to_dict()
    image_size: int
    label_prior: dict  # labels.label_prior of the training set
    bit_depth: int = 8


@dataclass
class GanPipeline:
    generator: Generator
    labels: LabelSpace
    image_size: int
    bit_depth: int = 8
    label_prior: dict = field(default_factory=dict)  # labels.label_prior of the training set

    def config_file(self) -> GanModelConfigFile:
        return GanModelConfigFile(generator=config_to_dict(self.generator.config), labels=self.labels.to_dict(),
                                  image_size=self.image_size, label_prior=self.label_prior, bit_depth=self.bit_depth)

    def save(self, model_dir: Path, state_dict: dict | None = None) -> str:
        """Write config.json and weights.pt (atomically); returns the weights' sha256."""
        return save_model(model_dir, state_dict if state_dict is not None else self.generator.state_dict(), self.config_file())

    @classmethod
    def load(cls, model_dir: Path) -> "GanPipeline":
        where = str(model_dir / "config.json")
        config = GanModelConfigFile.read(where)
        generator_config = build_dataclass(GeneratorConfig, config.generator, f"{where} generator")
        labels = LabelSpace.from_dict(config.labels)
        generator = Generator(generator_config, labels.dim, config.image_size)
        state = load_state_dict(model_dir / "weights.pt")
        try:
            generator.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as err:
            raise SynthgenError(f"{model_dir / 'weights.pt'} does not fit {where}: {str(err).splitlines()[0]}") from None
        return cls(generator.eval(), labels, config.image_size, config.bit_depth, config.label_prior)

    @torch.no_grad()
    def __call__(self, conditions: torch.Tensor, seeds: list[int], truncation: float = 1.0,
                 device: torch.device | str = "cpu") -> torch.Tensor:
        """Images (N, 1, H, W) in [-1, 1] for (N, dim) label vectors and N seeds.

        truncation psi in (0, 1]: latents are scaled by psi (1: the full distribution; lower trades
        variety for typical images)."""
        if not 0.0 < truncation <= 1.0:
            raise SynthgenError(f"truncation must be in (0, 1], got {truncation}")
        latents, noises = self.generator.draw_inputs([torch.Generator().manual_seed(int(s)) for s in seeds])
        self.generator.to(device).eval()
        images = self.generator(latents.to(device) * truncation, conditions.to(device), [n.to(device) for n in noises])
        return images.clamp(-1.0, 1.0).cpu()


def is_gan_model(model_dir: Path) -> bool:
    """Whether a model folder holds a GAN (its config.json's format); False when it cannot tell."""
    try:
        return json.loads((Path(model_dir) / "config.json").read_text()).get("format") == GAN_MODEL_FORMAT
    except (OSError, ValueError, AttributeError):
        return False
