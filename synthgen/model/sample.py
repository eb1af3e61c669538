"""`sample()`: draw a synthetic image set from a trained run.

The plan (which label vector and which seed each image index gets) is a pure function of the label
prior saved with the model, the requested counts and the seed. A shard (`start`, `count`) samples a
slice of that plan, so shards sampled anywhere hold exactly the images of one big run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from synthgen.errors import SynthgenError
from synthgen.hashing import file_sha256
from synthgen.imageset import ImageSet, ImageSetWriter
from synthgen.model.config import Parametrization, Sampler, SamplingConfig
from synthgen.model.config_files import load_run_config
from synthgen.model.labels import LabelSpace
from synthgen.model.pipeline import DiffusionPipeline, to_pixels
from synthgen.model.model_card import ModelCard
from synthgen.model.run_folder import RunFolder
from synthgen.model.sample_options import SampleOptions
from synthgen.model.sample_provenance import GENERATOR, SampleProvenance, SamplingRecord
from synthgen.progress import progress_bar

SAMPLE_COLUMNS = ("sample_index", "seed", "sampler", "steps", "guidance", "churn", "model_sha256")


@dataclass(frozen=True)
class SamplePlan:
    class_indices: np.ndarray  # (N,)
    findings: np.ndarray  # (N, F) 0/1
    seeds: np.ndarray  # (N,) uint64 -> torch.Generator seeds

    def __len__(self) -> int:
        return len(self.class_indices)


def image_seed(seed: int, index: int) -> int:
    """The seed of image `index` in a run sampled with `seed` (63 bits, so it fits any int64 column)."""
    high, low = np.random.SeedSequence([int(seed), int(index)]).generate_state(2, dtype=np.uint32)
    return (int(high) << 32 | int(low)) & ((1 << 63) - 1)


def plan_samples(prior: dict, labels: LabelSpace, n: int | None, per_class: dict[str, int] | None,
                 seed: int) -> SamplePlan:
    """Counts per class (explicit, or `n` split like the training set), findings drawn per image
    from the training set's finding combinations of its class (see labels.label_prior)."""
    classes = list(labels.classes)
    if per_class:
        unknown = [name for name in per_class if name not in classes]
        if unknown:
            raise SynthgenError(f"class(es) {', '.join(unknown)} not known to the model (trained on: {', '.join(classes)})")
        bad = [f"{k}={v}" for k, v in per_class.items() if v < 0]
        if bad or sum(per_class.values()) <= 0:
            raise SynthgenError(f"--per-class counts must be >= 0 with a positive total, got {', '.join(bad) or 'all zero'}")
        counts = [int(per_class.get(name, 0)) for name in classes]
    else:
        if n is None or n <= 0:
            raise SynthgenError(f"--n must be a positive number of images, got {n}")
        counts = _split_like(n, np.asarray(prior["class_counts"], dtype=np.float64))
    class_indices = np.repeat(np.arange(len(classes)), counts)
    findings = np.zeros((len(class_indices), len(labels.findings)), dtype=np.uint8)
    for i, c in enumerate(class_indices):
        options = prior["findings_by_class"][c] if labels.findings else []
        if options:
            weights = np.array([count for _, count in options], dtype=np.float64)
            pick = np.random.default_rng([seed, 0xF1D, i]).choice(len(options), p=weights / weights.sum())
            findings[i] = options[pick][0]
    seeds = np.array([image_seed(seed, i) for i in range(len(class_indices))], dtype=np.uint64)
    return SamplePlan(class_indices, findings, seeds)


def _split_like(n: int, class_counts: np.ndarray) -> list[int]:
    """n split in proportion to class_counts by largest remainder."""
    exact = n * class_counts / class_counts.sum()
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def sample(run: Path, out: Path, options: SampleOptions | None = None, *, start: int = 0, count: int | None = None,
           name: str | None = None, overwrite: bool = False, progress: bool = True, **changes) -> ImageSet:
    """Write a synthetic image set of images [start, start + count) of the plan to `out`.

    `options` (a SampleOptions; keyword arguments change single fields, e.g. `n=100`) say how many and
    how; settings left None take the run's `sampling:` config, then the model's defaults. The run may
    hold either model kind (diffusion: sampler, steps, guidance, churn; gan: truncation)."""
    o = replace(options or SampleOptions(), **changes)
    n, per_class, seed, device = o.n, o.per_class, o.seed, o.device
    folder = RunFolder(Path(run))
    model = load_trained_model(folder, o.sampler, o.steps, o.guidance, o.churn, o.batch_size, o.truncation)
    if start < 0 or (count is not None and count <= 0):
        raise SynthgenError(f"--start must be >= 0 and --count > 0, got {start} and {count}")
    plan = plan_samples(model.label_prior, model.labels, n, per_class, seed)
    stop = len(plan) if count is None else start + count
    if stop > len(plan):
        raise SynthgenError(f"--start {start} --count {count} goes past the {len(plan)} planned images")
    torch_device = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                                ("cpu" if device == "auto" else device))
    settings = {**model.columns, "model_sha256": file_sha256(folder.weights)}
    classes, findings = list(model.labels.classes), list(model.labels.findings)
    with ImageSetWriter(out, name=name or f"{Path(run).name}-synthetic", kind="synthetic", classes=classes,
                        image_size=model.image_size, findings=findings,
                        extra_columns=SAMPLE_COLUMNS + tuple(c for c in model.columns if c not in SAMPLE_COLUMNS),
                        overwrite=overwrite, allow_empty_classes=True) as writer, \
            progress_bar(stop - start, "sample", unit="img", enabled=progress) as advance:
        for first in range(start, stop, model.batch_size):
            rows = np.arange(first, min(first + model.batch_size, stop))
            conditions = model.labels.encode(plan.class_indices[rows], plan.findings[rows] if findings else None)
            images = model.generate(conditions, [int(s) for s in plan.seeds[rows]], torch_device)
            for i, pixels in zip(rows, to_pixels(images, model.bit_depth)):
                writer.add(pixels, label=classes[plan.class_indices[i]], patient_id=f"SYN-{i:06d}", split="train",
                           source=f"model/weights.pt#{i}",
                           findings=[f for f, on in zip(findings, plan.findings[i]) if on],
                           extra={"sample_index": int(i), "seed": int(plan.seeds[i]), **settings})
            advance(len(rows))
        writer.finish(_provenance(folder, model.description, n, per_class, seed, start, stop, settings))
    return ImageSet.open(out)


@dataclass(frozen=True)
class TrainedModel:
    """What sampling needs of a trained model of either kind: its labels and prior, image size and
    depth, the settings recorded per image (manifest columns), and `generate(conditions, seeds,
    device)` -> images (N, 1, H, W) in [-1, 1], image i a pure function of seeds[i]."""

    kind: str  # diffusion | gan
    description: str  # provenance `generator`
    labels: LabelSpace
    label_prior: dict
    image_size: int
    bit_depth: int
    batch_size: int
    columns: dict
    generate: Callable[[torch.Tensor, list[int], torch.device], torch.Tensor]


def load_trained_model(folder: RunFolder, sampler: str | None = None, steps: int | None = None,
                       guidance: float | None = None, churn: float | None = None, batch_size: int | None = None,
                       truncation: float | None = None) -> TrainedModel:
    """The run's model (dispatching on its saved config.json) with its sampling options resolved:
    the options given, else the run's `sampling:` config, else the model's defaults."""
    from synthgen.model.gan.pipeline import is_gan_model

    if is_gan_model(folder.model_dir):
        from synthgen.model.gan.sample import load_gan_model

        return load_gan_model(folder, sampler, steps, guidance, churn, batch_size, truncation)
    if truncation is not None:
        raise SynthgenError(f"--truncation applies to GAN models; {folder.root} holds a diffusion model "
                            "(options: --sampler, --steps, --guidance, --churn)")
    pipeline = DiffusionPipeline.load(folder.model_dir)
    chosen = sampling_settings(folder, pipeline, sampler, steps, guidance, churn, batch_size)

    def generate(conditions: torch.Tensor, seeds: list[int], device: torch.device) -> torch.Tensor:
        return pipeline(conditions, seeds, chosen.sampler, chosen.steps, chosen.guidance, device, chosen.churn)

    return TrainedModel("diffusion", GENERATOR, pipeline.labels,
                        pipeline.label_prior, pipeline.image_size, pipeline.bit_depth, chosen.batch_size,
                        {"sampler": chosen.sampler.value, "steps": chosen.steps, "guidance": chosen.guidance,
                         "churn": chosen.churn}, generate)


@dataclass(frozen=True)
class SamplingSettings:
    sampler: Sampler
    steps: int
    guidance: float
    churn: float
    batch_size: int


def sampling_settings(folder: RunFolder, pipeline: DiffusionPipeline, sampler: str | None = None,
                      steps: int | None = None, guidance: float | None = None, churn: float | None = None,
                      batch_size: int | None = None) -> SamplingSettings:
    """The options given, else the run's `sampling:` config, else the parametrization's defaults;
    a one-line error for a value out of range or a sampler the model cannot use."""
    if guidance is not None and guidance < 0:
        raise SynthgenError(f"--guidance must be >= 0 (1 = plain conditional), got {guidance}")
    if churn is not None and churn < 0:
        raise SynthgenError(f"--churn must be >= 0 (0 = deterministic), got {churn}")
    vp = pipeline.diffusion.parametrization is Parametrization.VP
    if steps is not None and (steps < 1 or (vp and steps > pipeline.diffusion.timesteps)):
        top = pipeline.diffusion.timesteps if vp else "any"
        raise SynthgenError(f"--steps must be in 1..{top}, got {steps}")
    if batch_size is not None and batch_size <= 0:
        raise SynthgenError(f"--batch-size must be positive, got {batch_size}")
    if sampler is not None and sampler not in {s.value for s in Sampler}:
        raise SynthgenError(f"sampler {sampler!r} is not one of {', '.join(s.value for s in Sampler)}")
    defaults = load_run_config(folder.config).sampling if folder.config.is_file() else SamplingConfig()
    chosen, chosen_steps = SamplingConfig(sampler=Sampler(sampler) if sampler else defaults.sampler,
                                          steps=steps or defaults.steps).resolved(pipeline.diffusion.parametrization)
    return SamplingSettings(chosen, chosen_steps, guidance if guidance is not None else defaults.guidance,
                            churn if churn is not None else defaults.churn, batch_size or defaults.batch_size)


def _provenance(folder: RunFolder, generator: str, n: int | None, per_class: dict | None, seed: int, start: int,
                stop: int, settings: dict) -> dict:
    card = ModelCard.read(folder.model_card) if folder.model_card.is_file() else None
    return SampleProvenance(
        generator=generator,
        run=str(folder.root.resolve()),
        model_sha256=settings["model_sha256"],
        training_set=card.training_set if card is not None else None,
        model_card=card,
        sampling=SamplingRecord(**settings, seed=seed, n=n, per_class=per_class, start=start, stop=stop),
    ).to_dict()
