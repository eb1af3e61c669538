"""`synthgen export`: a thin click command over `synthgen.export.export`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("image_set", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Export folder to create.")
@click.option("--format", "format_", default="dicom", show_default=True,
              type=click.Choice(["dicom", "nifti", "png", "datalist"]), help="What to write.")
@click.option("--filtered-only", is_flag=True,
              help="Refuse a set without a privacy audit (only sets written by `synthgen audit --filter`).")
@click.option("--to", "to", metavar="URL",
              help="Also send to a PACS: dicomweb+http://HOST:PORT/dicom-web or dimse://AET@HOST:PORT.")
@click.option("--compression", default="none", show_default=True, type=click.Choice(["none", "rle", "jpeg2000"]),
              help="Lossless DICOM pixel compression.")
@click.option("--code", "codes", multiple=True, metavar="LABEL=SCHEME:VALUE:MEANING",
              help="DICOM code for a label the built-in table lacks, e.g. 'hernia=SCT:84089009:Hiatal hernia'.")
@click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 20),
              help="PACS retries on transient failures (exponential backoff from 1 s).")
@click.option("--workers", type=click.IntRange(1, 64), help="Image reading threads (default: up to 2).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
def export(ctx: click.Context, image_set: Path, out: Path, format_: str, codes: tuple[str, ...], **options) -> None:
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
    result = export_set(image_set, out, format=format_, codes=table, progress=ctx.obj["progress"], **options)
    click.echo(f"{result.out}: {len(result.manifest)} images as {result.format} ({result.files} files)")
    if result.push is not None:
        click.echo(f"sent {len(result.push.sent)} instance(s) to {result.push.destination}")
