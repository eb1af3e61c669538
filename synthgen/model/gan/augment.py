"""DiffAugment (Zhao et al. 2020) with an adaptive strength (ADA, Karras et al. 2020).

Every image the discriminator sees, real or generated, goes through the same differentiable
operations: brightness, contrast, translation (edges repeat, as in the diffusion augmentation)
and cutout. Each operation is applied to an image with probability p. Since G's images are
augmented the same way, D cannot tell them apart by the augmentation and G does not learn to
produce it. No horizontal flip: it moves the heart. Every random draw comes from `generator`
and the same number of draws is made whatever p is, so runs are reproducible step by step.

Adaptive p: r = E[sign(D(real))] over a few steps measures how sure D is on training images;
p rises when r exceeds `target` (D starts to memorise them) and falls otherwise.
"""

from __future__ import annotations

import torch

from synthgen.model.gan.config import GanAugmentationConfig


def diff_augment(images: torch.Tensor, config: GanAugmentationConfig, probability: float,
                 generator: torch.Generator) -> torch.Tensor:
    """Augment (N, 1, H, W) images in [-1, 1]; the result stays in [-1, 1]."""
    n, _, height, width = images.shape

    # Draws on the CPU generator (the same numbers on any device), then moved to the images' device.
    def chosen() -> torch.Tensor:
        return (torch.rand(n, generator=generator) < probability).to(images.device, images.dtype).view(n, 1, 1, 1)

    def uniform(half_width: float) -> torch.Tensor:
        values = (torch.rand(n, generator=generator) * 2.0 - 1.0) * half_width
        return values.to(images.device, images.dtype).view(n, 1, 1, 1)

    x = images + uniform(config.brightness) * chosen()
    # contrast as x + (x - mean) * delta: exactly x when not chosen (x - mean + mean is not)
    x = (x + (x - x.mean(dim=(1, 2, 3), keepdim=True)) * (uniform(config.contrast) * chosen())).clamp(-1.0, 1.0)
    x = _translate(x, config.translation, chosen(), generator)
    return _cutout(x, config.cutout, chosen(), generator)


def _translate(x: torch.Tensor, fraction: float, chosen: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Whole-pixel shifts of up to `fraction` of the side; pixels from outside repeat the edge."""
    n, _, height, width = x.shape
    shift = [torch.randint(-int(fraction * side), int(fraction * side) + 1, (n,), generator=generator)
             for side in (height, width)]
    shift_y, shift_x = (s * chosen.view(n).long().cpu() for s in shift)
    rows = (torch.arange(height).view(1, height) - shift_y.view(n, 1)).clamp(0, height - 1)
    cols = (torch.arange(width).view(1, width) - shift_x.view(n, 1)).clamp(0, width - 1)
    x = x.gather(2, rows.view(n, 1, height, 1).expand(n, 1, height, width).to(x.device))
    return x.gather(3, cols.view(n, 1, 1, width).expand(n, 1, height, width).to(x.device))


def _cutout(x: torch.Tensor, fraction: float, chosen: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A square of side `fraction` * side, centred anywhere in the image, set to mid-grey (0)."""
    n, _, height, width = x.shape
    centre_y = torch.randint(0, height, (n, 1, 1, 1), generator=generator)
    centre_x = torch.randint(0, width, (n, 1, 1, 1), generator=generator)
    half_y, half_x = fraction * height / 2.0, fraction * width / 2.0
    inside_y = (torch.arange(height).view(1, 1, height, 1) - centre_y).abs() < half_y
    inside_x = (torch.arange(width).view(1, 1, 1, width) - centre_x).abs() < half_x
    hole = (inside_y & inside_x).to(x.device, x.dtype) * chosen
    return x * (1.0 - hole)


def adjusted_probability(probability: float, real_sign_mean: float, batch_size: int,
                         config: GanAugmentationConfig) -> float:
    """ADA's update after `adjust_every` steps: p moves by the images seen / adjust_images toward
    more augmentation when D is too sure on reals (mean sign above target), less otherwise."""
    step = batch_size * config.adjust_every / config.adjust_images
    direction = 1.0 if real_sign_mean > config.target else -1.0
    return min(max(probability + direction * step, 0.0), 1.0)
