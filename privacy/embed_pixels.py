"""Embedding space 1: normalized pixels.

Each image is area-averaged down to `side`² (default 16², so a shift of a few pixels or fine noise
moves it little), then centred and scaled to unit length. The Euclidean distance between two such
vectors is sqrt(2 - 2 r), r being the Pearson correlation of the small images, so brightness and
contrast changes (a linear map of grey levels) do not change it.
"""

from __future__ import annotations

import numpy as np

from privacy.images import AuditImages, resample

DEFAULT_SIDE = 16
_EPS = 1e-6


def normalized_pixels(images: np.ndarray, side: int = DEFAULT_SIDE) -> np.ndarray:
    """(N, side²) float32 unit vectors from float images (N, H, W)."""
    small = resample(images, side).reshape(len(images), -1).astype(np.float64)
    small -= small.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(small, axis=1, keepdims=True)
    # A flat image has no pattern to compare; it maps to the zero vector (distance 1 to all).
    return (small / np.maximum(norms, _EPS)).astype(np.float32)


class PixelSpace:
    """The `pixels` space: nothing to train.

    It finds candidates for the registered space, which re-scores each of them with the same kind of
    correlation after alignment, so it does not flag on its own (`flags`): its flags added false
    positives on new patients and no recall (docs/PRIVACY.md, "Recall at every size").
    """

    name = "pixels"
    flags = False

    def __init__(self, side: int = DEFAULT_SIDE) -> None:
        if side < 4:
            raise ValueError(f"pixel-space side must be at least 4, got {side}")
        self.side = side

    def describe(self) -> dict:
        return {"kind": "normalized pixels", "side": self.side, "dim": self.side**2}

    def embed(self, images: AuditImages, on_chunk=None) -> np.ndarray:
        parts = []
        for chunk in images.chunks():
            parts.append(normalized_pixels(chunk, self.side))
            if on_chunk is not None:
                on_chunk(len(chunk))
        return np.concatenate(parts) if parts else np.zeros((0, self.side**2), np.float32)
