"""`ImageSetDataset`: any image set (real or synthetic) as a map-style torch Dataset."""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet, finding_column
from synthgen.imageset.pngio import decode_png
from synthgen.torch_data.items import Transform, apply, make_item


class ImageSetDataset(Dataset):
    """Items of an image set (one split, or all rows), read from its PNGs on demand.

    Reading per item keeps memory flat for large sets and needs nothing shared between DataLoader
    workers; the set is never written to (no pixel cache is built).
    """

    def __init__(self, image_set: ImageSet | Path | str, split: str | None = None,
                 transform: Transform | None = None) -> None:
        self.image_set = image_set if isinstance(image_set, ImageSet) else ImageSet.open(image_set)
        self.rows = [self.image_set.rows[i] for i in self.image_set.indices(split)]
        if not self.rows:
            raise SynthgenError(f"image set {self.image_set.root} has no images in split {split!r}")
        self.classes, self.findings = self.image_set.classes, self.image_set.findings
        self.transform = transform
        self._class_index = {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        row = self.rows[index]
        path = self.image_set.root / row["path"]
        pixels = decode_png(path)
        size = self.image_set.image_size
        if pixels.shape != (size, size):
            raise SynthgenError(f"{path} is {pixels.shape[1]}x{pixels.shape[0]}, the set says {size}x{size}; "
                                "re-create the image set")
        seed = row.get("seed")
        findings = [int(row[finding_column(f)]) for f in self.findings]
        item = make_item(
            pixels, label=self._class_index[row["label"]], findings=findings,
            classes=self.classes, image_id=row["image_id"], patient_id=row["patient_id"], split=row["split"],
            kind=self.image_set.kind, seed=int(seed) if seed else -1,
        )
        return apply(self.transform, item)
