"""`ExportOptions`: every option of `export`, declared once (`synthgen export` derives from it; the run
config's `export:` section shares its defaults, checked by tests/synthgen/test_options.py)."""

from __future__ import annotations

from dataclasses import dataclass

import click

from synthgen.options import option


def export_formats() -> tuple[str, ...]:
    """The export formats (the registry is synthgen.export.api.ENCODERS)."""
    from synthgen.export.api import ENCODERS

    return tuple(ENCODERS)


def compressions() -> tuple[str, ...]:
    """The lossless DICOM compressions (the registry is synthgen.export.dicom_writer.COMPRESSIONS)."""
    from synthgen.export.dicom_writer import COMPRESSIONS

    return tuple(COMPRESSIONS)


@dataclass(frozen=True)
class ExportOptions:
    format: str = option("dicom", "What to write.", choices=export_formats)
    filtered_only: bool = option(
        False, "Refuse a set without a privacy audit (only sets written by `synthgen audit --filter`).")
    to: str | None = option(
        None, "Also send to a PACS: dicomweb+http://HOST:PORT/dicom-web or dimse://AET@HOST:PORT.", metavar="URL")
    compression: str = option("none", "Lossless DICOM pixel compression.", choices=compressions)
    retries: int = option(3, "PACS retries on transient failures (exponential backoff from 1 s).",
                          click_type=click.IntRange(0, 20))
    workers: int | None = option(None, "Image reading threads (default: up to 2).", click_type=click.IntRange(1, 64))
    backoff: float = 1.0  # seconds before the first PACS retry, doubling after each (Python API only)
