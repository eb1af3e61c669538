"""The GAN's training configuration (`model.kind: gan`): one dataclass per YAML section.

A GAN config shares the layout of a diffusion config (training, augmentation, conditioning,
sampling) but not its keys: keys of the other family are errors naming the key (see
synthgen.model.config_files.config_from_dict, which dispatches on `model.kind`). Defaults follow the
small-data recipe of StyleGAN2-ADA and DiffAugment: R1 every 16 steps, DiffAugment on real and
fake alike, a minibatch-stddev layer in D, a mapping network over (latent, label embedding),
per-layer noise, Adam with betas (0, 0.99).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from synthgen.model.config import ModelKind, check_profiles


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")


@dataclass(frozen=True)
class GanModelConfig:
    kind: ModelKind = ModelKind.GAN

    def __post_init__(self) -> None:
        if self.kind is not ModelKind.GAN:
            raise ValueError(f"kind must be gan in a GAN config, got {self.kind.value}")


@dataclass(frozen=True)
class GeneratorConfig:
    """Mapping MLP (latent + label embedding -> style w), then a 4x4-or-larger constant-free start
    from w and one upsampling block per further entry of `channels`; each block modulates its
    group-normalised features with w (conditional normalization) and adds per-pixel noise."""

    latent_dim: int = 64
    style_dim: int = 128
    mapping_layers: int = 2
    channels: tuple[int, ...] = (128, 128, 64, 32)  # first: the start resolution; one doubling per further entry
    convs_per_level: int = 2  # 3x3 convolutions per resolution (1 halves the sampling cost)
    norm_groups: int = 8
    noise: bool = True  # per-layer noise input (StyleGAN): fine-grained variety the latent need not carry

    def __post_init__(self) -> None:
        for name in ("latent_dim", "style_dim", "mapping_layers", "norm_groups", "convs_per_level"):
            _positive(name, getattr(self, name))
        if len(self.channels) < 2:
            raise ValueError(f"channels needs at least two levels, got {list(self.channels)}")
        bad = [c for c in self.channels if c <= 0 or c % self.norm_groups]
        if bad:
            raise ValueError(f"channels {bad} must be positive multiples of norm_groups={self.norm_groups}")


class DiscriminatorHead(str, Enum):
    """How D turns its last feature map into the feature vector h of the projection head."""

    SUM = "sum"          # sum over positions (SNGAN / BigGAN): h does not know where a feature is
    FLATTEN = "flatten"  # all positions through a dense layer (StyleGAN2's epilogue): h sees the layout


class SelectionMetric(str, Enum):
    """What picks the final weights among the candidates that copy no more than held-out real images."""

    FD = "fd"                  # validation FD in the classifier's features: blind to blur, so early snapshots win
    TWO_SAMPLE = "two_sample"  # the two-sample CNN's AUC against the held-out images: what validate reports


class MbstdGroups(str, Enum):
    """Which images share a minibatch-stddev group (the feature that lets D see a lack of variety)."""

    BATCH = "batch"    # any images of the batch (StyleGAN2): the spread between classes hides a class that collapsed
    LABELS = "labels"  # images with the same labels where the batch allows: D sees the variety within each class


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Spectral-norm convolutions halving the resolution per entry of `channels`, a minibatch-stddev
    layer, then a projection head: score = linear(h) + <embed(label vector), h>."""

    channels: tuple[int, ...] = (32, 64, 128, 128)
    mbstd_group: int = 4  # images per minibatch-stddev group (StyleGAN2); 1 turns the layer off
    mbstd_groups: MbstdGroups = MbstdGroups.BATCH
    spectral_norm: bool = True  # on every layer (Miyato et al.); false: R1 alone keeps D smooth (StyleGAN2-ADA)
    head: DiscriminatorHead = DiscriminatorHead.SUM
    # PacGAN (Lin et al. 2018): D scores packs of this many images of one label vector, stacked as channels,
    # so a G that draws a class alike is told apart by the pack's lack of variety. 1: one image per score.
    pack: int = 1

    def __post_init__(self) -> None:
        if not self.channels or any(c <= 0 for c in self.channels):
            raise ValueError(f"channels must be positive, got {list(self.channels)}")
        _positive("mbstd_group", self.mbstd_group)
        _positive("pack", self.pack)


@dataclass(frozen=True)
class LossConfig:
    """Hinge loss; R1 gradient penalty on (augmented) reals, lazily every `r1_every` steps; optional
    mode-seeking term for G (MSGAN, Mao et al. 2019) against images that vary less than their latents;
    optional NoisyTwins term (Rangwani et al. 2023) against styles that collapse within a class."""

    r1_gamma: float = 0.05
    r1_every: int = 16
    mode_seeking: float = 0.0  # weight of 1 / (|G(z1,c) - G(z2,c)| / |z1 - z2|); 0 turns it off
    # Weight of the Barlow Twins loss between the styles of one latent under two noisy label embeddings
    # (needs conditioning.embedding_noise; the paper's 0.01): invariant to the noise, decorrelated across
    # dimensions, so a class's styles cannot shrink onto a few directions. 0 turns it off.
    noisy_twins: float = 0.0
    noisy_twins_off_diagonal: float = 0.005  # Barlow Twins' lambda: weight of the off-diagonal correlations
    # Weight of the IMLE term of Inclusive GAN (Yu et al. 2020): each real image of the batch pulls the nearest
    # generated image of its labels, compared average-pooled to coverage_size² (the layout, not the detail).
    # Against the rare films a GAN drops. 0 turns it off.
    coverage: float = 0.0
    coverage_size: int = 8

    def __post_init__(self) -> None:
        for name in ("r1_gamma", "mode_seeking", "noisy_twins", "noisy_twins_off_diagonal", "coverage"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        _positive("r1_every", self.r1_every)
        _positive("coverage_size", self.coverage_size)


@dataclass(frozen=True)
class GanAugmentationConfig:
    """DiffAugment (Zhao et al. 2020) on every image D sees, real and fake: each operation applied
    to an image with probability p. Never a horizontal flip (it moves the heart)."""

    translation: float = 0.125  # shift up to this fraction of the side (edges repeat)
    cutout: float = 0.25  # a square of this fraction of the side set to mid-grey
    contrast: float = 0.3  # scale around the image mean by 1 ± this
    brightness: float = 0.2  # add ± this (in [-1, 1] units)
    probability: float = 1.0  # p when not adaptive
    adaptive: bool = False  # ADA: p follows the sign of D on reals toward `target`
    target: float = 0.6
    adjust_every: int = 4  # steps between p updates
    adjust_images: int = 20000  # images over which p can move from 0 to 1

    def __post_init__(self) -> None:
        for name in ("translation", "cutout", "contrast", "brightness"):
            if not 0.0 <= getattr(self, name) <= 0.5:
                raise ValueError(f"{name} must be in [0, 0.5], got {getattr(self, name)}")
        if not 0.0 <= self.probability <= 1.0 or not 0.0 < self.target < 1.0:
            raise ValueError(f"probability must be in [0, 1] and target in (0, 1), got {self.probability}, {self.target}")
        _positive("adjust_every", self.adjust_every)
        _positive("adjust_images", self.adjust_images)


@dataclass(frozen=True)
class GanConditioningConfig:
    """`transition_start`/`transition_end` (steps): transitional conditioning (Shahbazi et al. 2022,
    "Collapse by Conditioning"): G's label embedding and D's projection term are scaled by a strength
    that ramps from 0 to 1 between the two steps, so both first learn the variety of all images
    unconditionally (the paper: conditioned from the first step, each class of a small set can collapse
    to a few versions of itself; at PneumoniaMNIST 32² it changed nothing, docs/PERFORMANCE.md). The
    paper gives D's conditional score a loss of its own; here it is added to the unconditional score,
    so after the ramp the objective is exactly the conditional one. transition_end 0: conditioned from
    the first step."""

    use_findings: bool = True  # also condition on the multi-label finding vector when the set has one
    transition_start: int = 0
    transition_end: int = 0
    # Gaussian noise added to G's label embedding while training, its std relative to the embedding's RMS
    # (NoisyTwins' noise augmentation, 0.75 in the paper): each class is a region of style inputs, not one
    # point. Sampling uses the embedding itself. 0: none.
    embedding_noise: float = 0.0

    def __post_init__(self) -> None:
        if self.embedding_noise < 0:
            raise ValueError(f"embedding_noise must be >= 0, got {self.embedding_noise}")
        if self.transition_start < 0 or self.transition_end < 0 or (
                self.transition_end and self.transition_start >= self.transition_end):
            raise ValueError(f"transition_start and transition_end must be steps with 0 <= start < end (or end 0: no "
                             f"transition), got {self.transition_start} and {self.transition_end}")

    def strength(self, step: int) -> float:
        """How much of the labels G and D see at a training step: 0 before the ramp, 1 after it."""
        if not self.transition_end:
            return 1.0
        ramp = (step - self.transition_start) / (self.transition_end - self.transition_start)
        return min(max(ramp, 0.0), 1.0)


@dataclass(frozen=True)
class GanTrainingConfig:
    steps: int | None = 2000  # at most this many steps (None: until `minutes` is spent)
    minutes: float | None = None  # wall budget: train until it is spent, then the final checkpoint
    batch_size: int = 64
    lr: float = 0.0002  # generator (Adam on plainly initialised weights: StyleGAN's 0.002 assumes equalized lr)
    d_lr: float = 0.0004  # discriminator (two time-scale update rule, Heusel et al. 2017)
    # G's mapping MLP learns at lr times this (StyleGAN: 0.01, so the style space moves slowly under the
    # synthesis layers); the label embedding and the synthesis keep lr.
    mapping_lr_ratio: float = 1.0
    d_steps: int = 2  # discriminator updates per generator update (1: D stayed at chance, images collapsed)
    betas: tuple[float, ...] = (0.0, 0.99)
    ema_decay: float = 0.999  # EMA of G (ramped up like the diffusion EMA)
    # Post-hoc EMA, as for diffusion: one power-function EMA of G (EDM2) per relative std besides the
    # classic one; every profile's final weights join the candidates select.py scores (FD and copying).
    ema_profiles: tuple[float, ...] = ()
    checkpoint_every: int = 500
    # Keep the EMA of G every this many steps (a multiple of checkpoint_every) as a candidate for the final
    # weights: the one with the best `selection_metric` among those that copy no more than held-out real
    # images (synthgen/model/gan/select.py). None: the last EMA, as trained.
    snapshot_every: int | None = None
    selection_images: int = 2000  # samples per candidate scored for that choice
    selection_metric: SelectionMetric = SelectionMetric.FD
    log_every: int = 20
    grid_per_class: int = 8
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    split: str = "train"

    def __post_init__(self) -> None:
        for name in ("batch_size", "checkpoint_every", "log_every", "lr", "d_lr", "mapping_lr_ratio", "d_steps",
                     "selection_images"):
            _positive(name, getattr(self, name))
        if self.snapshot_every is not None and (self.snapshot_every <= 0 or self.snapshot_every % self.checkpoint_every):
            raise ValueError(f"snapshot_every must be a positive multiple of checkpoint_every ({self.checkpoint_every}), "
                             f"got {self.snapshot_every}")
        if self.steps is None and self.minutes is None:
            raise ValueError("give steps, minutes or both (steps: the most steps, minutes: the wall budget)")
        for name in ("steps", "minutes"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name))
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas must be two values in [0, 1), got {list(self.betas)}")
        if not 0.0 <= self.ema_decay < 1.0 or self.grid_per_class < 0:
            raise ValueError("ema_decay must be in [0, 1) and grid_per_class >= 0")
        check_profiles(self.ema_profiles)


@dataclass(frozen=True)
class GanSamplingConfig:
    """Defaults of `synthgen sample` for a GAN (--truncation and --batch-size override them)."""

    truncation: float = 1.0  # psi: latents scaled by psi (1 = no truncation; lower: typical, less varied)
    batch_size: int = 256

    def __post_init__(self) -> None:
        if not 0.0 < self.truncation <= 1.0:
            raise ValueError(f"truncation must be in (0, 1], got {self.truncation}")
        _positive("batch_size", self.batch_size)


@dataclass(frozen=True)
class GanTrainConfig:
    model: GanModelConfig = field(default_factory=GanModelConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    conditioning: GanConditioningConfig = field(default_factory=GanConditioningConfig)
    training: GanTrainingConfig = field(default_factory=GanTrainingConfig)
    augmentation: GanAugmentationConfig = field(default_factory=GanAugmentationConfig)
    sampling: GanSamplingConfig = field(default_factory=GanSamplingConfig)

    def __post_init__(self) -> None:
        if self.training.batch_size % self.discriminator.pack:
            raise ValueError(f"discriminator.pack ({self.discriminator.pack}) must divide training.batch_size "
                             f"({self.training.batch_size})")
        if self.loss.mode_seeking and self.training.batch_size < 2:
            raise ValueError(f"loss.mode_seeking compares pairs of generated images: training.batch_size must be "
                             f">= 2, got {self.training.batch_size}")
        if self.loss.noisy_twins:
            if not self.conditioning.embedding_noise:
                raise ValueError("loss.noisy_twins compares styles under two noisy label embeddings: set "
                                 "conditioning.embedding_noise > 0 (the paper: 0.75)")
            if self.loss.mode_seeking:
                raise ValueError("loss.noisy_twins and loss.mode_seeking pair the batch differently: use one of them")
            if self.training.batch_size < 4:
                raise ValueError(f"loss.noisy_twins correlates pairs of styles: training.batch_size must be >= 4, "
                                 f"got {self.training.batch_size}")
