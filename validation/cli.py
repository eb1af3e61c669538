"""`synthgen validate`: a thin click command over validation.api.validate (heavy imports inside)."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen.errors import SynthgenError
from synthgen.options import click_options, option_values
from validation.options import ValidateOptions
from validation.verdict import VERDICTS

@click.command()
@click.option("--real-train", required=True, metavar="SET[:SPLIT]",
              help="Real image set the classifiers and the encoder learn from.")
@click.option("--real-test", required=True, metavar="SET[:SPLIT]", help="Real image set every score is measured on.")
@click.option("--synthetic", required=True, metavar="SET[:SPLIT]", help="The image set to validate (every row).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for report.html and metrics.json.")
@click.option("--external-test", "external_tests", multiple=True, metavar="[NAME=]SET[:SPLIT]",
              help="Repeatable: a real test set from another site or intake (prepared like the data); every "
                   "regime is also scored on it.")
@click.option("--audit", type=click.Path(path_type=Path), help="Output folder of `synthgen audit` (privacy verdict).")
@click.option("--encoder", type=click.Path(path_type=Path),
              help="TorchScript encoder file for the realism metrics (default: the real-trained classifier).")
@click_options(ValidateOptions)
@click.option("--threads", type=int, help="Torch CPU threads (default: torch's choice; 1 is faster on busy cores).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
def validate(ctx: click.Context, real_train: str, real_test: str, synthetic: str, out: Path,
             external_tests: tuple[str, ...], audit: Path | None, encoder: Path | None, threads: int | None,
             overwrite: bool, **values) -> None:
    """Judge a synthetic image set: realism, downstream utility, label fidelity, privacy.

    Trains the same MONAI classifier on real, synthetic, real + synthetic and 10 %/25 % of real
    (with and without synthetic) images, tests on real (and the real-trained model on synthetic),
    measures FD/KID/precision/recall/density/coverage against a real-vs-real reference, runs a
    classifier two-sample test (can a small CNN tell synthetic from real? real vs real beside it),
    compares high-frequency energy (Laplacian variance), and writes one self-contained report.html
    plus metrics.json. The headline is the TSTR/TRTR AUC ratio.

    \b
    How rows are chosen:
      SET:SPLIT              exactly that split (train, val or test), for any option
      same SET for both --real-train and --real-test:
                             its train split for real-train; its test split (val if it has
                             no test rows) for real-test
      different SETs         every row of each; --synthetic always uses every row
    --external-test sets use every row (or SPLIT); named NAME or after their folder.
    Refused: different class names or image sizes, a real or external test set sharing an image
    (sha256) or a patient (patient_id) with real train, synthetic images identical to test ones.

    \b
    Examples:
      synthgen validate --real-train runs/k64 --real-test runs/k64 \\
          --synthetic runs/k64-synthetic --audit runs/k64-audit --out runs/k64-validation
      synthgen validate --real-train data/pm32:train --real-test data/pm32:test \\
          --synthetic data/pm32:val --seeds 3 --out runs/pm32-sanity
      synthgen validate --real-train runs/k64 --real-test runs/k64 --synthetic runs/k64-synthetic \\
          --external-test site-b=data/site-b --external-test data/intake-2025:test --out runs/k64-val
    """
    import torch

    from validation.api import validate as run_validation

    if threads is not None:
        if threads < 1:
            raise SynthgenError(f"--threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)

    options = ValidateOptions(**option_values(ValidateOptions, values))
    result = run_validation(real_train, real_test, synthetic, out, audit=audit, encoder=encoder,
                            external_tests=external_tests, overwrite=overwrite,
                            progress=ctx.obj["progress"] if ctx.obj else True, **options.arguments())
    verdicts = result.metrics["verdicts"]
    for key, _ in VERDICTS:
        click.echo(f"{key.replace('_', ' '):>15}: {verdicts[key]['level'].upper():<13} {verdicts[key]['text']}")
    click.echo(f"report: {result.report}")


COMPARE_FORMATS = {".md": "markdown", ".json": "to_json"}  # --out suffix -> validation.compare writer


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--name", "names", multiple=True, help="Repeatable: a name per result, in order (default: folder names).")
@click.option("--out", type=click.Path(path_type=Path),
              help=f"Also write the table to this file ({', '.join(COMPARE_FORMATS)}).")
def compare(results: tuple[Path, ...], names: tuple[str, ...], out: Path | None) -> None:
    """Put several `synthgen validate` results side by side: which generator serves this data better.

    RESULTS are `synthgen validate` output folders or `synthgen run` folders, validated against the
    same real images (others are refused). A row per headline measure (FD, coverage, precision, the
    real-vs-synthetic CNN AUC, TSTR/TRTR, 10 % real + synthetic, high-frequency energy, diversity,
    audit), the best result in bold, real data's value beside them.

    \b
    Examples:
      synthgen compare runs/pm32 runs/gan-pm32
      synthgen compare runs/a/validation runs/b/validation --name diffusion --name gan --out compare.md
    """
    from rich.console import Console
    from rich.table import Table

    from synthgen.atomic import write_text_atomic
    from validation import compare as comparing

    if out is not None and out.suffix not in COMPARE_FORMATS:
        raise SynthgenError(f"--out {out}: write a {' or '.join(COMPARE_FORMATS)} file")
    comparison = comparing.compare(list(results), list(names) or None)
    table = Table(title="synthgen compare (* best)")
    for column in ("measure", "better", *comparison.names, "real data"):
        table.add_column(column, justify="left" if column in ("measure", "better") else "right")
    for row in comparison.rows:
        values = [f"[bold]{comparing.cell(v)}*" if i in row.best else comparing.cell(v) for i, v in enumerate(row.values)]
        table.add_row(row.measure.label, row.measure.better.value, *values, comparing.cell(row.real))
    Console().print(table)
    if out is not None:
        write_text_atomic(out, getattr(comparing, COMPARE_FORMATS[out.suffix])(comparison))
        click.echo(f"written: {out}")
