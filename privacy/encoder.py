"""Embedding space 2: an encoder synthgen trains on the training images themselves.

Contrastive training (NT-Xent, as in SimCLR): each batch holds distinct patients; the two views of
a patient are two augmented images of that patient — the same image or, half of the time when the
patient has several, two different ones. So the encoder learns both "this is a lightly altered
copy" and "this is the same patient" (a re-identification network). Where every image is its own
patient it is plain self-supervised learning. The network is small (a few conv stages, global
pooling, a projection to `embed_dim`) and trains on the CPU in seconds to minutes.

A trained encoder is saved as `weights.pt` beside `config.json`, so it reloads without the run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from privacy.defaults import ENCODER_STEPS, ENCODER_WIDTH
from privacy.images import AuditImages, resample

log = logging.getLogger(__name__)

MAX_TRAINING_IMAGES = 20_000  # a seeded subsample beyond this keeps memory and time bounded


@dataclass(frozen=True)
class EncoderConfig:
    width: int = ENCODER_WIDTH  # channels of the first stage; stages have 1x, 2x, 4x, 8x
    embed_dim: int = 128
    input_size: int = 32  # images are resampled to min(input_size, their size)
    steps: int = ENCODER_STEPS
    batch: int = 128  # patients per batch (two views each)
    lr: float = 2e-3
    temperature: float = 0.1
    same_image_share: float = 0.5  # share of positives that are two views of one image
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("width", "embed_dim", "steps", "batch"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"encoder option {name} must be a positive integer, got {value!r}")
        if not isinstance(self.input_size, int) or self.input_size < 16:
            raise ValueError(f"encoder input_size must be an integer of at least 16, got {self.input_size!r}")
        if not 0.0 <= self.same_image_share <= 1.0:
            raise ValueError(f"same_image_share must be in [0, 1], got {self.same_image_share!r}")


def build_network(config: EncoderConfig):
    import torch
    from torch import nn

    def stage(c_in: int, c_out: int, stride: int) -> list:
        return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

    w = config.width
    layers = stage(1, w, 1)
    for c_in, c_out in ((w, w), (w, 2 * w), (2 * w, 4 * w), (4 * w, 8 * w)):
        layers += stage(c_in, c_out, 2) + stage(c_out, c_out, 1)

    class AuditEncoder(nn.Module):
        """(N, 1, S, S) images in [0, 1] -> (N, embed_dim) unit vectors."""

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(2), nn.Flatten())
            self.head = nn.Sequential(nn.Linear(32 * w, 8 * w), nn.ReLU(inplace=True), nn.Linear(8 * w, config.embed_dim))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # Per-image standardization: brightness and contrast carry no identity.
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
            return nn.functional.normalize(self.head(self.features((x - mean) / std)), dim=1)

    return AuditEncoder()


def nt_xent(first, second, temperature: float):
    """SimCLR's loss: each view must pick its partner among the 2B - 1 other views."""
    import torch
    import torch.nn.functional as F

    z = torch.cat([first, second])
    n = len(first)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(logits, targets)


def training_pixels(images: AuditImages, input_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, s, s) pixels of (at most MAX_TRAINING_IMAGES) training images and their patients."""
    keep = np.arange(len(images))
    if len(keep) > MAX_TRAINING_IMAGES:
        keep = np.sort(np.random.default_rng([seed, 1]).choice(len(keep), MAX_TRAINING_IMAGES, replace=False))
    parts = []
    for chunk_start, chunk in zip(range(0, len(images), 1024), images.chunks(1024)):
        wanted = keep[(keep >= chunk_start) & (keep < chunk_start + len(chunk))] - chunk_start
        if len(wanted):
            parts.append(np.round(resample(chunk[wanted], input_size) * 255).astype(np.uint8))
    return np.concatenate(parts), images.patient_ids[keep]


def train_encoder(
    images: AuditImages, config: EncoderConfig = EncoderConfig(), on_step: Callable[[int], None] | None = None
):
    """Train an encoder on `images` (the audit's training side); returns it in eval mode."""
    import torch

    size = min(config.input_size, images.size)
    pixels, patients = training_pixels(images, size, config.seed)
    groups = _patient_groups(patients)
    rng = np.random.default_rng([config.seed, 2])
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)  # weight initialisation
    model = build_network(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=config.steps)
    batch = min(config.batch, len(groups))
    log.info("encoder: %d images of %d patients at %d², %d steps of %d", len(pixels), len(groups), size, config.steps, batch)
    from privacy.augment import augment

    model.train()
    for _ in range(config.steps):
        first, second = _positive_pairs(groups, batch, config.same_image_share, rng)
        views = torch.from_numpy(pixels[np.concatenate([first, second])]).float().div_(255.0)[:, None]
        views = augment(views, generator)
        z = model(views)
        loss = nt_xent(z[:batch], z[batch:], config.temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if on_step is not None:
            on_step(1)
    log.info("encoder: final contrastive loss %.3f", float(loss.detach()))
    return model.eval()


def _patient_groups(patients: np.ndarray) -> list[np.ndarray]:
    order: dict[str, list[int]] = {}
    for position, patient in enumerate(patients):
        order.setdefault(str(patient), []).append(position)
    return [np.array(positions) for positions in order.values()]


def _positive_pairs(groups, batch: int, same_share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    chosen = rng.choice(len(groups), size=batch, replace=False)
    first, second = np.empty(batch, np.int64), np.empty(batch, np.int64)
    for slot, g in enumerate(chosen):
        members = groups[g]
        first[slot] = members[rng.integers(len(members))]
        if len(members) > 1 and rng.random() >= same_share:
            others = members[members != first[slot]]
            second[slot] = others[rng.integers(len(others))]
        else:
            second[slot] = first[slot]
    return first, second


class EncoderSpace:
    """The `encoder` space: a network trained by `train_encoder` (or loaded from a folder)."""

    name = "encoder"

    def __init__(self, model, config: EncoderConfig) -> None:
        self.model, self.config = model, config

    def describe(self) -> dict:
        n_params = sum(p.numel() for p in self.model.parameters())
        return {"kind": "contrastive encoder trained on the training images", "parameters": int(n_params),
                "dim": self.config.embed_dim, **asdict(self.config)}

    def embed(self, images: AuditImages, on_chunk=None) -> np.ndarray:
        import torch

        size = min(self.config.input_size, images.size)
        parts = []
        with torch.inference_mode():
            for chunk in images.chunks(512):
                x = torch.from_numpy(resample(chunk, size))[:, None]
                parts.append(self.model(x).numpy().astype(np.float32))
                if on_chunk is not None:
                    on_chunk(len(chunk))
        return np.concatenate(parts) if parts else np.zeros((0, self.config.embed_dim), np.float32)

    def save(self, folder: Path) -> Path:
        """weights.pt + config.json into an existing folder; returns the weights path."""
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(asdict(self.config), indent=2) + "\n")
        weights = folder / "weights.pt"
        torch.save(self.model.state_dict(), weights)
        return weights

    @classmethod
    def load(cls, folder: Path) -> "EncoderSpace":
        import torch

        config = EncoderConfig(**json.loads((Path(folder) / "config.json").read_text()))
        model = build_network(config)
        model.load_state_dict(torch.load(Path(folder) / "weights.pt", weights_only=True))
        return cls(model.eval(), config)
