"""The training configuration: one dataclass per YAML section, validated on construction.

A config file (configs/*.yaml) holds any of the sections below; missing keys keep these defaults,
unknown keys and wrong types are errors naming `section.key`. The resolved config is written into
the run folder, and `--resume` refuses a run whose config differs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from synthgen.config import build_dataclass, read_yaml_mapping
from synthgen.errors import SynthgenError


class Prediction(str, Enum):
    """What the network predicts: the added noise, or the velocity v = a*noise - s*x0 (better at few steps)."""

    EPSILON = "epsilon"
    V_PREDICTION = "v_prediction"


class NoiseSchedule(str, Enum):
    """MONAI's noise schedules (monai.networks.schedulers.NoiseSchedules)."""

    LINEAR = "linear_beta"
    SCALED_LINEAR = "scaled_linear_beta"
    SIGMOID = "sigmoid_beta"
    COSINE = "cosine"


class LossWeighting(str, Enum):
    """uniform: plain MSE; min_snr: Min-SNR-gamma weights (Hang et al. 2023), faster convergence."""

    UNIFORM = "uniform"
    MIN_SNR = "min_snr"


class Sampler(str, Enum):
    """ddim and dpm++ are deterministic few-step samplers; ddpm walks every training timestep."""

    DDIM = "ddim"
    DPM_SOLVER = "dpm++"
    DDPM = "ddpm"


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def _fraction(name: str, value: float, high: float = 1.0) -> None:
    if not 0.0 <= value < high:
        raise ValueError(f"{name} must be in [0, {high}), got {value}")


@dataclass(frozen=True)
class NetworkConfig:
    """MONAI DiffusionModelUNet shape."""

    channels: tuple[int, ...] = (32, 64, 64)
    attention_levels: tuple[bool, ...] = (False, False, True)
    num_res_blocks: int = 1
    norm_num_groups: int = 16
    num_head_channels: int = 32

    def __post_init__(self) -> None:
        if len(self.channels) != len(self.attention_levels):
            raise ValueError(f"channels {list(self.channels)} and attention_levels need the same length")
        bad = [c for c in self.channels if c <= 0 or c % self.norm_num_groups]
        if bad:
            raise ValueError(f"channels {bad} must be positive multiples of norm_num_groups={self.norm_num_groups}")
        _positive("num_res_blocks", self.num_res_blocks)
        _positive("num_head_channels", self.num_head_channels)


@dataclass(frozen=True)
class DiffusionConfig:
    timesteps: int = 1000
    schedule: NoiseSchedule = NoiseSchedule.COSINE
    prediction: Prediction = Prediction.V_PREDICTION
    loss_weighting: LossWeighting = LossWeighting.MIN_SNR
    min_snr_gamma: float = 5.0

    def __post_init__(self) -> None:
        if self.timesteps < 2:
            raise ValueError(f"timesteps must be >= 2, got {self.timesteps}")
        _positive("min_snr_gamma", self.min_snr_gamma)


@dataclass(frozen=True)
class ConditioningConfig:
    use_findings: bool = True  # also condition on the multi-label finding vector when the set has one
    label_dropout: float = 0.1  # classifier-free guidance: labels dropped with this probability

    def __post_init__(self) -> None:
        _fraction("label_dropout", self.label_dropout)


@dataclass(frozen=True)
class TrainingConfig:
    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 100
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    checkpoint_every: int = 500
    log_every: int = 20
    grid_per_class: int = 8  # images per class in the sample grid written at each checkpoint
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # bfloat16 autocast on GPU; ignored on CPU
    split: str = "train"  # the image set's split to train on

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "log_every"):
            _positive(name, getattr(self, name))
        _positive("lr", self.lr)
        _fraction("ema_decay", self.ema_decay)
        if self.warmup_steps < 0 or self.grad_clip < 0 or self.weight_decay < 0 or self.grid_per_class < 0:
            raise ValueError("warmup_steps, grad_clip, weight_decay and grid_per_class must be >= 0")


@dataclass(frozen=True)
class AugmentationConfig:
    """Radiograph-safe augmentation; no horizontal flip by default because laterality matters."""

    shift: float = 0.03  # up to this fraction of the image side
    scale: float = 0.05  # zoom in [1 - scale, 1 + scale]
    rotate: float = 3.0  # degrees
    contrast: float = 0.05
    brightness: float = 0.05
    hflip: bool = False

    def __post_init__(self) -> None:
        for name in ("shift", "scale", "contrast", "brightness"):
            _fraction(name, getattr(self, name), 0.5)
        if not 0 <= self.rotate <= 45:
            raise ValueError(f"rotate must be in [0, 45] degrees, got {self.rotate}")


@dataclass(frozen=True)
class SamplingConfig:
    """Defaults of `synthgen sample` for this model (each can be overridden on the command line)."""

    sampler: Sampler = Sampler.DDIM
    steps: int = 25
    guidance: float = 1.0
    batch_size: int = 64

    def __post_init__(self) -> None:
        _positive("steps", self.steps)
        _positive("batch_size", self.batch_size)
        if self.guidance < 0:
            raise ValueError(f"guidance must be >= 0, got {self.guidance}")


@dataclass(frozen=True)
class TrainConfig:
    network: NetworkConfig = field(default_factory=NetworkConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)


def load_train_config(path: Path | None) -> TrainConfig:
    """The config in `path` (YAML), or the defaults when None."""
    if path is None:
        return TrainConfig()
    return config_from_dict(read_yaml_mapping(path), f"config {path}")


def config_from_dict(data: dict, where: str = "config") -> TrainConfig:
    return build_dataclass(TrainConfig, data, where)


def config_to_dict(config: object) -> dict:
    """Plain JSON/YAML-able values (enums as their strings, tuples as lists)."""
    return _plain(dataclasses.asdict(config))


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def config_difference(old: dict, new: dict, prefix: str = "") -> str | None:
    """The first key (dotted) whose value differs between two config dicts, or None."""
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = config_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key} ({a!r} in the run, {b!r} now)"
    return None


def with_overrides(config: TrainConfig, **sections: dict) -> TrainConfig:
    """A copy with some keys replaced, e.g. with_overrides(c, training={"steps": 10})."""
    data = config_to_dict(config)
    for section, values in sections.items():
        if section not in data:
            raise SynthgenError(f"unknown config section {section!r}")
        data[section].update(values)
    return config_from_dict(data)
