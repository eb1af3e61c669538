"""The downstream classifier: a MONAI network and the one training recipe every regime shares.

Training is step-based with class-balanced sampling (with replacement), so every regime gets the
same compute whatever the size or class balance of its training pool, and a synthetic set with
other class proportions than the real one is not penalised for that alone. Where a pool mixes real
and synthetic images, `real_share` (if set) fixes the share of draws that are real, per class, so
that a small real subset is not drowned by ten times as many synthetic images. Augmentation is what a
radiograph tolerates: small shifts and brightness/contrast changes, never flips (laterality).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from synthgen.errors import SynthgenError
from validation.options import ValidateOptions

NETWORKS = ("resnet-tiny", "resnet10", "resnet18", "densenet121")


@dataclass(frozen=True)
class Recipe:
    """How every downstream classifier is built and trained (identical across regimes)."""

    network: str = ValidateOptions.network
    width: int = ValidateOptions.width  # resnet-tiny: channels of its first stage (then x2, x4, x8)
    steps: int = ValidateOptions.steps
    batch_size: int = ValidateOptions.batch_size
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    max_shift: float = 0.06  # random shift, as a fraction of the image side
    intensity_jitter: float = 0.1  # brightness/contrast change, relative
    real_share: float | None = ValidateOptions.real_share  # of a mixed pool's draws (None: by image count)
    eval_batch_size: int = 512

    def __post_init__(self) -> None:
        if self.network not in NETWORKS:
            raise SynthgenError(f"network {self.network!r} is not one of {', '.join(NETWORKS)}")
        for name in ("width", "steps", "batch_size", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                raise SynthgenError(f"classifier {name} must be a positive integer, got {getattr(self, name)}")
        if not 0 < self.learning_rate < 1:
            raise SynthgenError(f"classifier learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.real_share is not None and not 0 < self.real_share < 1:
            raise SynthgenError(f"classifier real_share must be in (0, 1) (e.g. 0.5) or unset, got {self.real_share}")
        if not 0 <= self.max_shift < 0.5 or not 0 <= self.intensity_jitter < 1:
            raise SynthgenError("classifier max_shift must be in [0, 0.5) and intensity_jitter in [0, 1)")


def build_network(recipe: Recipe, n_classes: int, seed: int) -> nn.Module:
    """A 2-D, 1-channel MONAI network with `n_classes` logits, initialised from `seed` alone."""
    from monai.networks.nets import DenseNet121, ResNet, resnet10, resnet18

    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
        torch.manual_seed(seed)
        common = {"spatial_dims": 2, "n_input_channels": 1, "num_classes": n_classes, "conv1_t_stride": 2}
        if recipe.network == "resnet-tiny":
            w = recipe.width
            return ResNet("basic", [1, 1, 1, 1], [w, 2 * w, 4 * w, 8 * w], conv1_t_size=7, **common)
        if recipe.network == "resnet10":
            return resnet10(**common)
        if recipe.network == "resnet18":
            return resnet18(**common)
        return DenseNet121(spatial_dims=2, in_channels=1, out_channels=n_classes)


def last_linear(model: nn.Module) -> nn.Linear:
    """The output layer; its input is the penultimate feature vector used as an encoder."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no linear output layer")
    return linears[-1]


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    recipe: Recipe,
    seed: int,
    on_step: Callable[[int], None] | None = None,
    is_real: np.ndarray | None = None,
) -> nn.Module:
    """Train on float32 (N, H, W) images in [0, 1]; the same seed gives the same weights. `is_real`
    (bool per image) marks a mixed pool's real images for `recipe.real_share`."""
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need matching non-empty images and labels, got {len(images)} and {len(labels)}")
    model = build_network(recipe, n_classes, seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    sample_weights = draw_weights(y, n_classes, recipe.real_share, is_real)

    def batch_loss() -> torch.Tensor:
        batch = torch.multinomial(sample_weights, recipe.batch_size, replacement=True, generator=generator)
        return nn.functional.cross_entropy(model(augment(x[batch], generator, recipe)), y[batch])

    return fit(model, recipe, batch_loss, on_step)


def draw_weights(labels: torch.Tensor, n_classes: int, real_share: float | None = None,
                 is_real: np.ndarray | None = None) -> torch.Tensor:
    """Per-image draw weights: every class equally often; within a class that has both real and
    synthetic images, real ones take `real_share` of its draws (unset: by image count)."""
    if is_real is None or real_share is None:
        groups, shares = labels, torch.ones(len(labels), dtype=torch.float64)
    else:
        real = torch.from_numpy(np.asarray(is_real, dtype=bool))
        if len(real) != len(labels):
            raise ValueError(f"is_real has {len(real)} entries for {len(labels)} images")
        groups = labels * 2 + real.long()  # (class, source) cells
        shares = torch.where(real, real_share, 1 - real_share).double()
        cell_present = torch.bincount(groups, minlength=2 * n_classes) > 0
        both = cell_present[labels * 2] & cell_present[labels * 2 + 1]
        shares = torch.where(both, shares, torch.ones_like(shares))  # a one-source class keeps all its draws
    counts = torch.bincount(groups, minlength=2 * n_classes).clamp(min=1).double()
    return shares / counts[groups]


def fit(model: nn.Module, recipe: Recipe, batch_loss: Callable[[], torch.Tensor],
        on_step: Callable[[int], None] | None = None) -> nn.Module:
    """The recipe's optimizer loop (AdamW, one-cycle schedule) over `recipe.steps` draws of `batch_loss`."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.learning_rate, total_steps=recipe.steps, pct_start=0.15
    )
    model.train()
    for _ in range(recipe.steps):
        loss = batch_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if on_step is not None:
            on_step(1)
    model.eval()
    return model


def augment(batch: torch.Tensor, generator: torch.Generator, recipe: Recipe) -> torch.Tensor:
    """Random shift (reflect-padded crop) and brightness/contrast jitter of a (B, 1, H, W) batch."""
    n, _, height, width = batch.shape
    pad = int(round(recipe.max_shift * height))
    if pad > 0:
        padded = nn.functional.pad(batch, (pad, pad, pad, pad), mode="reflect")
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        rows = (dy[:, None] + torch.arange(height))[:, :, None]
        cols = (dx[:, None] + torch.arange(width))[:, None, :]
        batch = padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)
    if recipe.intensity_jitter > 0:
        j = recipe.intensity_jitter
        contrast = 1 + (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * j
        brightness = (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * j / 2
        mean = batch.mean(dim=(2, 3), keepdim=True)
        batch = ((batch - mean) * contrast + mean + brightness).clamp(0, 1)
    return batch


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Class probabilities (N, K) as float64."""
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size], dtype=np.float32))
        out.append(torch.softmax(model(chunk.unsqueeze(1)), dim=1).double().numpy())
    return np.concatenate(out)
