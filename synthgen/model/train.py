"""`train()`: fit the conditional diffusion UNet on an image set and write a run folder.

One process, or several under torchrun (DistributedDataParallel: gloo on CPU, nccl on GPU); rank 0
alone writes files. Every random draw of step k comes from generators seeded by (seed, k, rank) and
the data order from (seed, epoch), so the checkpoint only holds tensors and a resumed CPU run ends
bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.optim.swa_utils import AveragedModel

from synthgen.atomic import check_output_folder
from synthgen.errors import SynthgenError
from synthgen.hashing import file_sha256
from synthgen.imageset import ImageSet
from synthgen.model.augment import augment
from synthgen.model.checkpoint import load_checkpoint, save_checkpoint
from synthgen.model.config import Parametrization, TrainConfig
from synthgen.model.config_files import config_to_dict, load_train_config
from synthgen.model.data import TrainingData, batch_indices, load_training_data, seeded_generator
from synthgen.model.devices import budget_limits, should_stop, start_distributed, training_device
from synthgen.model.diffusion import training_loss
from synthgen.model.edm import measure_sigma_data
from synthgen.model.ema import PowerEMAProfiles, ema_with_warmup
from synthgen.model.ema_select import choose_profile
from synthgen.model.grid import class_grid, typical_conditions, write_grid
from synthgen.model.labels import label_prior
from synthgen.model.lr_schedule import lr_factor
from synthgen.model.network import build_unet, count_parameters, network_conditions
from synthgen.model.pipeline import DiffusionPipeline
from synthgen.model.model_card import ModelCard, training_data_fields
from synthgen.model.run_folder import RunFolder, check_resumable, write_run_header
from synthgen.model.train_log import TrainingLog, budget_text, training_progress
from synthgen.versions import library_versions

if TYPE_CHECKING:
    from synthgen.model.gan.config import GanTrainConfig

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    run: Path
    steps: int
    final_loss: float
    wall_time_s: float
    model_sha256: str  # "" on ranks other than 0, which write nothing
    rank: int = 0


def train(data: Path, out: Path, config: "TrainConfig | GanTrainConfig | Path | None" = None, *, resume: bool = False,
          overwrite: bool = False, progress: bool = True) -> TrainResult:
    """Train on the `config.training.split` images of image set `data`; write the run folder `out`.
    A `model.kind: gan` config trains the GAN (synthgen.model.gan) into the same run folder layout."""
    from synthgen.model.gan.config import GanTrainConfig

    config = config if isinstance(config, (TrainConfig, GanTrainConfig)) else load_train_config(config)
    image_set = ImageSet.open(data)
    dataset = load_training_data(image_set, config.training.split, config.conditioning.use_findings)
    if isinstance(config, TrainConfig):
        config = with_measured_sigma_data(config, dataset)
    if isinstance(config, GanTrainConfig) and (config.training.snapshot_every or config.training.ema_profiles):
        from synthgen.model.gan.select import selection_audit_groups

        selection_audit_groups(image_set)  # before anything is written: copying must be checkable at the end
    run = RunFolder(Path(out))
    rank, world_size = start_distributed(config.training.device)
    device = training_device(config.training.device, rank)
    if resume:
        check_resumable(run, config, image_set)
    elif rank == 0:
        check_output_folder(run.root, overwrite)
        write_run_header(run, config, image_set)
    if isinstance(config, GanTrainConfig):  # model.kind: gan
        from synthgen.model.gan.train import train_gan

        return train_gan(config, dataset, image_set, run, device, rank, world_size, progress, resume)
    return _Trainer(config, dataset, image_set, run, device, rank, world_size, progress).fit(resume)


def with_measured_sigma_data(config: TrainConfig, dataset: TrainingData) -> TrainConfig:
    """edm without a configured sigma_data: the training pixels' std, resolved before anything is
    written so the run's config.yaml and the model's config.json record the value used."""
    diffusion = config.diffusion
    if diffusion.parametrization is not Parametrization.EDM or diffusion.sigma_data is not None:
        return config
    measured = dataclasses.replace(diffusion, sigma_data=measure_sigma_data(dataset.images))
    return dataclasses.replace(config, diffusion=measured)


class _Trainer:
    def __init__(self, config: TrainConfig, dataset: TrainingData, image_set: ImageSet, run: RunFolder,
                 device: torch.device, rank: int, world_size: int, progress: bool) -> None:
        self.config, self.dataset, self.image_set, self.run = config, dataset, image_set, run
        self.device, self.rank, self.world_size, self.progress = device, rank, world_size, progress
        t = config.training
        with torch.random.fork_rng(devices=[]):  # seeded weight init without touching global RNG state
            torch.manual_seed(t.seed)
            self.unet = build_unet(config.network, dataset.label_space.dim).to(device)
        self.ema = AveragedModel(self.unet, multi_avg_fn=ema_with_warmup(t.ema_decay), use_buffers=True)
        self.profiles = PowerEMAProfiles(self.unet, t.ema_profiles) if t.ema_profiles else None
        self.model = self.unet
        if world_size > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(
                self.unet, device_ids=[device.index] if device.type == "cuda" else None
            )
        # fused: one kernel for all parameters (the default on CPU is a Python loop per tensor).
        self.optimizer = torch.optim.AdamW(self.unet.parameters(), lr=t.lr, weight_decay=t.weight_decay, fused=True)
        self.lr_schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_factor(t))
        self.loss = training_loss(self.model, config.diffusion)
        self.grid_conditions = typical_conditions(dataset.conditions, len(dataset.label_space.classes))
        self.config_sha256 = config_sha256(config)

    def fit(self, resume: bool) -> TrainResult:
        t = self.config.training
        start, trained_s = self._restore() if resume else (0, 0.0)
        max_steps, budget_s = budget_limits(t.steps, t.minutes)
        if (start >= max_steps or trained_s >= budget_s) and self.run.weights.is_file():
            log.info("%s already trained (%d steps, %.0f s): nothing to do", self.run.root, start, trained_s)
            return self._result(start, float("nan"), 0.0)
        writer = TrainingLog(self.run.log, self.run.tensorboard, start) if self.rank == 0 else None
        log.info("training %s parameters on %d images (%d² px), %s", f"{count_parameters(self.unet):,}",
                 len(self.dataset), self.dataset.image_size, budget_text(t.steps, t.minutes))
        # Elapsed and wall times count the training time of earlier runs up to their last checkpoint too.
        began, window_start, window_loss, window_steps = time.perf_counter() - trained_s, time.perf_counter(), 0.0, 0
        losses: list[float] = []
        step = checkpointed = start
        with training_progress(t.steps, t.minutes, t.batch_size, enabled=self.progress and self.rank == 0) as bar:
            bar(step, trained_s)
            while not should_stop(step, max_steps, time.perf_counter() - began >= budget_s, self.world_size,
                                   self.config.training.minutes is not None, self.device):
                window_loss += self._step(step)
                window_steps += 1
                step += 1
                if step % t.log_every == 0:
                    losses.append(self._log(writer, step, window_loss / window_steps, window_steps, window_start, began))
                    bar(step, time.perf_counter() - began, f"loss {losses[-1]:.4f}")
                    window_start, window_loss, window_steps = time.perf_counter(), 0.0, 0
                if step % t.checkpoint_every == 0:
                    self._checkpoint(step, writer, time.perf_counter() - began)
                    checkpointed = step
        if window_steps:
            losses.append(self._log(writer, step, window_loss / window_steps, window_steps, window_start, began))
        if checkpointed != step:
            self._checkpoint(step, writer, time.perf_counter() - began)
        wall = time.perf_counter() - began
        logged = writer.rows if writer else []
        final = losses[-1] if losses else (float(logged[-1]["loss"]) if logged else float("nan"))
        if writer:
            writer.close()
        sha = self._finish(step, final, wall) if self.rank == 0 else ""
        return TrainResult(self.run.root, step, final, wall, sha, self.rank)

    def _log(self, writer: TrainingLog | None, step: int, loss: float, steps: int, window_start: float,
             began: float) -> float:
        rate = steps * self.config.training.batch_size / max(time.perf_counter() - window_start, 1e-9)
        if writer:
            writer.add(step, loss, self.lr_schedule.get_last_lr()[0], rate, time.perf_counter() - began)
        return loss

    def _step(self, step: int) -> float:
        t, data = self.config.training, self.dataset
        rows = batch_indices(len(data), t.batch_size, t.seed, step, self.rank, self.world_size)
        generator = seeded_generator(t.seed, step, self.rank)
        augmented = augment(data.images[rows], self.config.augmentation, generator)
        images = augmented.images.to(self.device)
        conditions = data.conditions[rows]
        dropped = torch.rand(len(rows), generator=generator) < self.config.conditioning.label_dropout
        conditions = torch.where(dropped[:, None], torch.zeros_like(conditions), conditions)
        conditions = network_conditions(conditions, self.config.network, augmented.labels).to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=t.amp and self.device.type == "cuda"):
            loss = self.loss(images, conditions, generator)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if t.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.unet.parameters(), t.grad_clip)
        self.optimizer.step()
        self.lr_schedule.step()
        self.ema.update_parameters(self.unet)
        if self.profiles:
            self.profiles.update(self.unet, step + 1)
        return float(loss.detach())

    def _checkpoint(self, step: int, writer: TrainingLog | None, trained_s: float) -> None:
        if self.rank != 0:
            return
        save_checkpoint(self.run.checkpoint, {
            "step": step, "model": self.unet.state_dict(), "ema": self.ema.state_dict(),
            "ema_profiles": self.profiles.state_dict() if self.profiles else [],
            "optimizer": self.optimizer.state_dict(), "lr_schedule": self.lr_schedule.state_dict(),
            "config_sha256": self.config_sha256, "trained_s": trained_s,
        })
        per_class = self.config.training.grid_per_class
        if per_class:
            grid = class_grid(self._pipeline(self._grid_weights()), self.grid_conditions, per_class, self.config.sampling,
                              self.config.training.seed, self.device)
            write_grid(self.run.sample_grid(step), grid)
            if writer:
                writer.add_image("samples", grid, step)

    def _restore(self) -> tuple[int, float]:
        """The last checkpoint's step and training seconds, its state loaded into this trainer."""
        state = load_checkpoint(self.run.checkpoint)
        if state["config_sha256"] != self.config_sha256:
            raise SynthgenError(f"{self.run.checkpoint} was written with another config: start a new run")
        try:
            self.unet.load_state_dict(state["model"])
            self.ema.load_state_dict(state["ema"])
            if self.profiles:
                self.profiles.load_state_dict(state.get("ema_profiles", []))
            self.optimizer.load_state_dict(state["optimizer"])
            self.lr_schedule.load_state_dict(state["lr_schedule"])
        except (RuntimeError, KeyError, ValueError) as err:
            raise SynthgenError(f"{self.run.checkpoint} does not fit this model: {str(err).splitlines()[0]}") from None
        log.info("resuming %s from step %d", self.run.root, state["step"])
        return int(state["step"]), float(state.get("trained_s", 0.0))

    def _grid_weights(self) -> torch.nn.Module:
        return self.profiles.models[0] if self.profiles else self.ema.module

    def _pipeline(self, module: torch.nn.Module) -> DiffusionPipeline:
        return DiffusionPipeline(module, self.config.network, self.config.diffusion,
                                 self.dataset.label_space, self.dataset.image_size, self.dataset.bit_depth,
                                 label_prior(self.dataset.conditions, self.dataset.label_space))

    def _choose_weights(self) -> tuple[torch.nn.Module, dict]:
        """The classic EMA, or the post-hoc EMA profile whose samples score best (model card: `ema`)."""
        t = self.config.training
        if not self.profiles:
            return self.ema.module, {"kind": "classic", "decay": t.ema_decay}
        sampling = self.config.sampling

        def sample(module, conditions, seeds):
            return self._pipeline(module)(conditions, seeds, sampling.sampler, sampling.steps, sampling.guidance,
                                          self.device, sampling.churn)

        choice = choose_profile(self.profiles.named(), self.dataset, self.image_set, self.config.conditioning.use_findings,
                                t.ema_selection_images, t.seed, sample)
        return self.profiles.named()[choice.chosen], {"kind": "power", "profiles": list(t.ema_profiles),
                                                      **choice.to_dict()}

    def _finish(self, steps: int, final_loss: float, wall_time_s: float) -> str:
        weights, ema = self._choose_weights()
        sha = self._pipeline(weights).save(self.run.model_dir, weights.state_dict())
        card = ModelCard(
            model_sha256=sha,
            **training_data_fields(self.dataset, self.run.training_set),
            parameters=count_parameters(self.unet),
            steps=steps,
            budget={"steps": self.config.training.steps, "minutes": self.config.training.minutes},
            ema=ema,
            batch_size=self.config.training.batch_size,
            seed=self.config.training.seed,
            processes=self.world_size,
            device=str(self.device),
            final_loss=final_loss,
            wall_time_s=round(wall_time_s, 1),
            versions=library_versions(),
        )
        card.write(self.run.model_card)
        return sha

    def _result(self, steps: int, loss: float, wall: float) -> TrainResult:
        return TrainResult(self.run.root, steps, loss, wall, file_sha256(self.run.weights))


def config_sha256(config: TrainConfig) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(config_to_dict(config), sort_keys=True).encode()).hexdigest()


