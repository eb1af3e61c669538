"""`synthgen export`: a thin click command over `synthgen.export.export`."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen.export.options import ExportOptions
from synthgen.options import click_options, option_values


@click.command()
@click.argument("image_set", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Export folder to create.")
@click_options(ExportOptions)
@click.option("--code", "codes", multiple=True, metavar="LABEL=SCHEME:VALUE:MEANING",
              help="DICOM code for a label the built-in table lacks, e.g. 'hernia=SCT:84089009:Hiatal hernia'.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
def export(ctx: click.Context, image_set: Path, out: Path, codes: tuple[str, ...], overwrite: bool, **values) -> None:
    """Export IMAGE_SET as DICOM (marked synthetic, labelled, with provenance), NIfTI, PNG or a
    MONAI datalist, with manifest.csv and ro-crate-metadata.json; optionally send it to a PACS.

    \b
    Examples:
      synthgen export runs/demo/synthetic --format dicom --out runs/demo/dicom
      synthgen export runs/demo/filtered --filtered-only --out runs/demo/dicom \\
          --to dicomweb+http://localhost:8042/dicom-web
      synthgen prepare runs/demo/dicom --format dicom --labels runs/demo/dicom/manifest.csv \\
          --findings-column findings --patient-column patient_id --split-column split --out runs/back
    """
    from synthgen.export import export as export_set
    from synthgen.export.codes import parse_code

    table = dict(parse_code(option) for option in codes)
    options = ExportOptions(**option_values(ExportOptions, values))
    result = export_set(image_set, out, options, codes=table, overwrite=overwrite, progress=ctx.obj["progress"])
    click.echo(f"{result.out}: {len(result.manifest)} images as {result.format} ({result.files} files)")
    if result.push is not None:
        click.echo(f"sent {len(result.push.sent)} instance(s) to {result.push.destination}")
