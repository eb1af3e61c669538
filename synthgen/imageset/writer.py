"""ImageSetWriter: the only code that creates image sets (real or synthetic).

Images go into a staging folder beside the output; `manifest.csv` and `dataset.json` are written
last and the folder is renamed into place, so a failure at any point leaves no partial set.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from synthgen.atomic import staged_folder
from synthgen.errors import SynthgenError
from synthgen.imageset.format import (
    DATASET_FILE,
    IMAGES_DIR,
    KINDS,
    MANIFEST_COLUMNS,
    MANIFEST_FILE,
    SPLITS,
    finding_column,
    image_filename,
)
from synthgen.imageset.pngio import encode_png
from synthgen.imageset.summary import count_rows, dataset_document


class ImageSetWriter:
    """Collects images and their labels, then commits them as one image set.

    Use as a context manager: call `add` per image and `finish` once with the provenance block.

        with ImageSetWriter(out, name="demo", kind="real", classes=["a", "b"], image_size=64) as w:
            w.add(pixels, label="a", patient_id="P1", split="train", source="a.png")
            w.finish({"source": "..."})
    """

    def __init__(
        self,
        out: Path,
        *,
        name: str,
        kind: str,
        classes: Sequence[str],
        image_size: int,
        findings: Sequence[str] = (),
        extra_columns: Sequence[str] = (),
        overwrite: bool = False,
        allow_empty_classes: bool = False,
    ) -> None:
        if kind not in KINDS:
            raise SynthgenError(f"image set kind {kind!r} is not one of {', '.join(KINDS)}")
        if not classes:
            raise SynthgenError("an image set needs at least one class")
        if len(set(classes)) != len(classes):
            raise SynthgenError(f"class names must be distinct, got {list(classes)}")
        if image_size <= 0:
            raise SynthgenError(f"image size must be a positive number of pixels, got {image_size}")
        self.out = Path(out)
        self.name, self.kind = name, kind
        self.classes, self.findings = list(classes), list(findings)
        self.image_size = image_size
        self.columns = (
            list(MANIFEST_COLUMNS)
            + [finding_column(f) for f in self.findings]
            + [c for c in extra_columns if c not in MANIFEST_COLUMNS]
        )
        self.overwrite = overwrite
        # A synthetic set (or a shard of one) may hold only some of its model's classes.
        self.allow_empty_classes = allow_empty_classes
        self.rows: list[dict[str, str]] = []
        self._stage_cm = None
        self._stage: Path | None = None
        self._finished = False

    def __enter__(self) -> "ImageSetWriter":
        self._stage_cm = staged_folder(self.out, self.overwrite)
        self._stage = self._stage_cm.__enter__()
        (self._stage / IMAGES_DIR).mkdir()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self._stage_cm is not None
        if exc_type is None and not self._finished:
            exc = RuntimeError("ImageSetWriter closed without finish(): nothing was written")
            self._stage_cm.__exit__(RuntimeError, exc, None)
            raise exc
        return bool(self._stage_cm.__exit__(exc_type, exc, tb))

    def add(
        self,
        pixels: np.ndarray,
        *,
        label: str,
        patient_id: str,
        split: str,
        source: str,
        findings: Iterable[str] = (),
        extra: Mapping[str, object] | None = None,
        png: bytes | None = None,
    ) -> str:
        """Store one image (uint8 or uint16, image_size²) and return its image_id.

        `png` is `encode_png(pixels)` when the caller already encoded it (e.g. in worker threads).
        """
        if self._stage is None:
            raise RuntimeError("use ImageSetWriter as a context manager")
        if label not in self.classes:
            raise SynthgenError(f"label {label!r} of {source} is not one of the classes {self.classes}")
        if split not in SPLITS:
            raise SynthgenError(f"split {split!r} of {source} is not one of {', '.join(SPLITS)}")
        if pixels.shape != (self.image_size, self.image_size):
            raise ValueError(f"{source}: expected {self.image_size}² pixels, got {pixels.shape}")
        positive = set(findings)
        unknown = positive - set(self.findings)
        if unknown:
            raise SynthgenError(f"findings {sorted(unknown)} of {source} are not in {self.findings}")
        image_id = f"{len(self.rows):06d}"
        data = encode_png(pixels) if png is None else png
        relpath = image_filename(image_id)
        (self._stage / relpath).write_bytes(data)
        row = {
            "image_id": image_id,
            "path": relpath,
            "label": label,
            "patient_id": patient_id,
            "split": split,
            "source": source,
            "sha256": hashlib.sha256(data).hexdigest(),
            "width": str(pixels.shape[1]),
            "height": str(pixels.shape[0]),
            "bit_depth": "8" if pixels.dtype == np.uint8 else "16",
        }
        for name in self.findings:
            row[finding_column(name)] = "1" if name in positive else "0"
        for key, value in (extra or {}).items():
            if key not in self.columns:
                raise ValueError(f"column {key!r} was not declared in extra_columns")
            row[key] = "" if value is None else str(value)
        self.rows.append(row)
        return image_id

    def finish(self, provenance: Mapping[str, object], version: str | None = None) -> dict:
        """Write manifest.csv and dataset.json; the folder is moved into place on context exit."""
        from synthgen import __version__

        if self._stage is None:
            raise RuntimeError("use ImageSetWriter as a context manager")
        if not self.rows:
            raise SynthgenError(f"no images to write to {self.out}: the input selected nothing")
        counts = count_rows(self.rows, self.classes, self.findings)
        empty = [name for name, n in counts["by_class"].items() if n == 0]
        if empty and not self.allow_empty_classes:
            raise SynthgenError(
                f"class(es) {', '.join(empty)} have zero images: remove them from --classes "
                "or add images for them"
            )
        manifest = manifest_bytes(self.rows, self.columns)
        (self._stage / MANIFEST_FILE).write_bytes(manifest)
        document = dataset_document(
            name=self.name,
            kind=self.kind,
            classes=self.classes,
            findings=self.findings,
            image_size=self.image_size,
            bit_depths=sorted({int(row["bit_depth"]) for row in self.rows}),
            counts=counts,
            manifest_sha256=hashlib.sha256(manifest).hexdigest(),
            provenance=dict(provenance),
            version=version or __version__,
        )
        document.write(self._stage / DATASET_FILE)
        self._finished = True
        return document.to_dict()


def manifest_bytes(rows: Sequence[Mapping[str, str]], columns: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
