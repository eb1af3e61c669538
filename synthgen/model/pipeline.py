"""The sampling pipeline: trained UNet + scheduler + a short denoising loop (diffusers style).

Every image has its own torch.Generator, seeded from its own seed: its starting noise (and DDPM's
per-step noise) never depend on which other images share the batch, so any image can be regenerated
alone and a sampling job split across processes gives the same pixels as one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from synthgen.config import build_dataclass
from synthgen.errors import SynthgenError
from synthgen.model.config import DiffusionConfig, NetworkConfig, Parametrization, Sampler, SamplingConfig
from synthgen.model.config_files import config_to_dict
from synthgen.model.edm import EDMDenoiser
from synthgen.model.labels import LabelSpace
from synthgen.model.network import build_unet, network_conditions, predict
from synthgen.model.run_folder import ModelConfigFile, load_state_dict, save_model
from synthgen.model.samplers import sampler_loop


@dataclass
class DiffusionPipeline:
    unet: nn.Module
    network: NetworkConfig
    diffusion: DiffusionConfig
    labels: LabelSpace
    image_size: int
    bit_depth: int = 8
    label_prior: dict = field(default_factory=dict)  # labels.label_prior of the training set

    # -- saving and loading (a config JSON beside the weights) ------------------------------------
    def config_file(self) -> ModelConfigFile:
        return ModelConfigFile(
            network=config_to_dict(self.network),
            diffusion=config_to_dict(self.diffusion),
            labels=self.labels.to_dict(),
            image_size=self.image_size,
            bit_depth=self.bit_depth,
            label_prior=self.label_prior,
        )

    def save(self, model_dir: Path, state_dict: dict | None = None) -> str:
        """Write config.json and weights.pt (atomically); returns the weights' sha256."""
        return save_model(model_dir, state_dict if state_dict is not None else self.unet.state_dict(), self.config_file())

    @classmethod
    def load(cls, model_dir: Path) -> "DiffusionPipeline":
        where = str(model_dir / "config.json")
        config = ModelConfigFile.read(where)
        network = build_dataclass(NetworkConfig, config.network, f"{where} network")
        # Format 1 models (before EDM) were all vp and did not say so.
        diffusion_keys = {"parametrization": Parametrization.VP.value, **config.diffusion}
        diffusion = build_dataclass(DiffusionConfig, diffusion_keys, f"{where} diffusion")
        if diffusion.parametrization is Parametrization.EDM and diffusion.sigma_data is None:
            raise SynthgenError(f"{where}: diffusion.sigma_data is missing; an edm model must record it")
        labels = LabelSpace.from_dict(config.labels)
        unet = build_unet(network, labels.dim)
        state = load_state_dict(model_dir / "weights.pt")
        try:
            unet.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as err:
            raise SynthgenError(f"{model_dir / 'weights.pt'} does not fit {where}: {str(err).splitlines()[0]}") from None
        return cls(unet.eval(), network, diffusion, labels, config.image_size, config.bit_depth,
                   config.label_prior or {"class_counts": [1] * len(labels.classes),
                                          "findings_by_class": [[] for _ in labels.classes]})

    # -- sampling ------------------------------------------------------------------------------
    @torch.no_grad()
    def __call__(
        self,
        conditions: torch.Tensor,
        seeds: list[int],
        sampler: Sampler | None = None,
        steps: int | None = None,
        guidance: float = 1.0,
        device: torch.device | str = "cpu",
        churn: float = 0.0,
    ) -> torch.Tensor:
        """Images (N, 1, H, W) in [-1, 1] for (N, dim) condition vectors and N seeds.

        sampler, steps: None takes the parametrization's default sampler and that sampler's steps.
        guidance: classifier-free guidance scale w; output = uncond + w * (cond - uncond). w = 1 is the
        plain conditional model (one network pass per step), w = 0 ignores the labels.
        """
        if guidance < 0:
            raise SynthgenError(f"guidance must be >= 0, got {guidance}")
        sampler, steps = SamplingConfig(sampler=sampler, steps=steps).resolved(self.diffusion.parametrization)
        generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
        side = self.image_size
        noise = torch.stack([torch.randn((1, side, side), generator=g) for g in generators]).to(device)
        conditions = network_conditions(conditions.to(device), self.network)
        self.unet.to(device).eval()
        loop = sampler_loop(self.diffusion, sampler, steps, churn)
        x = loop.run(lambda x, t: self._guided_output(x, t, conditions, guidance), noise, generators)
        return x.clamp(-1.0, 1.0).cpu()

    def _network_output(self, x: torch.Tensor, t: float, conditions: torch.Tensor) -> torch.Tensor:
        """vp: the network's prediction at integer timestep t; edm: the denoised image at noise level t."""
        if self.diffusion.parametrization is Parametrization.EDM:
            sigma = torch.full((x.shape[0],), t, device=x.device, dtype=torch.float32)
            return EDMDenoiser(self.unet, self.diffusion.sigma_data)(x, sigma, conditions)
        return predict(self.unet, x, torch.full((x.shape[0],), int(t), device=x.device, dtype=torch.long), conditions)

    def _guided_output(self, x: torch.Tensor, t: float, conditions: torch.Tensor, guidance: float) -> torch.Tensor:
        if guidance == 1.0:
            return self._network_output(x, t, conditions)
        if guidance == 0.0:
            return self._network_output(x, t, torch.zeros_like(conditions))
        both = self._network_output(torch.cat([x, x]), t, torch.cat([conditions, torch.zeros_like(conditions)]))
        conditional, unconditional = both.chunk(2)
        return unconditional + guidance * (conditional - unconditional)


def to_pixels(images: torch.Tensor, bit_depth: int) -> np.ndarray:
    """[-1, 1] (N, 1, H, W) -> uint8/uint16 (N, H, W), rounded."""
    top = 255 if bit_depth == 8 else 65535
    scaled = ((images[:, 0].double() + 1.0) * (top / 2.0)).round().clamp(0, top).numpy()
    return scaled.astype(np.uint8 if bit_depth == 8 else np.uint16)
