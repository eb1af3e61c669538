"""The training configuration: one dataclass per YAML section, validated on construction.

A config file (configs/*.yaml) holds any of the sections below; missing keys keep these defaults,
unknown keys and wrong types are errors naming `section.key`. The resolved config is written into
the run folder, and `--resume` refuses a run whose config differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from synthgen.errors import SynthgenError


class ModelKind(str, Enum):
    """The generator family a training config (`model.kind`) and a saved model belong to.

    diffusion: the MONAI conditional diffusion UNet (this module's TrainConfig; the default).
    gan:       a class-conditional GAN (synthgen.model.gan.config.GanTrainConfig).
    """

    DIFFUSION = "diffusion"
    GAN = "gan"


class Parametrization(str, Enum):
    """How noise levels are parametrized and the network is preconditioned.

    edm: Karras et al. 2022: continuous noise level sigma, preconditioned denoiser, log-normal
         training sigmas, Heun sampler on the rho = 7 grid (the default).
    vp:  MONAI's discrete DDPM schedule with epsilon/v prediction (models trained before EDM).
    """

    EDM = "edm"
    VP = "vp"


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
    """The samplers, one line each (the registry): name, default steps, the loop that runs it for each
    parametrization ("module:class", built as class(diffusion_config, steps, churn)), a line of help.
    A new sampler is a module holding its loop plus one line here."""

    def __new__(cls, value: str, default_steps: int, loops: dict[str, str], summary: str) -> Sampler:
        member = str.__new__(cls, value)
        member._value_ = value
        member.default_steps = default_steps
        member.loops = loops
        member.summary = summary
        return member

    HEUN = ("heun", 12, {"edm": "synthgen.model.edm:HeunLoop"},
            "EDM's 2nd-order sampler, 2 network passes per step (edm models)")
    DDIM = ("ddim", 20, {"vp": "synthgen.model.samplers:DDIMLoop"}, "deterministic, good at 20-50 steps (vp models)")
    DPM_SOLVER = ("dpm++", 20, {"edm": "synthgen.model.samplers:EDMDPMSolverLoop",
                                "vp": "synthgen.model.samplers:DPMSolverLoop"},
                  "DPM-Solver++ 2M, one pass per step, good at 10-20 steps (edm and vp models)")
    DDPM = ("ddpm", 1000, {"vp": "synthgen.model.samplers:DDPMLoop"},
            "every training timestep, the slow reference (vp models)")


# Each parametrization's default sampler; the samplers it supports are those with a loop for it.
DEFAULT_SAMPLER = {Parametrization.EDM: Sampler.DPM_SOLVER, Parametrization.VP: Sampler.DDIM}
SAMPLERS_OF = {p: (DEFAULT_SAMPLER[p], *(s for s in Sampler if p.value in s.loops and s is not DEFAULT_SAMPLER[p]))
               for p in Parametrization}
DEFAULT_STEPS = {s: s.default_steps for s in Sampler}


def check_sampler(parametrization: Parametrization, sampler: Sampler, where: str = "sampling.sampler") -> None:
    """A one-line error naming the key and the valid values when `sampler` cannot sample such a model."""
    valid = SAMPLERS_OF[parametrization]
    if sampler not in valid:
        raise SynthgenError(
            f"{where} {sampler.value!r} cannot sample a model of parametrization {parametrization.value}; "
            f"valid: {', '.join(s.value for s in valid)}"
        )


class LrSchedule(str, Enum):
    """cosine: warm-up then cosine decay to 10 % over training.steps. constant and rsqrt (1/sqrt
    decay after warm-up, as EDM2) do not need to know the end, so they suit a training.minutes budget."""

    COSINE = "cosine"
    CONSTANT = "constant"
    RSQRT = "rsqrt"


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
    # Condition on the training augmentation too (augment.AUGMENT_LABELS; zero when sampling), so the
    # warp's blur is not learned as the look of the images: EDM's non-leaky augmentation.
    augment_conditioning: bool = False

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
    parametrization: Parametrization = Parametrization.EDM
    # edm: data std (None: measured on the training images and saved with the model), training
    # sigma ~ exp(N(p_mean, p_std²)), sampling grid from sigma_max to sigma_min with exponent rho.
    sigma_data: float | None = None
    p_mean: float = -1.2
    p_std: float = 1.2
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0
    # vp: MONAI DDPM schedule, prediction target and loss weighting
    timesteps: int = 1000
    schedule: NoiseSchedule = NoiseSchedule.COSINE
    prediction: Prediction = Prediction.V_PREDICTION
    loss_weighting: LossWeighting = LossWeighting.MIN_SNR
    min_snr_gamma: float = 5.0

    def __post_init__(self) -> None:
        if self.timesteps < 2:
            raise ValueError(f"timesteps must be >= 2, got {self.timesteps}")
        for name in ("min_snr_gamma", "p_std", "sigma_min", "rho"):
            _positive(name, getattr(self, name))
        if self.sigma_data is not None:
            _positive("sigma_data", self.sigma_data)
        if self.sigma_max <= self.sigma_min:
            raise ValueError(f"sigma_max must be > sigma_min, got {self.sigma_max} <= {self.sigma_min}")


@dataclass(frozen=True)
class ConditioningConfig:
    use_findings: bool = True  # also condition on the multi-label finding vector when the set has one
    label_dropout: float = 0.1  # classifier-free guidance: labels dropped with this probability

    def __post_init__(self) -> None:
        _fraction("label_dropout", self.label_dropout)


def check_profiles(sigma_rels: tuple[float, ...]) -> None:
    """ValueError unless every relative std is in (0, 0.3), the range where EDM2's profiles are defined."""
    bad = [s for s in sigma_rels if not 0 < s < 0.3]
    if bad:
        raise ValueError(f"ema_profiles are relative stds in (0, 0.3) (EDM2 uses 0.05-0.15), got {bad}")


@dataclass(frozen=True)
class TrainingConfig:
    steps: int | None = 2000  # at most this many steps (None: until `minutes` is spent)
    minutes: float | None = None  # wall budget: train until it is spent, then the normal final checkpoint
    batch_size: int = 64
    lr: float = 1e-3
    lr_schedule: LrSchedule = LrSchedule.COSINE
    lr_decay_after: int = 2000  # rsqrt: lr / sqrt(max(step / lr_decay_after, 1))
    weight_decay: float = 0.0
    warmup_steps: int = 100
    grad_clip: float = 1.0
    ema_decay: float = 0.999  # the single EMA used when ema_profiles is empty
    # Post-hoc EMA: one power-function EMA (EDM2, Karras et al. 2024) per relative std; at the end the
    # profile whose samples have the best FD against the validation split becomes the model.
    ema_profiles: tuple[float, ...] = ()
    ema_selection_images: int = 256  # samples per profile scored for that choice
    checkpoint_every: int = 500
    log_every: int = 20
    grid_per_class: int = 8  # images per class in the sample grid written at each checkpoint
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # bfloat16 autocast on GPU; ignored on CPU
    split: str = "train"  # the image set's split to train on

    def __post_init__(self) -> None:
        for name in ("batch_size", "checkpoint_every", "log_every", "ema_selection_images", "lr_decay_after"):
            _positive(name, getattr(self, name))
        _positive("lr", self.lr)
        _fraction("ema_decay", self.ema_decay)
        if self.steps is None and self.minutes is None:
            raise ValueError("give steps, minutes or both (steps: the most steps, minutes: the wall budget)")
        for name in ("steps", "minutes"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name))
        if self.steps is None and self.lr_schedule is LrSchedule.COSINE:
            raise ValueError("lr_schedule cosine needs steps (its end); with only minutes use rsqrt or constant")
        check_profiles(self.ema_profiles)
        if self.warmup_steps < 0 or self.grad_clip < 0 or self.weight_decay < 0 or self.grid_per_class < 0:
            raise ValueError("warmup_steps, grad_clip, weight_decay and grid_per_class must be >= 0")


@dataclass(frozen=True)
class AugmentationConfig:
    """Radiograph-safe augmentation; no horizontal flip by default because laterality matters."""

    shift: float = 0.03  # up to this fraction of the image side, in whole pixels
    scale: float = 0.05  # zoom in [1 - scale, 1 + scale]
    rotate: float = 3.0  # degrees
    contrast: float = 0.05
    brightness: float = 0.05
    hflip: bool = False
    warp_probability: float = 1.0  # share of images warped (shift, zoom, rotation); the rest keep their pixels

    def __post_init__(self) -> None:
        for name in ("shift", "scale", "contrast", "brightness"):
            _fraction(name, getattr(self, name), 0.5)
        if not 0.0 <= self.warp_probability <= 1.0:
            raise ValueError(f"warp_probability must be in [0, 1], got {self.warp_probability}")
        if not 0 <= self.rotate <= 45:
            raise ValueError(f"rotate must be in [0, 45] degrees, got {self.rotate}")


@dataclass(frozen=True)
class SamplingConfig:
    """Defaults of `synthgen sample` for this model (each can be overridden on the command line)."""

    sampler: Sampler | None = None  # None: the parametrization's default (dpm++ for edm, ddim for vp)
    steps: int | None = None  # None: the sampler's default (DEFAULT_STEPS)
    guidance: float = 1.0
    batch_size: int = 64
    churn: float = 0.0  # heun: EDM's S_churn (0 = deterministic); fresh noise added at each step

    def __post_init__(self) -> None:
        if self.steps is not None:
            _positive("steps", self.steps)
        _positive("batch_size", self.batch_size)
        if self.guidance < 0 or self.churn < 0:
            raise ValueError(f"guidance and churn must be >= 0, got {self.guidance} and {self.churn}")

    def resolved(self, parametrization: Parametrization) -> tuple[Sampler, int]:
        """The sampler and step count to use for a model of this parametrization."""
        sampler = self.sampler or SAMPLERS_OF[parametrization][0]
        check_sampler(parametrization, sampler)
        return sampler, self.steps or DEFAULT_STEPS[sampler]


@dataclass(frozen=True)
class TrainConfig:
    network: NetworkConfig = field(default_factory=NetworkConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def __post_init__(self) -> None:
        if self.sampling.sampler is not None:
            try:
                check_sampler(self.diffusion.parametrization, self.sampling.sampler)
            except SynthgenError as err:
                raise ValueError(str(err)) from None
