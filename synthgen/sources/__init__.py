"""Source adapters, one per kind of input, and the detection that picks one."""

from __future__ import annotations

from pathlib import Path

from synthgen.errors import SynthgenError
from synthgen.sources.base import SourceAdapter, SourceOptions, SourceRecord
from synthgen.sources.class_folders import ClassFolderSource
from synthgen.sources.csv_table import CsvTableSource
from synthgen.sources.dicom import DicomSource
from synthgen.sources.npz import NpzSource

# Detection order matters: a folder of DICOM files is checked before the generic image layouts.
ADAPTERS: dict[str, type[SourceAdapter]] = {
    adapter.format_name: adapter for adapter in (NpzSource, DicomSource, CsvTableSource, ClassFolderSource)
}
FORMATS = ("auto", *ADAPTERS)


def open_source(path: Path, options: SourceOptions, format: str = "auto") -> SourceAdapter:
    """The adapter for `path`: the one named by `format`, or the first whose `detect` accepts it."""
    path = Path(path)
    if not path.exists():
        raise SynthgenError(f"source {path} does not exist: check the path")
    if format not in FORMATS:
        raise SynthgenError(f"--format {format!r} is not one of {', '.join(FORMATS)}")
    if format != "auto":
        return ADAPTERS[format](path, options)
    if path.is_dir() and not any(p for p in path.iterdir() if not p.name.startswith(".")):
        raise SynthgenError(f"source folder {path} is empty: point at a folder of images, DICOM files or an .npz")
    for adapter in ADAPTERS.values():
        if adapter.detect(path, options):
            return adapter(path, options)
    raise SynthgenError(
        f"cannot tell what kind of source {path} is: pass --format ("
        + "; ".join(f"{name}: {a.description}" for name, a in ADAPTERS.items())
        + ")"
    )


__all__ = ["ADAPTERS", "FORMATS", "SourceAdapter", "SourceOptions", "SourceRecord", "open_source"]
