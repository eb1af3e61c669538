"""The training objective of either parametrization, and the vp one (MONAI DDPM) in full.

Images live in [-1, 1]. vp training draws a timestep and noise per image from an explicit
generator, noises the batch with the DDPM forward process and regresses the configured target;
edm training is model.edm's loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from monai.networks.schedulers import DDPMScheduler
from torch import nn

from synthgen.model.config import DiffusionConfig, LossWeighting, Parametrization, Prediction
from synthgen.model.edm import EDMDenoiser, edm_loss
from synthgen.model.network import predict

# loss(images, conditions, generator) -> scalar
TrainingLoss = Callable[[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


def training_loss(network: nn.Module, config: DiffusionConfig) -> TrainingLoss:
    """The loss of `config`'s parametrization for `network` (the UNet, or DDP around it)."""
    if config.parametrization is Parametrization.EDM:
        denoiser = EDMDenoiser(network, config.sigma_data)
        return lambda images, conditions, generator: edm_loss(denoiser, config, images, conditions, generator)
    scheduler = training_scheduler(config)
    return lambda images, conditions, generator: diffusion_loss(
        network, scheduler, config, images, conditions, generator)


def training_scheduler(config: DiffusionConfig) -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=config.timesteps, schedule=config.schedule.value, prediction_type=config.prediction.value
    )


def diffusion_loss(
    unet: nn.Module,
    scheduler: DDPMScheduler,
    config: DiffusionConfig,
    images: torch.Tensor,
    conditions: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """Weighted MSE between the network output and the target for randomly noised `images`."""
    n = images.shape[0]
    noise = torch.randn(images.shape, generator=generator).to(images.device)
    timesteps = torch.randint(0, config.timesteps, (n,), generator=generator).to(images.device)
    noisy = scheduler.add_noise(images, noise, timesteps)
    if config.prediction is Prediction.EPSILON:
        target = noise
    else:
        target = scheduler.get_velocity(images, noise, timesteps)
    output = predict(unet, noisy, timesteps, conditions)
    per_image = (output.float() - target.float()).square().mean(dim=(1, 2, 3))
    return (per_image * loss_weights(scheduler, config, timesteps)).mean()


def loss_weights(scheduler: DDPMScheduler, config: DiffusionConfig, timesteps: torch.Tensor) -> torch.Tensor:
    """Min-SNR-gamma: cap the weight of low-noise steps so no timestep dominates the gradient.

    For epsilon targets the weight is min(snr, g)/snr; for v targets min(snr, g)/(snr + 1).
    """
    if config.loss_weighting is LossWeighting.UNIFORM:
        return torch.ones(timesteps.shape, device=timesteps.device)
    alphas = scheduler.alphas_cumprod.to(timesteps.device)[timesteps]
    snr = alphas / (1.0 - alphas)
    capped = torch.clamp(snr, max=config.min_snr_gamma)
    return capped / snr if config.prediction is Prediction.EPSILON else capped / (snr + 1.0)
