"""Tiny GAN fixtures: a G and a D of about ten thousand parameters each, on 16² phantom images."""

from __future__ import annotations

from synthgen.model.config import config_from_dict
from synthgen.model.gan.config import GanTrainConfig

TINY_GAN = {
    "model": {"kind": "gan"},
    "generator": {"latent_dim": 8, "style_dim": 16, "mapping_layers": 1, "channels": [16, 8, 8], "norm_groups": 4,
                  "convs_per_level": 1},
    "discriminator": {"channels": [8, 16, 16], "mbstd_group": 2},
    "loss": {"r1_every": 2, "r1_gamma": 0.1},
    "augmentation": {"adaptive": True, "adjust_every": 2, "adjust_images": 64},
    "training": {"steps": 6, "batch_size": 8, "lr": 0.002, "d_lr": 0.004, "checkpoint_every": 3, "log_every": 2,
                 "grid_per_class": 2},
    "sampling": {"batch_size": 8},
}


def tiny_gan_config(**sections: dict) -> GanTrainConfig:
    data = {key: dict(value) for key, value in TINY_GAN.items()}
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return config_from_dict(data)
