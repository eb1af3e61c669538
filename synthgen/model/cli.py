"""`synthgen train` and `synthgen sample`: thin click commands over model.train and model.sample."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen.errors import SynthgenError
from synthgen.model.config import Sampler


@click.command()
@click.option("--data", required=True, type=click.Path(path_type=Path), help="Image set to train on (its train split).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Run folder to create (or resume).")
@click.option("--config", type=click.Path(path_type=Path), help="Training YAML, e.g. configs/train/demo.yaml (defaults if omitted).")
@click.option("--resume", is_flag=True, help="Continue from the run's last checkpoint (same config and data).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it holds another run.")
@click.pass_context
def train(ctx: click.Context, data: Path, out: Path, config: Path | None, resume: bool, overwrite: bool) -> None:
    """Train the class-conditional diffusion model (or, with `model.kind: gan`, the GAN) on an image set.

    Writes the run folder: config.yaml, checkpoints/, model/ (weights + config.json + model card),
    log.csv, tensorboard/ and a sample grid per checkpoint. On several GPUs or CPU processes:
    torchrun --nproc_per_node K -m synthgen train ...

    \b
    Example:
      synthgen train --data runs/demo/data --out runs/demo/model --config configs/train/demo.yaml
    """
    from synthgen.model.train import train as train_model

    if resume and overwrite:
        raise SynthgenError("--resume and --overwrite contradict each other: pick one")
    result = train_model(data, out, config, resume=resume, overwrite=overwrite, progress=ctx.obj["progress"])
    if result.rank == 0:
        click.echo(f"{result.run}: {result.steps} steps, final loss {result.final_loss:.4f}, "
                   f"model sha256 {result.model_sha256[:16]}…")


def _per_class(value: str | None) -> dict[str, int] | None:
    if not value:
        return None
    counts = {}
    for part in value.split(","):
        name, sep, number = part.partition("=")
        if not sep or not number.strip().lstrip("-").isdigit():
            raise SynthgenError(f"--per-class {value!r}: write class=count pairs, e.g. normal=500,pneumonia=500")
        counts[name.strip()] = int(number)
    return counts


@click.command()
@click.option("--run", required=True, type=click.Path(path_type=Path), help="Run folder written by synthgen train.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Synthetic image set to create.")
@click.option("--n", "n", type=int, help="Images in all, split across classes like the training set.")
@click.option("--per-class", help="Images per class instead of --n, e.g. normal=500,pneumonia=500.")
@click.option("--sampler", type=click.Choice([s.value for s in Sampler]),
              help="heun (edm models); ddim, dpm++ (few steps) or ddpm (every timestep; slow reference) for vp "
                   "models. Default: the run's config, else the model's default (heun for edm, ddim for vp).")
@click.option("--steps", type=int, help="Sampler steps (heun: noise levels; default from the run's config).")
@click.option("--guidance", type=float, help="Classifier-free guidance scale (1 = conditional model, >1 stronger).")
@click.option("--churn", type=float, help="heun: EDM's stochastic churn S_churn (0 = deterministic ODE).")
@click.option("--truncation", type=float, help="GAN models: truncation psi in (0, 1] (latents scaled by psi; "
                                               "default: the run's config, 1 = none).")
@click.option("--seed", default=0, show_default=True, help="Seed: image i always gets the same noise.")
@click.option("--batch-size", type=int, help="Images per network batch (bounds memory).")
@click.option("--start", default=0, show_default=True, help="First image index of this shard.")
@click.option("--count", type=int, help="Images in this shard (default: to the end).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--name", help="Name of the image set (default: RUN-synthetic).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
def sample(ctx: click.Context, run: Path, out: Path, per_class: str | None, **options) -> None:
    """Sample a synthetic image set from a trained run (diffusion or GAN).

    Every image's seed derives from (--seed, index): shards (--start/--count) sampled on different
    machines hold exactly the images of one full run.

    \b
    Example:
      synthgen sample --run runs/demo/model --out runs/demo/synthetic --n 400 --steps 25
    """
    from synthgen.model.sample import sample as sample_set

    if options["n"] is None and not per_class:
        raise SynthgenError("say how many images: --n N or --per-class class=count,...")
    image_set = sample_set(run, out, per_class=_per_class(per_class), progress=ctx.obj["progress"], **options)
    click.echo(f"{image_set.root}: {len(image_set)} synthetic images")
