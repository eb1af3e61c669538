"""Samplers: the reverse-diffusion update rules, behind one small interface (`run`).

    heun  EDM's 2nd-order Heun solver (model.edm), for edm models: deterministic, 2 passes per step
    dpm++ for edm models: diffusers' EDMDPMSolverMultistepScheduler (DPM-Solver++ 2M on the same rho
          grid), one pass per step
    ddim  MONAI DDIMScheduler, eta 0: deterministic, good at 20-50 steps
    ddpm  MONAI DDPMScheduler: ancestral, every training timestep (the slow reference)
    dpm++ diffusers' DPMSolverMultistepScheduler (DPM-Solver++ 2M): deterministic, good at 10-20 steps

The vp samplers share the training noise schedule exactly (the DPM-Solver gets MONAI's betas), and
each image's randomness comes from its own generator, so results never depend on batch composition.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import torch
from monai.networks.schedulers import DDIMScheduler

from synthgen.model.config import DiffusionConfig, Sampler, check_sampler
from synthgen.model.diffusion import training_scheduler
from synthgen.model.edm import HeunLoop, preconditioning

# model(x, t) -> the network's output at integer timestep t (vp) or the denoised image at noise level t (edm)
ModelFn = Callable[[torch.Tensor, float], torch.Tensor]


class SamplerLoop:
    """A vp scheduler loop: `timesteps` to walk, and `step(output, t, x, generators) -> x` for each."""

    timesteps: torch.Tensor

    def step(self, output: torch.Tensor, t: int, x: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        raise NotImplementedError

    def run(self, model: ModelFn, noise: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        x = noise
        for t in self.timesteps:
            x = self.step(model(x, int(t)), int(t), x, generators)
        return x


class DDIMLoop(SamplerLoop):
    def __init__(self, config: DiffusionConfig, steps: int, churn: float = 0.0) -> None:
        self.scheduler = DDIMScheduler(num_train_timesteps=config.timesteps, schedule=config.schedule.value,
                                       prediction_type=config.prediction.value, clip_sample=True)
        self.scheduler.set_timesteps(steps)
        self.timesteps = self.scheduler.timesteps

    def step(self, output, t, x, generators):
        return self.scheduler.step(output, t, x)[0]


class DDPMLoop(SamplerLoop):
    def __init__(self, config: DiffusionConfig, steps: int | None = None, churn: float = 0.0) -> None:
        """Every training timestep, whatever `steps` says."""
        self.scheduler = training_scheduler(config)
        self.scheduler.set_timesteps(config.timesteps)
        self.timesteps = self.scheduler.timesteps

    def step(self, output, t, x, generators):
        # Ancestral noise per image from its own generator, so batches do not mix randomness.
        return torch.cat([
            self.scheduler.step(output[i:i + 1].cpu(), t, x[i:i + 1].cpu(), generator=g)[0]
            for i, g in enumerate(generators)
        ]).to(x.device)


class DPMSolverLoop(SamplerLoop):
    def __init__(self, config: DiffusionConfig, steps: int, churn: float = 0.0) -> None:
        from diffusers import DPMSolverMultistepScheduler  # imported here: slow to import, only this sampler needs it

        betas = training_scheduler(config).betas
        self.scheduler = DPMSolverMultistepScheduler(
            num_train_timesteps=config.timesteps,
            trained_betas=betas.numpy(),
            prediction_type=config.prediction.value,
            algorithm_type="dpmsolver++",
            solver_order=2,
            lower_order_final=True,
        )
        self.scheduler.set_timesteps(steps)
        self.timesteps = self.scheduler.timesteps

    def step(self, output, t, x, generators):
        return self.scheduler.step(output, t, x, return_dict=False)[0]


class EDMDPMSolverLoop:
    """DPM-Solver++ 2M for an edm model. The scheduler takes the network's raw output F and applies EDM's
    output preconditioning itself; we hand it F recovered from the (guided) denoised image D, which
    keeps classifier-free guidance on D, and start from noise * sigma_max as EDM does."""

    def __init__(self, config: DiffusionConfig, steps: int, churn: float = 0.0) -> None:
        from diffusers import EDMDPMSolverMultistepScheduler  # slow to import: only this sampler needs it

        self.scheduler = EDMDPMSolverMultistepScheduler(
            sigma_min=config.sigma_min, sigma_max=config.sigma_max, sigma_data=config.sigma_data, rho=config.rho,
            solver_order=2, algorithm_type="dpmsolver++", final_sigmas_type="zero")
        self.scheduler.set_timesteps(steps)
        self.sigma_data = config.sigma_data

    def run(self, denoise, noise: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        sigmas = self.scheduler.sigmas.tolist()
        x = noise * sigmas[0]
        for t, sigma in zip(self.scheduler.timesteps, sigmas):
            c_skip, c_out, _, _ = preconditioning(torch.tensor(sigma, dtype=torch.float64), self.sigma_data)
            raw = (denoise(x, sigma) - c_skip * x) / c_out
            x = self.scheduler.step(raw, t, x, return_dict=False)[0]
        return x


def sampler_loop(config: DiffusionConfig, sampler: Sampler, steps: int, churn: float = 0.0) -> SamplerLoop | HeunLoop | EDMDPMSolverLoop:
    """A fresh loop (schedulers keep per-run state) for one batch: the one the Sampler registry names
    for this parametrization."""
    check_sampler(config.parametrization, sampler, "sampler")
    module, _, name = sampler.loops[config.parametrization.value].partition(":")
    return getattr(importlib.import_module(module), name)(config, steps, churn)
