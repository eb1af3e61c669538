"""The `synthgen` command line: thin click commands over the Python API of the same names.

A SynthgenError becomes one line on stderr and exit code 2; nothing else is caught.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from synthgen import __version__
from synthgen.chest_phantom.render import BIT_DEPTHS
from synthgen.chest_phantom.write import DEFAULT_IMAGES
from synthgen.errors import SynthgenError
from synthgen.options import click_options, option_values
from synthgen.prepare_options import PrepareOptions
from synthgen.prepare_provenance import PrepareProvenance

EXIT_USER_ERROR = 2


def _load_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """--config FILE.yaml: its keys become the command's defaults; flags on the command line win."""
    if value is None:
        return
    from synthgen.config import load_options

    names = {p.name for p in ctx.command.params if p.name not in ("config", "help")}
    options = load_options(value, names)
    ctx.default_map = {**(ctx.default_map or {}), **options}


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="synthgen")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Synthetic, labelled, privacy-audited X-ray data sets.

    \b
    Example (built-in phantom, then a real source):
      synthgen phantom --out runs/demo/data --n 600 --size 64
      synthgen prepare ../shared/data/pneumoniamnist/pneumoniamnist.npz --out runs/pm32 --size 32
      synthgen info runs/pm32
    """
    level = logging.WARNING if quiet or not verbose else (logging.INFO if verbose == 1 else logging.DEBUG)
    logging.basicConfig(
        level=level, format="%(message)s", handlers=[RichHandler(console=Console(stderr=True), show_path=False)]
    )
    ctx.obj = {"progress": not quiet}


@cli.command()
@click.argument("source", type=click.Path(path_type=Path), required=False)
@click.option("--config", type=click.Path(path_type=Path), is_eager=True, expose_value=False,
              callback=_load_config, help="YAML file of these options (e.g. configs/prepare/nih64.yaml).")
@click.option("--out", type=click.Path(path_type=Path), help="Image-set folder to create.  [required]")
@click_options(PrepareOptions)
@click.option("--salt", envvar="SYNTHGEN_SALT", help="Secret for patient pseudonyms [env SYNTHGEN_SALT; random if unset].")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
def prepare(ctx: click.Context, source: Path | None, out: Path | None, salt: str | None, overwrite: bool,
            **values) -> None:
    """Ingest SOURCE (.npz, class folders, folder + CSV, or DICOM folder) as an image set.

    \b
    Examples:
      synthgen prepare ../shared/data/nih1000 --labels ../shared/data/nih1000/labels.csv \\
          --patient-column patient_id --findings-column finding_labels --size 64 --out runs/nih64
      synthgen prepare --config configs/prepare/kermany64.yaml --out runs/k64
      synthgen prepare covid/images --labels covid/metadata.csv --path-column imagename \\
          --label-column finding --patient-column patientid --drop missing-file,empty-label --out runs/covid
    """
    from synthgen.prepare import prepare as prepare_set

    if source is None or out is None:
        raise SynthgenError("prepare needs SOURCE and --out (on the command line or in --config)")
    options = PrepareOptions(**option_values(PrepareOptions, values))
    image_set = prepare_set(source, out, options, salt=salt, overwrite=overwrite, progress=ctx.obj["progress"])
    _print_summary(image_set)
    _print_preparation(PrepareProvenance.of(image_set))
    if not options.keep_source_names:
        from synthgen.sources.names import default_map_path

        Console().print(f"source names are salted hashes; their map, to keep private and never share: "
                        f"{options.source_map or default_map_path(out)}")


@cli.command()
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Image-set folder to create.")
@click.option("--n", "n", default=DEFAULT_IMAGES, show_default=True, help="Number of images.")
@click.option("--size", default=64, show_default=True, help="Side of the square images, in pixels.")
@click.option("--seed", default=0, show_default=True, help="Seed: the same seed gives byte-identical images.")
@click.option("--val-fraction", default=0.1, show_default=True, help="Share of patients for validation.")
@click.option("--test-fraction", default=0.1, show_default=True, help="Share of patients for test.")
@click.option("--bit-depth", default="8", show_default=True, type=click.Choice([str(b) for b in BIT_DEPTHS]),
              help="PNG bit depth.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
def phantom(ctx: click.Context, out: Path, n: int, bit_depth: str, **options) -> None:
    """Write a procedural chest-radiograph image set: the offline demo data.

    Patients with varied anatomy, 1-4 images each, and labelled findings (normal, consolidation,
    effusion, nodule, cardiomegaly) as a primary class plus multi-label finding columns.

    \b
    Example:
      synthgen phantom --out runs/demo/data --n 600 --size 64 --seed 0
    """
    from synthgen.chest_phantom import check_phantom_options, phantom as phantom_set
    from synthgen.progress import progress_bar

    check_phantom_options(n, options["size"], options["seed"], options["val_fraction"],
                          options["test_fraction"], (1, 4), int(bit_depth))
    with progress_bar(n, "phantom", unit="images", enabled=ctx.obj["progress"]) as advance:
        image_set = phantom_set(out, n=n, bit_depth=int(bit_depth), on_image=advance, **options)
    _print_summary(image_set)


@cli.command()
@click.argument("image_set", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print dataset.json instead of a table.")
def info(image_set: Path, as_json: bool) -> None:
    """Show what an image set holds: classes, splits, counts and provenance.

    \b
    Example:
      synthgen info runs/demo/data
    """
    from synthgen.imageset import ImageSet

    opened = ImageSet.open(image_set)
    if as_json:
        click.echo(json.dumps(opened.info, indent=2))
    else:
        _print_summary(opened)


@cli.command()
@click.argument("image_set", type=click.Path(path_type=Path))
def verify(image_set: Path) -> None:
    """Check every image of a set against its manifest (files, sha256, labels, splits).

    \b
    Example:
      synthgen verify runs/demo/data
    """
    from synthgen.imageset import ImageSet

    problems = ImageSet.open(image_set).verify()
    for problem in problems[:20]:
        click.echo(problem, err=True)
    if problems:
        raise SynthgenError(f"{image_set}: {len(problems)} problem(s) found; re-create the image set")
    click.echo(f"{image_set}: all images match the manifest")


# Commands that live beside their stage's package (one line each, in data-flow order).
def _register_stage_commands() -> None:
    from privacy.cli import audit
    from synthgen.export.cli import export
    from synthgen.model.cli import sample, train
    from synthgen.workflow.cli import run
    from validation.cli import compare, validate

    for command in (train, sample, audit, validate, compare, export, run):
        cli.add_command(command)


def _print_summary(image_set) -> None:
    counts = image_set.info["counts"]
    table = Table(title=f"{image_set.name} ({image_set.kind}, {image_set.image_size}², "
                        f"{image_set.info['bit_depth']}-bit) — {image_set.root}")
    table.add_column("class")
    splits = list(counts["by_split_class"])
    for split in splits:
        table.add_column(split, justify="right")
    table.add_column("all", justify="right")
    for name in image_set.classes:
        table.add_row(name, *[str(counts["by_split_class"][s][name]) for s in splits], str(counts["by_class"][name]))
    table.add_row("[bold]images", *[str(counts["by_split"][s]) for s in splits], str(counts["images"]))
    table.add_row("[bold]patients", *[str(counts["patients_by_split"][s]) for s in splits], str(counts["patients"]))
    Console().print(table)
    if counts.get("by_finding"):
        Console().print("findings: " + ", ".join(f"{k} {v}" for k, v in counts["by_finding"].items()))


def _print_preparation(provenance: PrepareProvenance) -> None:
    """What prepare dropped and how it matched labels: the user chose both, so show them."""
    console = Console()
    if provenance.dropped:
        console.print("dropped rows: " + ", ".join(f"{n} {kind}" for kind, n in provenance.dropped.items()))
    if provenance.label_mapping:
        matched = provenance.label_mapping.items()
        console.print("labels matched: " + ", ".join(f"{raw!r} -> {name}" for raw, name in matched))


_register_stage_commands()


def main() -> None:
    """Entry point: run the CLI, turning SynthgenError into a one-line message and exit code 2."""
    # Idle OpenMP threads sleep instead of spinning (read once, when torch loads its OpenMP runtime,
    # which no command has imported yet): on a busy machine spinning threads took a training step
    # from 40 to 3.5 images/s; passive ones degrade with the load (bench/train_under_load.py). A wait
    # setting of the user's own (OMP_WAIT_POLICY, or a spin count for a dedicated machine) is kept.
    if "GOMP_SPINCOUNT" not in os.environ:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        code = cli.main(standalone_mode=False)
    except SynthgenError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
