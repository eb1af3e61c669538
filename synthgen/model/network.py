"""The denoising network: MONAI's DiffusionModelUNet, conditioned on a label vector.

MONAI's UNet embeds an integer class and adds it to the time embedding. We keep that mechanism but
feed it a vector (one-hot class + multi-hot findings) through a bias-free linear map: the result is
the sum of one learned embedding per active label, and the zero vector (labels dropped for
classifier-free guidance) adds nothing, i.e. the unconditional model.
"""

from __future__ import annotations

import torch
from monai.networks.nets import DiffusionModelUNet
from torch import nn

from synthgen.model.config import NetworkConfig


def build_unet(config: NetworkConfig, condition_dim: int) -> DiffusionModelUNet:
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


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def predict(unet: nn.Module, noisy: torch.Tensor, timesteps: torch.Tensor, conditions: torch.Tensor) -> torch.Tensor:
    """One network evaluation; `conditions` are label vectors (zero rows: unconditional)."""
    return unet(noisy, timesteps, class_labels=conditions)
