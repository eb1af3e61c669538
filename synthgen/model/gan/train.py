"""`train_gan()`: fit the class-conditional GAN on an image set and write the same run folder as
the diffusion trainer (model.run_folder): config.yaml, training_set.json, checkpoints/last.pt,
model/ (EMA generator weights, config.json, model_card.json), log.csv, tensorboard/, samples/.

Batches come from (seed, step), every other random draw of step k from a generator seeded by
(seed, k, rank); the checkpoint holds G, D, the EMA of G (and its power-function profiles), both
optimizers and the augmentation probability, so a resumed CPU run ends bit-identical to an
uninterrupted one. log.csv's `loss` is D's hinge loss; TensorBoard also gets G's loss, R1 and the
augmentation probability.
"""

from __future__ import annotations

import copy
import logging
import math
import time

import torch
from torch.optim.swa_utils import AveragedModel

from synthgen.errors import SynthgenError
from synthgen.hashing import file_sha256
from synthgen.imageset import ImageSet
from synthgen.model.checkpoint import load_checkpoint, save_checkpoint
from synthgen.model.data import TrainingData, batch_indices, seeded_generator
from synthgen.model.devices import budget_limits, should_stop
from synthgen.model.ema import PowerEMAProfiles, ema_with_warmup
from synthgen.model.gan.augment import adjusted_probability
from synthgen.model.gan.config import GanTrainConfig
from synthgen.model.gan.grid import gan_class_grid
from synthgen.model.gan.networks import Generator, ProjectionDiscriminator
from synthgen.model.gan.pipeline import GanPipeline
from synthgen.model.gan.select import choose_snapshot
from synthgen.model.gan.step import GanModels, StepLosses, adversarial_step, build_optimizers
from synthgen.model.grid import typical_conditions, write_grid
from synthgen.model.labels import label_prior
from synthgen.model.model_card import ModelCard, training_data_fields
from synthgen.model.network import count_parameters
from synthgen.model.run_folder import RunFolder, load_state_dict
from synthgen.model.train import TrainResult, config_sha256
from synthgen.model.train_log import TrainingLog, budget_text, training_progress
from synthgen.versions import library_versions

log = logging.getLogger(__name__)

GAN_CHECKPOINT_KEYS = ("step", "generator", "discriminator", "ema", "g_optimizer", "d_optimizer", "augment_p",
                       "ada_window", "config_sha256", "trained_s")


def build_models(config: GanTrainConfig, dataset: TrainingData) -> tuple[Generator, ProjectionDiscriminator]:
    """G and D initialised from training.seed without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.training.seed)
        generator = Generator(config.generator, dataset.label_space.dim, dataset.image_size)
        discriminator = ProjectionDiscriminator(config.discriminator, dataset.label_space.dim, dataset.image_size)
    return generator, discriminator


class GanTrainer:
    def __init__(self, config: GanTrainConfig, dataset: TrainingData, image_set: ImageSet, run: RunFolder,
                 device: torch.device, rank: int, world_size: int, progress: bool) -> None:
        self.config, self.dataset, self.image_set, self.run = config, dataset, image_set, run
        self.device, self.rank, self.world_size, self.progress = device, rank, world_size, progress
        generator, discriminator = build_models(config, dataset)
        generator.to(device)
        discriminator.to(device)
        self.models = GanModels(generator, discriminator, *build_optimizers(generator, discriminator, config))
        self.ema = AveragedModel(generator, multi_avg_fn=ema_with_warmup(config.training.ema_decay), use_buffers=True)
        profiles = config.training.ema_profiles
        self.profiles = PowerEMAProfiles(generator, profiles) if profiles else None
        aug = config.augmentation
        self.augment_p = 0.0 if aug.adaptive else aug.probability
        self.sign_sum, self.sign_steps = 0.0, 0
        self.grid_conditions = typical_conditions(dataset.conditions, len(dataset.label_space.classes))
        self.config_sha256 = config_sha256(config)

    def fit(self, resume: bool) -> TrainResult:
        t = self.config.training
        start, trained_s = self._restore() if resume else (0, 0.0)
        max_steps, budget_s = budget_limits(t.steps, t.minutes)
        if (start >= max_steps or trained_s >= budget_s) and self.run.weights.is_file():
            log.info("%s already trained (%d steps, %.0f s): nothing to do", self.run.root, start, trained_s)
            return TrainResult(self.run.root, start, float("nan"), 0.0, self._weights_sha(), self.rank)
        writer = TrainingLog(self.run.log, self.run.tensorboard, start) if self.rank == 0 else None
        log.info("training a GAN (G %s, D %s parameters) on %d images (%d² px), %s",
                 f"{count_parameters(self.models.generator):,}", f"{count_parameters(self.models.discriminator):,}",
                 len(self.dataset), self.dataset.image_size, budget_text(t.steps, t.minutes))
        began, window_start = time.perf_counter() - trained_s, time.perf_counter()
        window: list[StepLosses] = []
        last: StepLosses | None = None
        step = checkpointed = start
        with training_progress(t.steps, t.minutes, t.batch_size, enabled=self.progress and self.rank == 0) as bar:
            bar(step, trained_s)
            while not should_stop(step, max_steps, time.perf_counter() - began >= budget_s, self.world_size,
                                   self.config.training.minutes is not None, self.device):
                last = self._step(step, checkpointed)
                window.append(last)
                step += 1
                if step % t.log_every == 0:
                    self._log(writer, step, window, window_start, began)
                    bar(step, time.perf_counter() - began,
                        f"D {last.discriminator:.3f} G {last.generator:.3f} p {self.augment_p:.2f}")
                    window_start, window = time.perf_counter(), []
                if step % t.checkpoint_every == 0:
                    self._checkpoint(step, writer, time.perf_counter() - began)
                    checkpointed = step
        if window:
            self._log(writer, step, window, window_start, began)
        if checkpointed != step:
            self._checkpoint(step, writer, time.perf_counter() - began)
        wall = time.perf_counter() - began
        final = last.discriminator if last else float("nan")
        if writer:
            writer.close()
        sha = self._finish(step, last, wall) if self.rank == 0 else ""
        return TrainResult(self.run.root, step, final, wall, sha, self.rank)

    def _step(self, step: int, checkpointed: int) -> StepLosses:
        t, data = self.config.training, self.dataset
        rows = batch_indices(len(data), t.batch_size, t.seed, step, self.rank, self.world_size)
        generator = seeded_generator(t.seed, step, self.rank)
        reals, conditions = data.images[rows].to(self.device), data.conditions[rows].to(self.device)
        losses = adversarial_step(self.models, self.config, reals, conditions, step, self.augment_p, generator,
                                  self.world_size)
        if not all(math.isfinite(v) for v in (losses.discriminator, losses.generator, losses.r1 or 0.0)):
            kept = f"{self.run.checkpoint} (step {checkpointed})" if checkpointed else "no checkpoint yet"
            raise SynthgenError(
                f"GAN training diverged at step {step + 1}: D loss {losses.discriminator}, G loss {losses.generator}; "
                f"kept the last good checkpoint: {kept}; lower training.lr or raise loss.r1_gamma and start again"
            )
        self.ema.update_parameters(self.models.generator)
        if self.profiles:
            self.profiles.update(self.models.generator, step + 1)
        self._adapt_augmentation(step, losses.real_sign)
        return losses

    def _adapt_augmentation(self, step: int, real_sign: float) -> None:
        aug = self.config.augmentation
        if not aug.adaptive:
            return
        self.sign_sum, self.sign_steps = self.sign_sum + real_sign, self.sign_steps + 1
        if (step + 1) % aug.adjust_every:
            return
        mean = self.sign_sum / self.sign_steps
        if self.world_size > 1:
            import torch.distributed as dist

            value = torch.tensor([mean], dtype=torch.float64, device=self.device)
            dist.all_reduce(value)
            mean = float(value) / self.world_size
        self.augment_p = adjusted_probability(self.augment_p, mean, self.config.training.batch_size, aug)
        self.sign_sum, self.sign_steps = 0.0, 0

    def _log(self, writer: TrainingLog | None, step: int, window: list[StepLosses], window_start: float,
             began: float) -> None:
        if not writer:
            return
        rate = len(window) * self.config.training.batch_size / max(time.perf_counter() - window_start, 1e-9)
        d_loss = sum(w.discriminator for w in window) / len(window)
        writer.add(step, d_loss, self.config.training.lr, rate, time.perf_counter() - began)
        board = writer.tensorboard
        board.add_scalar("gan/d_loss", d_loss, step)
        board.add_scalar("gan/g_loss", sum(w.generator for w in window) / len(window), step)
        board.add_scalar("gan/real_sign", sum(w.real_sign for w in window) / len(window), step)
        board.add_scalar("gan/augment_p", self.augment_p, step)
        r1 = [w.r1 for w in window if w.r1 is not None]
        if r1:
            board.add_scalar("gan/r1", sum(r1) / len(r1), step)

    def _checkpoint(self, step: int, writer: TrainingLog | None, trained_s: float) -> None:
        if self.rank != 0:
            return
        m = self.models
        every = self.config.training.snapshot_every
        # before the checkpoint: a resume from it never misses this snapshot; none before G is fully conditioned
        if every and step % every == 0 and step >= self.config.conditioning.transition_end:
            save_checkpoint(self.run.snapshot(step), self.ema.module.state_dict())
        save_checkpoint(self.run.checkpoint, {
            "step": step, "generator": m.generator.state_dict(), "discriminator": m.discriminator.state_dict(),
            "ema": self.ema.state_dict(), "ema_profiles": self.profiles.state_dict() if self.profiles else [],
            "g_optimizer": m.g_optimizer.state_dict(),
            "d_optimizer": m.d_optimizer.state_dict(), "augment_p": self.augment_p,
            "ada_window": [self.sign_sum, self.sign_steps], "config_sha256": self.config_sha256,
            "trained_s": trained_s,
        })
        if self.config.training.grid_per_class:
            grid = gan_class_grid(self._pipeline(), self.grid_conditions, self.config.training.grid_per_class,
                                  self.config.sampling.truncation, self.config.training.seed, self.device)
            write_grid(self.run.sample_grid(step), grid)
            if writer:
                writer.add_image("samples", grid, step)

    def _restore(self) -> tuple[int, float]:
        state = load_checkpoint(self.run.checkpoint, GAN_CHECKPOINT_KEYS)
        if state["config_sha256"] != self.config_sha256:
            raise SynthgenError(f"{self.run.checkpoint} was written with another config: start a new run")
        m = self.models
        try:
            m.generator.load_state_dict(state["generator"])
            m.discriminator.load_state_dict(state["discriminator"])
            self.ema.load_state_dict(state["ema"])
            if self.profiles:
                self.profiles.load_state_dict(state.get("ema_profiles", []))
            m.g_optimizer.load_state_dict(state["g_optimizer"])
            m.d_optimizer.load_state_dict(state["d_optimizer"])
        except (RuntimeError, KeyError, ValueError) as err:
            raise SynthgenError(f"{self.run.checkpoint} does not fit this model: {str(err).splitlines()[0]}") from None
        self.augment_p = float(state["augment_p"])
        self.sign_sum, self.sign_steps = float(state["ada_window"][0]), int(state["ada_window"][1])
        log.info("resuming %s from step %d", self.run.root, state["step"])
        return int(state["step"]), float(state["trained_s"])

    def _pipeline(self, generator: torch.nn.Module | None = None) -> GanPipeline:
        return GanPipeline(self.ema.module if generator is None else generator, self.dataset.label_space,
                           self.dataset.image_size, self.dataset.bit_depth,
                           label_prior(self.dataset.conditions, self.dataset.label_space))

    def _choose_weights(self, steps: int) -> tuple[torch.nn.Module, dict | None]:
        """The final EMA of G, or the candidate select.py picks among the snapshots (training.snapshot_every),
        the final EMA and the final power-function profiles (training.ema_profiles)."""
        t = self.config.training
        candidates: dict[str, torch.nn.Module] = {}
        for step in self.run.snapshot_steps() if t.snapshot_every else ():
            if step < steps:  # a snapshot at the last step is the final EMA itself
                path = self.run.snapshot(step)
                candidates[path.stem] = snapshot = copy.deepcopy(self.ema.module)
                snapshot.load_state_dict(load_state_dict(path))
        candidates["final"] = self.ema.module
        for name, module in self.profiles.named().items() if self.profiles else ():
            candidates[f"final-{name}"] = module
        if len(candidates) == 1:
            return self.ema.module, None

        def sample(module, conditions, seeds):
            return self._pipeline(module)(conditions, seeds, self.config.sampling.truncation, self.device)

        choice = choose_snapshot(candidates, self.dataset, self.image_set, self.config.conditioning.use_findings,
                                 t.selection_images, t.seed, sample, t.selection_metric)
        log.info("GAN weights: %s of %s", choice.chosen, ", ".join(candidates))
        return candidates[choice.chosen], choice.to_dict()

    def _finish(self, steps: int, last: StepLosses | None, wall_time_s: float) -> str:
        generator, selection = self._choose_weights(steps)
        pipeline = self._pipeline(generator)
        sha = pipeline.save(self.run.model_dir, generator.state_dict())
        t = self.config.training
        card = ModelCard(
            model_sha256=sha,
            kind="gan",
            **training_data_fields(self.dataset, self.run.training_set),
            parameters=count_parameters(self.models.generator),
            discriminator_parameters=count_parameters(self.models.discriminator),
            steps=steps,
            budget={"steps": t.steps, "minutes": t.minutes},
            ema={"kind": "classic", "decay": t.ema_decay,
                 **({"power_profiles": list(t.ema_profiles)} if t.ema_profiles else {})},
            augment_probability=self.augment_p,
            batch_size=t.batch_size,
            seed=t.seed,
            processes=self.world_size,
            device=str(self.device),
            final_loss=last.discriminator if last else float("nan"),
            final_generator_loss=last.generator if last else float("nan"),
            selection=selection,
            wall_time_s=round(wall_time_s, 1),
            versions=library_versions(),
        )
        card.write(self.run.model_card)
        return sha

    def _weights_sha(self) -> str:
        return file_sha256(self.run.weights)


def train_gan(config: GanTrainConfig, dataset: TrainingData, image_set: ImageSet, run: RunFolder, device: torch.device,
              rank: int, world_size: int, progress: bool, resume: bool) -> TrainResult:
    """Called by model.train.train once the run folder's header is written or checked (as for diffusion)."""
    result = GanTrainer(config, dataset, image_set, run, device, rank, world_size, progress).fit(resume)
    if world_size > 1:
        # Leave together: a process that exits while another still drains its last all-reduce made gloo
        # abort that one (SIGABRT) now and then under load.
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return result
