"""The run folder: one definition of where `synthgen train` puts everything, how a run is started
(its header: config and training set) and when it may be resumed.

    RUN/config.yaml             the resolved training config (what --resume compares against)
    RUN/training_set.json       name, path and manifest sha256 of the image set trained on (model_card.py)
    RUN/checkpoints/last.pt     full training state (model, EMA, optimizer, step), atomic
    RUN/model/config.json       what is needed to rebuild the network and sampler (diffusers style;
                                a GAN's: synthgen/model/gan/pipeline.py GanModelConfigFile)
    RUN/model/weights.pt        EMA weights (state dict; torch.load(weights_only=True))
    RUN/model/model_card.json   training set, classes, size, steps, seed, versions, losses, wall time (model_card.py)
    RUN/log.csv                 step, loss, learning rate, images/s, elapsed seconds
    RUN/tensorboard/            TensorBoard events
    RUN/samples/step-NNNNNNN.png  a grid per class (rows) at each checkpoint
    RUN/snapshots/step-NNNNNNN.pt  a GAN's EMA generator every training.snapshot_every steps (candidates
                                for the final weights; model_card.json's `selection` says which won)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
import yaml

from synthgen.atomic import write_bytes_atomic, write_text_atomic
from synthgen.document import Document
from synthgen.errors import SynthgenError
from synthgen.hashing import file_sha256
from synthgen.imageset import ImageSet
from synthgen.model.config import TrainConfig
from synthgen.model.config_files import config_difference, config_to_dict, load_run_config
from synthgen.model.model_card import TrainingSetRecord

MODEL_FORMAT = "synthgen-diffusion-model"
MODEL_FORMAT_VERSION = 2  # 2: diffusion.parametrization (edm | vp) and edm's sigma_data


@dataclass(frozen=True)
class ModelConfigFile(Document):
    """RUN/model/config.json (written and read by synthgen/model/pipeline.py). `network` and `diffusion`
    are the training config's sections, checked key by key when the pipeline builds them."""

    WHAT: ClassVar[str] = "synthgen model config"
    REMEDY: ClassVar[str] = "not a synthgen model folder; train one with synthgen train"
    FORMAT: ClassVar[str] = MODEL_FORMAT
    VERSION_KEY: ClassVar[str] = "format_version"  # the key model folders have carried since their first version
    SCHEMA_VERSION: ClassVar[int] = MODEL_FORMAT_VERSION

    network: dict
    diffusion: dict  # format 1 (before EDM) lacks `parametrization`: those models are all vp
    labels: dict  # LabelSpace.to_dict()
    image_size: int
    bit_depth: int = 8
    label_prior: dict | None = None  # labels.label_prior of the training set


@dataclass(frozen=True)
class RunFolder:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def training_set(self) -> Path:
        return self.root / "training_set.json"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoints" / "last.pt"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def model_config(self) -> Path:
        return self.model_dir / "config.json"

    @property
    def weights(self) -> Path:
        return self.model_dir / "weights.pt"

    @property
    def model_card(self) -> Path:
        return self.model_dir / "model_card.json"

    @property
    def log(self) -> Path:
        return self.root / "log.csv"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    def sample_grid(self, step: int) -> Path:
        return self.root / "samples" / f"step-{step:07d}.png"

    def snapshot(self, step: int) -> Path:
        return self.root / "snapshots" / f"step-{step:07d}.pt"

    def snapshot_steps(self) -> list[int]:
        """Steps of the snapshots written so far, in order."""
        return sorted(int(path.stem.removeprefix("step-")) for path in (self.root / "snapshots").glob("step-*.pt"))


def save_model(model_dir: Path, state_dict: dict, config: Document) -> str:
    """Write weights.pt and config.json (atomically) into `model_dir`; returns the weights' sha256."""
    model_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    write_bytes_atomic(model_dir / "weights.pt", buffer.getvalue())
    config.write(model_dir / "config.json")
    return file_sha256(model_dir / "weights.pt")


def load_state_dict(path: Path) -> dict:
    """torch.load(weights_only=True) with a clear error for a missing, truncated or foreign file."""
    if not path.is_file():
        raise SynthgenError(f"{path} is missing: train the model first (synthgen train) or check --run")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # zip, pickle and EOF errors all mean "not a readable checkpoint"
        raise SynthgenError(
            f"{path} is corrupted or not a synthgen checkpoint ({type(err).__name__}); "
            "delete it and resume from an earlier copy, or retrain"
        ) from None


def write_run_header(run: RunFolder, config: TrainConfig, image_set: ImageSet) -> None:
    run.root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run.config, yaml.safe_dump(config_to_dict(config), sort_keys=False))
    training_set_record(image_set).write(run.training_set)


def training_set_record(image_set: ImageSet) -> TrainingSetRecord:
    return TrainingSetRecord(name=image_set.name, path=str(image_set.root.resolve()),
                             manifest_sha256=image_set.manifest_sha256, kind=image_set.kind)


def check_resumable(run: RunFolder, config: TrainConfig, image_set: ImageSet) -> None:
    """--resume: the run must exist and have been started with this config and this data."""
    if not run.config.is_file():
        raise SynthgenError(f"cannot resume {run.root}: no run there (missing {run.config.name}); drop --resume")
    trained_on = TrainingSetRecord.read(run.training_set)
    if trained_on.manifest_sha256 != image_set.manifest_sha256:
        raise SynthgenError(
            f"cannot resume {run.root}: it was trained on {trained_on.name!r} (manifest sha256 "
            f"{trained_on.manifest_sha256[:12]}…), not on {image_set.root} ({image_set.manifest_sha256[:12]}…)"
        )
    # The data first: another data set also measures another sigma_data, a config difference.
    previous = config_to_dict(load_run_config(run.config))
    differs = config_difference(previous, config_to_dict(config))
    if differs:
        raise SynthgenError(f"cannot resume {run.root}: config differs at {differs}; use the run's config.yaml")
    if not run.checkpoint.is_file():
        raise SynthgenError(f"cannot resume {run.root}: no checkpoint yet ({run.checkpoint}); start it again without --resume")
