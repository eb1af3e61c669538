"""GAN objectives: the hinge loss (Lim & Ye 2017, as in SNGAN and BigGAN), the R1 penalty, the
mode-seeking term, the NoisyTwins term and the coverage (IMLE) term.

Written plainly: MONAI's PatchAdversarialLoss(criterion="hinge") passes D's scores through tanh
first (relu(1 - tanh(D(x)))), which never lets a real image's loss reach zero and bounds the
gradient D gets from confident scores, and its generator term is relu(1 - tanh(D(fake))) rather
than the usual -D(fake).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """mean relu(1 - D(real)) + mean relu(1 + D(fake))."""
    return torch.relu(1.0 - real_scores).mean() + torch.relu(1.0 + fake_scores).mean()


def generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


def r1_penalty(scores: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Mean over images of |d score / d input|² (Mescheder et al. 2018); `inputs` must require grad
    and `scores` be D's output on them. The graph is kept so the penalty can be backpropagated."""
    (gradient,) = torch.autograd.grad(scores.sum(), inputs, create_graph=True)
    return gradient.square().sum(dim=tuple(range(1, gradient.dim()))).mean()


def mode_seeking_loss(images: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
    """MSGAN's term (Mao et al. 2019) on a batch whose first and second halves are pairs with the same
    labels: 1 / (mean |image difference| / mean |latent difference|). Small when two latents of one
    class give different images, large when G maps them to one mode."""
    half = images.shape[0] // 2
    ratio = ((images[:half] - images[half:2 * half]).abs().mean()
             / (latents[:half] - latents[half:2 * half]).abs().mean())
    return 1.0 / (ratio + 1e-5)


def noisy_twins_loss(styles_a: torch.Tensor, styles_b: torch.Tensor, off_diagonal: float) -> torch.Tensor:
    """NoisyTwins (Rangwani et al. 2023): the Barlow Twins loss (Zbontar et al. 2021) between the styles of
    the same latents under two draws of label-embedding noise. Each dimension is standardised over the
    batch; the cross-correlation's diagonal is pulled to 1 (the style ignores the noise) and its
    off-diagonal to 0 (the dimensions carry different factors instead of collapsing onto a few)."""
    def standardised(x: torch.Tensor) -> torch.Tensor:
        return (x - x.mean(dim=0)) / (x.var(dim=0, unbiased=False) + 1e-5).sqrt()

    correlation = standardised(styles_a).T @ standardised(styles_b) / styles_a.shape[0]
    diagonal = torch.diagonal(correlation)
    on = (diagonal - 1.0).square().sum()
    off = correlation.square().sum() - diagonal.square().sum()
    return on + off_diagonal * off


def coverage_loss(fakes: torch.Tensor, fake_conditions: torch.Tensor, reals: torch.Tensor,
                  real_conditions: torch.Tensor, size: int) -> torch.Tensor:
    """Inclusive GAN's IMLE term (Yu et al. 2020, after Li & Malik 2018): each real image pulls the nearest
    generated image of its label vector towards it, so the rare kinds of image a GAN drops (dark
    borders, zoomed-out films) keep a generated image near them. Distances are mean squared differences
    of the images average-pooled to size x size: the layout is pulled, not the fine detail a copy
    would share. Reals with no generated image of their labels in the batch are left out."""
    fake_small = F.adaptive_avg_pool2d(fakes, size).flatten(1)
    real_small = F.adaptive_avg_pool2d(reals.detach(), size).flatten(1)
    distances = (real_small[:, None, :] - fake_small[None, :, :]).square().mean(dim=2)  # (reals, fakes)
    same_labels = (real_conditions[:, None, :] == fake_conditions[None, :, :]).all(dim=2)
    nearest = distances.masked_fill(~same_labels, float("inf")).min(dim=1).values
    covered = torch.isfinite(nearest)
    return nearest[covered].mean() if bool(covered.any()) else fakes.sum() * 0.0
