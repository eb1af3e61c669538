"""Tiny diffusion-model fixtures: a few-thousand-parameter UNet on 16² phantom images."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml

from synthgen.model.config import TrainConfig, config_from_dict, config_to_dict

TINY = {
    "network": {"channels": [4, 8], "attention_levels": [False, True], "num_res_blocks": 1,
                "norm_num_groups": 4, "num_head_channels": 8},
    "diffusion": {"timesteps": 20},
    "training": {"steps": 6, "batch_size": 8, "lr": 0.002, "warmup_steps": 2, "checkpoint_every": 3,
                 "log_every": 2, "grid_per_class": 2},
    "sampling": {"steps": 4, "batch_size": 8},
}


def tiny_config(**sections: dict) -> TrainConfig:
    data = {key: dict(value) for key, value in TINY.items()}
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return config_from_dict(data)


def write_config(path: Path, config: TrainConfig) -> Path:
    path.write_text(yaml.safe_dump(config_to_dict(config)))
    return path


def state_dicts_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
