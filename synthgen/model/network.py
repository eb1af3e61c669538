"""The denoising network: MONAI's DiffusionModelUNet, conditioned on a label vector.

MONAI's UNet embeds an integer class and adds it to the time embedding. We keep that mechanism but
feed it a vector (one-hot class + multi-hot findings) through a bias-free linear map: the result is
the sum of one learned embedding per active label, and the zero vector (labels dropped for
classifier-free guidance) adds nothing, i.e. the unconditional model. A network conditioned on the
training augmentation takes its labels (augment.AUGMENT_LABELS) after the label vector, zero when
sampling: "an image as the data has it".
"""

from __future__ import annotations

import torch
from monai.networks.nets import DiffusionModelUNet
from torch import nn

from synthgen.model.augment import AUGMENT_LABELS
from synthgen.model.config import NetworkConfig


def build_unet(config: NetworkConfig, label_dim: int) -> DiffusionModelUNet:
    condition_dim = label_dim + (len(AUGMENT_LABELS) if config.augment_conditioning else 0)
    unet = DiffusionModelUNet(
        spatial_dims=2,
        in_channels=1,
        out_channels=1,
        channels=config.channels,
        attention_levels=config.attention_levels,
        num_res_blocks=config.num_res_blocks,
        norm_num_groups=config.norm_num_groups,
        num_head_channels=config.num_head_channels,
        num_class_embeds=condition_dim,
    )
    time_embed_dim = config.channels[0] * 4  # as DiffusionModelUNet sizes its time embedding
    unet.class_embedding = nn.Linear(condition_dim, time_embed_dim, bias=False)
    return unet


def network_conditions(label_vectors: torch.Tensor, config: NetworkConfig,
                       augment_labels: torch.Tensor | None = None) -> torch.Tensor:
    """What the network is conditioned on: the label vectors, then, if it was trained with them, the
    augmentation labels (None: zeros, i.e. not augmented, as when sampling)."""
    if not config.augment_conditioning:
        return label_vectors
    if augment_labels is None:
        augment_labels = torch.zeros(len(label_vectors), len(AUGMENT_LABELS))
    return torch.cat([label_vectors, augment_labels.to(label_vectors)], 1)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def predict(unet: nn.Module, noisy: torch.Tensor, timesteps: torch.Tensor, conditions: torch.Tensor) -> torch.Tensor:
    """One network evaluation; `conditions` are label vectors (zero rows: unconditional)."""
    return unet(noisy, timesteps, class_labels=conditions)
