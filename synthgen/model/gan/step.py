"""One adversarial training step: a discriminator update (hinge + lazy R1) then a generator update.

Every random draw of the step (batch rows, latents, noise maps, augmentation) comes from the
generator it is given, seeded by (seed, step, rank): the state to checkpoint is only tensors and
the augmentation probability. Under torchrun the gradients are averaged across processes by hand
(DistributedDataParallel cannot take R1's double backward).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from synthgen.model.gan.augment import diff_augment
from synthgen.model.gan.config import GanTrainConfig
from synthgen.model.gan.losses import (coverage_loss, discriminator_loss, generator_loss, mode_seeking_loss,
                                       noisy_twins_loss, r1_penalty)
from synthgen.model.gan.networks import Generator, ProjectionDiscriminator


@dataclass
class StepLosses:
    discriminator: float
    generator: float
    r1: float | None  # only on R1 steps
    real_sign: float  # mean sign of D on the (augmented) reals: ADA's overfitting measure


@dataclass
class GanModels:
    generator: Generator
    discriminator: ProjectionDiscriminator
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer


def build_optimizers(generator: Generator, discriminator: ProjectionDiscriminator, config: GanTrainConfig
                     ) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    t = config.training
    betas = (t.betas[0], t.betas[1])
    # Lazy R1 (StyleGAN2): D's lr and betas adjusted for the penalty running every r1_every steps.
    ratio = config.loss.r1_every / (config.loss.r1_every + 1)
    d_betas = (betas[0] ** ratio, betas[1] ** ratio)
    # One group unless the mapping learns at its own rate: checkpoints of one-group runs keep resuming.
    g_groups = [{"params": list(generator.parameters())}]
    if t.mapping_lr_ratio != 1.0:
        g_groups = [{"params": [p for name, p in generator.named_parameters() if not name.startswith("mapping.")]},
                    {"params": list(generator.mapping.parameters()), "lr": t.lr * t.mapping_lr_ratio}]
    return (torch.optim.Adam(g_groups, lr=t.lr, betas=betas),
            torch.optim.Adam(discriminator.parameters(), lr=t.d_lr * ratio, betas=d_betas))


def adversarial_step(models: GanModels, config: GanTrainConfig, reals: torch.Tensor, conditions: torch.Tensor,
                     step: int, augment_p: float, generator: torch.Generator, world_size: int = 1) -> StepLosses:
    """Update D (training.d_steps times) then G on one batch; returns the losses as floats (NaN when a
    loss diverged) and the mean sign of D on the augmented reals."""
    G, D = models.generator, models.discriminator
    device, n = reals.device, reals.shape[0]
    aug = config.augmentation
    strength = config.conditioning.strength(step)  # transitional conditioning: 0 -> 1 over its ramp

    # -- discriminator: hinge on reals vs fakes (d_steps updates, fresh fakes and augmentations each),
    #    R1 on the augmented reals every r1_every steps (first update only)
    D.requires_grad_(True)
    r1, signs = None, []
    for update in range(config.training.d_steps):
        latents, noises = G.draw_batch(n, generator)
        with torch.no_grad():
            fakes = G(latents.to(device), conditions, [x.to(device) for x in noises], strength,
                      embedding_noise(G, config, n, generator, device))
        real_input = diff_augment(reals, aug, augment_p, generator).detach()
        fake_input = diff_augment(fakes, aug, augment_p, generator)
        with_r1 = update == 0 and config.loss.r1_gamma > 0 and step % config.loss.r1_every == 0
        real_input.requires_grad_(with_r1)
        real_scores = D(real_input, conditions, strength)
        d_loss = discriminator_loss(real_scores, D(fake_input, conditions, strength))
        total = d_loss
        if with_r1:
            penalty = r1_penalty(real_scores, real_input)
            total = total + penalty * (config.loss.r1_gamma / 2.0 * config.loss.r1_every)
            r1 = float(penalty.detach())
        models.d_optimizer.zero_grad(set_to_none=True)
        total.backward()
        _average_gradients(D, world_size)
        models.d_optimizer.step()
        signs.append(real_scores.detach().sign().mean())

    # -- generator: -D(augmented fakes) (+ the mode-seeking term on pairs of fakes that share labels, or the
    #    NoisyTwins term on pairs that share labels and latents; + the coverage term against the reals)
    latents, noises = G.draw_batch(n, generator)
    D.requires_grad_(False)
    seeking, twins = config.loss.mode_seeking, config.loss.noisy_twins
    real_conditions = conditions
    if seeking or twins:
        conditions = paired_rows(conditions)
    if twins:
        latents = paired_rows(latents)
    latents = latents.to(device)
    styles = G.style(latents, conditions, strength, embedding_noise(G, config, n, generator, device))
    fakes = G.synthesis(styles, [x.to(device) for x in noises])
    g_loss = generator_loss(D(diff_augment(fakes, aug, augment_p, generator), conditions, strength))
    total = g_loss
    if config.loss.coverage:
        total = total + config.loss.coverage * coverage_loss(fakes, conditions, reals, real_conditions,
                                                              config.loss.coverage_size)
    if seeking:
        total = total + seeking * mode_seeking_loss(fakes, latents)
    if twins:
        half = n // 2
        total = total + twins * noisy_twins_loss(styles[:half], styles[half:2 * half],
                                                 config.loss.noisy_twins_off_diagonal)
    models.g_optimizer.zero_grad(set_to_none=True)
    total.backward()
    _average_gradients(G, world_size)
    models.g_optimizer.step()
    D.requires_grad_(True)
    return StepLosses(float(d_loss.detach()), float(g_loss.detach()), r1, float(torch.stack(signs).mean()))


def embedding_noise(G: Generator, config: GanTrainConfig, n: int, generator: torch.Generator,
                    device: torch.device) -> torch.Tensor | None:
    """Noise for G's label embedding (conditioning.embedding_noise), drawn only when it is on so that
    runs without it keep their random stream."""
    std = config.conditioning.embedding_noise
    if not std:
        return None
    return (torch.randn((n, G.config.style_dim), generator=generator) * std).to(device)


def paired_rows(rows: torch.Tensor) -> torch.Tensor:
    """The batch's rows with its second half replaced by its first: row i and row half + i share labels
    (and, for NoisyTwins, latents), the pairs the mode-seeking and NoisyTwins terms compare."""
    half = rows.shape[0] // 2
    paired = rows.clone()
    paired[half:2 * half] = rows[:half]
    return paired


def _average_gradients(module: torch.nn.Module, world_size: int) -> None:
    if world_size == 1:
        return
    import torch.distributed as dist

    grads = [p.grad for p in module.parameters() if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()
