"""The images one side of an audit compares: pixels at a common size, plus who each image is.

`AuditImages` wraps either rows of an image set (pixels read in chunks from its cache, so memory
stays bounded) or arrays in memory (the self-test's planted copies). Every embedding space reads
images through `chunks()` and never needs the whole set as floats at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from synthgen.imageset import ImageSet

CHUNK = 1024  # images per chunk read from a set (64² float32: 16 MiB)


@dataclass
class AuditImages:
    """Images of one role (train, synthetic or holdout) and their identities.

    `image_ids`, `patient_ids` and `sha256` (of the stored PNG, or of the pixels for arrays) have
    one entry per image. `size` is the side the pixels are resampled to when read.
    """

    name: str
    image_ids: np.ndarray
    patient_ids: np.ndarray
    sha256: np.ndarray
    native_size: int
    manifest_sha256: str = ""
    image_set: ImageSet | None = None
    indices: np.ndarray | None = None
    pixels: np.ndarray | None = None  # float32 (N, H, W) in [0, 1] when held in memory
    size: int = field(default=0)

    def __post_init__(self) -> None:
        if not self.size:
            self.size = self.native_size

    @classmethod
    def from_image_set(cls, image_set: ImageSet, indices: np.ndarray) -> "AuditImages":
        indices = np.asarray(indices, dtype=np.int64)
        rows = [image_set.rows[i] for i in indices]
        return cls(
            name=image_set.name,
            image_ids=np.array([row["image_id"] for row in rows], dtype=object),
            patient_ids=np.array([row["patient_id"] for row in rows], dtype=object),
            sha256=np.array([row["sha256"] for row in rows], dtype=object),
            native_size=image_set.image_size,
            manifest_sha256=image_set.manifest_sha256,
            image_set=image_set,
            indices=indices,
        )

    @classmethod
    def from_arrays(
        cls, name: str, pixels: np.ndarray, image_ids, patient_ids
    ) -> "AuditImages":
        """Images held in memory: float32 (N, H, W) in [0, 1]; hashes are of the pixel bytes."""
        pixels = np.ascontiguousarray(pixels, dtype=np.float32)
        digests = [hashlib.sha256(image.tobytes()).hexdigest() for image in pixels]
        return cls(
            name=name,
            image_ids=np.asarray(image_ids, dtype=object),
            patient_ids=np.asarray(patient_ids, dtype=object),
            sha256=np.array(digests, dtype=object),
            native_size=int(pixels.shape[-1]),
            manifest_sha256=hashlib.sha256("".join(digests).encode()).hexdigest(),
            pixels=pixels,
        )

    def __len__(self) -> int:
        return len(self.image_ids)

    def labels(self) -> np.ndarray | None:
        """Each image's class label (the image set's `label` column); None for images held in memory."""
        if self.image_set is None:
            return None
        return np.array([self.image_set.rows[i]["label"] for i in self.indices], dtype=object)

    def chunks(self, chunk: int = CHUNK) -> Iterator[np.ndarray]:
        """Float32 (n, size, size) arrays in [0, 1], in order, `chunk` images at a time."""
        for start in range(0, len(self), chunk):
            stop = min(start + chunk, len(self))
            if self.pixels is not None:
                block = self.pixels[start:stop]
            else:
                assert self.image_set is not None and self.indices is not None
                block = self.image_set.load_pixels(self.indices[start:stop])
            yield resample(block, self.size)

    def load(self, positions: np.ndarray) -> np.ndarray:
        """Float32 pixels of a few images (by position in this object), at their native size."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.pixels is not None:
            return self.pixels[positions]
        assert self.image_set is not None and self.indices is not None
        return self.image_set.load_pixels(self.indices[positions])


def resample(images: np.ndarray, size: int) -> np.ndarray:
    """Area-average (shrink) or bilinear (enlarge) float images to size²; unchanged if already."""
    if images.shape[-1] == size:
        return np.asarray(images, dtype=np.float32)
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))[:, None]
    mode = "area" if size < images.shape[-1] else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(tensor, size=(size, size), mode=mode, **kwargs)[:, 0].numpy()
