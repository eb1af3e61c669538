"""EDM (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models").

Three pieces around the same MONAI DiffusionModelUNet, each as in NVlabs/edm:
- `EDMDenoiser` (training/networks.py EDMPrecond): D(x; sigma) = c_skip x + c_out F(c_in x; c_noise),
  scaled so the network's input and target have unit variance at every noise level.
- `edm_loss` (training/loss.py EDMLoss): sigma ~ exp(N(P_mean, P_std²)), weight
  (sigma² + sigma_data²) / (sigma sigma_data)², which makes every noise level's loss start at 1.
- `HeunLoop` (generate.py edm_sampler): the 2nd-order Heun ODE solver on the rho = 7 grid
  sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho, then 0, with
  optional stochastic churn. Its arithmetic runs in float64 like the reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from synthgen.model.config import DiffusionConfig
from synthgen.model.network import predict

# denoise(x, sigma) -> D(x; sigma): the (guided) denoiser the sampler calls
Denoise = Callable[[torch.Tensor, float], torch.Tensor]


def measure_sigma_data(images: torch.Tensor) -> float:
    """The standard deviation of the training pixels (in [-1, 1]), rounded so configs stay readable."""
    return round(float(images.double().std()), 4)


def preconditioning(sigma: torch.Tensor, sigma_data: float) -> tuple[torch.Tensor, ...]:
    """c_skip, c_out, c_in, c_noise for noise levels `sigma` (a tensor of any shape)."""
    sd2 = sigma_data ** 2
    c_skip = sd2 / (sigma ** 2 + sd2)
    c_out = sigma * sigma_data / (sigma ** 2 + sd2).sqrt()
    c_in = 1.0 / (sd2 + sigma ** 2).sqrt()
    return c_skip, c_out, c_in, sigma.log() / 4.0


class EDMDenoiser:
    """D(x; sigma) around a network (the UNet, or DDP wrapping it) that predicts F."""

    def __init__(self, network: nn.Module, sigma_data: float) -> None:
        if sigma_data is None or sigma_data <= 0:
            raise ValueError(f"sigma_data must be measured (> 0) before building the denoiser, got {sigma_data}")
        self.network, self.sigma_data = network, float(sigma_data)

    def coefficients(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """c_skip, c_out, c_in, c_noise for a (N,) float32 tensor of noise levels."""
        return preconditioning(sigma, self.sigma_data)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, conditions: torch.Tensor) -> torch.Tensor:
        sigma = sigma.to(device=x.device, dtype=torch.float32).reshape(-1)
        c_skip, c_out, c_in, c_noise = (c.view(-1, 1, 1, 1) for c in self.coefficients(sigma))
        output = predict(self.network, (c_in * x).to(x.dtype), c_noise.reshape(-1), conditions)
        return c_skip * x.float() + c_out * output.float()


def edm_loss(denoiser: EDMDenoiser, config: DiffusionConfig, images: torch.Tensor, conditions: torch.Tensor,
             generator: torch.Generator) -> torch.Tensor:
    """EDM's weighted denoising loss for a batch; all randomness from `generator`."""
    n = images.shape[0]
    sigma = (torch.randn(n, generator=generator) * config.p_std + config.p_mean).exp().to(images.device)
    noise = torch.randn(images.shape, generator=generator).to(images.device) * sigma.view(-1, 1, 1, 1)
    denoised = denoiser(images + noise, sigma, conditions)
    sd2 = denoiser.sigma_data ** 2
    weight = ((sigma ** 2 + sd2) / (sigma * denoiser.sigma_data) ** 2).view(-1, 1, 1, 1)
    return (weight * (denoised - images.float()).square()).mean()


def sigma_steps(config: DiffusionConfig, steps: int) -> torch.Tensor:
    """EDM's time steps: `steps` noise levels from sigma_max down to sigma_min on the rho grid, then 0."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    i = torch.arange(steps, dtype=torch.float64)
    low, high = config.sigma_min ** (1 / config.rho), config.sigma_max ** (1 / config.rho)
    grid = (high + i / max(steps - 1, 1) * (low - high)) ** config.rho
    return torch.cat([grid, torch.zeros(1, dtype=torch.float64)])


class HeunLoop:
    """EDM Algorithm 2: Heun steps between the grid's noise levels; churn > 0 adds fresh noise."""

    def __init__(self, config: DiffusionConfig, steps: int, churn: float = 0.0, s_noise: float = 1.0) -> None:
        self.sigmas = sigma_steps(config, steps)
        self.steps, self.churn, self.s_noise = steps, churn, s_noise

    def run(self, denoise: Denoise, noise: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        """Images from unit Gaussian `noise`; one generator per image for the churn noise."""
        x = noise.double() * self.sigmas[0]
        gamma = min(self.churn / self.steps, math.sqrt(2.0) - 1.0)
        last = len(self.sigmas) - 2
        for i, (t_cur, t_next) in enumerate(zip(self.sigmas[:-1].tolist(), self.sigmas[1:].tolist())):
            t_hat = t_cur + gamma * t_cur
            x_hat = x
            if gamma > 0:
                fresh = torch.stack([torch.randn(x.shape[1:], generator=g) for g in generators]).to(x)
                x_hat = x + math.sqrt(t_hat ** 2 - t_cur ** 2) * self.s_noise * fresh
            d_cur = (x_hat - denoise(x_hat.float(), t_hat).double()) / t_hat
            x = x_hat + (t_next - t_hat) * d_cur
            if i < last:  # 2nd-order correction, except at the step that lands on sigma = 0
                d_next = (x - denoise(x.float(), t_next).double()) / t_next
                x = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_next)
        return x.float()
