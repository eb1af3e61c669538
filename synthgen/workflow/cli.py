"""`synthgen run`: a thin click command over synthgen.workflow.run (heavy imports inside)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("run")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Run folder: created, or continued (only stages whose config or inputs changed run again).")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Change one config key (YAML value), e.g. --set prepare.source=dicoms/ --set sample.n=200.")
@click.option("--dry-run", is_flag=True, help="Print the plan (what will run, what is up to date, why) and stop.")
@click.pass_context
def run(ctx: click.Context, config: Path, out: Path, overrides: tuple[str, ...], dry_run: bool) -> None:
    """Run the whole pipeline of CONFIG: prepare, train, sample, audit (and filter), validate, export.

    OUT ends up with data/, model/, synthetic/, audit/, synthetic-filtered/, validation/report.html,
    export/dicom/ and run.json (every stage's input and output hashes, versions, wall time, status).
    Re-running skips what is up to date; a run stopped at any point (even kill -9) continues where
    it stopped, training from its last checkpoint.

    \b
    Examples:
      synthgen run configs/run/demo.yaml --out runs/demo
      synthgen run configs/run/kermany64.yaml --out runs/k64 --dry-run
      synthgen run configs/run/own-dicom64.yaml --set prepare.source=dicoms/ --out runs/mine
    """
    from synthgen.workflow.live import LiveView
    from synthgen.workflow.runner import run as run_pipeline

    progress = ctx.obj["progress"] if ctx.obj else True
    run_pipeline(config, out, dry_run=dry_run, overrides=overrides, progress=progress,
                 view=LiveView(show_stages=progress))
