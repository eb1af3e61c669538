"""The one definition of a dataset item: a MONAI-style dict of tensors and metadata."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

# image: float32 (1, H, W) in [0, 1]; label: int64 class index; findings: float32 (F,) 0/1 in the
# order of the dataset's `findings`; seed: the image's generator seed (-1 for real images).
ITEM_KEYS = ("image", "label", "findings", "class_name", "image_id", "patient_id", "split", "kind", "seed")

Transform = Callable[[dict], dict]


def make_item(pixels: np.ndarray, *, label: int, findings: Sequence[int], classes: Sequence[str], image_id: str,
              patient_id: str, split: str, kind: str, seed: int) -> dict:
    """The item of one uint8/uint16 (H, W) image (scaled to [0, 1] by its own bit depth)."""
    top = 255.0 if pixels.dtype == np.uint8 else 65535.0
    image = torch.from_numpy(np.asarray(pixels, dtype=np.float32) / np.float32(top))[None]
    return {
        "image": image,
        "label": torch.tensor(int(label), dtype=torch.int64),
        "findings": torch.tensor(list(findings), dtype=torch.float32),
        "class_name": classes[int(label)],
        "image_id": image_id,
        "patient_id": patient_id,
        "split": split,
        "kind": kind,
        "seed": int(seed),
    }


def apply(transform: Transform | None, item: dict) -> dict:
    return item if transform is None else transform(item)
