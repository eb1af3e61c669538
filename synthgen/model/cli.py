"""`synthgen train` and `synthgen sample`: thin click commands over model.train and model.sample."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen.errors import SynthgenError
from synthgen.model.sample_options import SampleOptions
from synthgen.options import click_options, option_values


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


@click.command()
@click.option("--run", required=True, type=click.Path(path_type=Path), help="Run folder written by synthgen train.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Synthetic image set to create.")
@click_options(SampleOptions)
@click.option("--start", default=0, show_default=True, help="First image index of this shard.")
@click.option("--count", type=int, help="Images in this shard (default: to the end).")
@click.option("--name", help="Name of the image set (default: RUN-synthetic).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
def sample(ctx: click.Context, run: Path, out: Path, start: int, count: int | None, name: str | None,
           overwrite: bool, **values) -> None:
    """Sample a synthetic image set from a trained run (diffusion or GAN).

    Every image's seed derives from (--seed, index): shards (--start/--count) sampled on different
    machines hold exactly the images of one full run.

    \b
    Example:
      synthgen sample --run runs/demo/model --out runs/demo/synthetic --n 400 --steps 25
    """
    from synthgen.model.sample import sample as sample_set

    options = SampleOptions(**option_values(SampleOptions, values))
    if options.n is None and not options.per_class:
        raise SynthgenError("say how many images: --n N or --per-class class=count,...")
    image_set = sample_set(run, out, options, start=start, count=count, name=name, overwrite=overwrite,
                           progress=ctx.obj["progress"])
    click.echo(f"{image_set.root}: {len(image_set)} synthetic images")
