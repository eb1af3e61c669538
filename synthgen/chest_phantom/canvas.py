"""The drawing surface of the phantom and the few primitives every layer is drawn with.

All anatomy and findings live in normalized coordinates: x runs -1 (image left, the patient's
right side in a PA view) to +1, y runs -1 (top) to +1 (bottom), whatever the pixel size. A patient
is drawn once on a padded canvas (so pose changes between its images never reveal an empty
border) and every image of it is a warped crop of that drawing.

Coordinates are kept as a row (1, N) and a column (N, 1) so most expressions broadcast to the full
grid only at their last step, which halves the work of the small images the phantom is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Margin around the image, as a fraction of its size: covers the largest shift + rotation + zoom.
PAD_FRACTION = 0.1
# Noise fields cover [-extent, extent]², beyond any canvas (1 + 2 * PAD_FRACTION, rounded up).
_NOISE_EXTENT = 1.3


@dataclass(frozen=True)
class Canvas:
    """Pixel grid of one output size, in normalized coordinates (arrays are read-only)."""

    size: int  # output image side, pixels
    pad: int  # canvas margin on each side, pixels
    x: np.ndarray  # (1, size + 2 pad) x of each column's centre
    y: np.ndarray  # (size + 2 pad, 1) y of each row's centre
    pixel: float  # normalized length of one pixel

    @property
    def side(self) -> int:
        return self.size + 2 * self.pad


@lru_cache(maxsize=8)
def canvas_for(size: int) -> Canvas:
    pad = max(2, int(np.ceil(size * PAD_FRACTION)))
    pixel = 2.0 / size
    centres = (np.arange(size + 2 * pad, dtype=np.float32) - pad + 0.5) * np.float32(pixel) - np.float32(1.0)
    centres.flags.writeable = False
    return Canvas(size=size, pad=pad, x=centres[None, :], y=centres[:, None], pixel=pixel)


def probe_canvas(xs, ys) -> Canvas:
    """A tiny canvas of the points (x, y) for x in `xs`, y in `ys`: evaluates any drawing
    function there, e.g. to test where a finding may go."""
    x = np.asarray(xs, dtype=np.float32).reshape(1, -1)
    y = np.asarray(ys, dtype=np.float32).reshape(-1, 1)
    return Canvas(size=x.shape[1], pad=0, x=x, y=y, pixel=0.01)


def inside(signed_distance: np.ndarray, width: float) -> np.ndarray:
    """1 inside a shape (negative distance), 0 outside, a linear ramp `width` wide across the edge."""
    # minimum/maximum rather than np.clip: same result, a fraction of the call overhead.
    return np.minimum(np.maximum(np.float32(0.5) - signed_distance * np.float32(1.0 / width), 0.0), 1.0)


def ellipse_field(canvas: Canvas, cx: float, cy: float, rx, ry: float) -> np.ndarray:
    """((x-cx)/rx)² + ((y-cy)/ry)²: below 1 inside the ellipse. `rx` may be a per-row column."""
    return np.square((canvas.x - np.float32(cx)) / rx) + np.square((canvas.y - np.float32(cy)) / np.float32(ry))


def dome(field: np.ndarray) -> np.ndarray:
    """Thickness of a rounded body through an elliptic field: sqrt(1 - f) inside, 0 outside."""
    return np.sqrt(np.maximum(np.float32(1.0) - field, 0.0))


def band(distance: np.ndarray, half_width: float) -> np.ndarray:
    """Triangular profile across a line: 1 on it, 0 beyond `half_width`."""
    return np.maximum(np.float32(1.0) - np.abs(distance) * np.float32(1.0 / half_width), 0.0)


@lru_cache(maxsize=32)
def _smoothing_matrix(size: int, cell: float) -> np.ndarray:
    """(canvas side, cells) Gaussian weights from coarse cells spaced `cell` apart to pixels."""
    coords = canvas_for(size).y[:, 0].astype(np.float64)
    # Cell centres depend on `cell` only, not on the size, so a patient's texture is the same
    # drawing at every resolution.
    count = int(round(2 * _NOISE_EXTENT / cell)) + 1
    centres = np.linspace(-_NOISE_EXTENT, _NOISE_EXTENT, count)
    weights = np.exp(-0.5 * np.square((coords[:, None] - centres[None, :]) / (0.6 * cell)))
    weights /= np.sqrt(np.square(weights).sum(axis=1, keepdims=True))  # unit variance per pixel
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


def smooth_noise(canvas: Canvas, rng: np.random.Generator, cell: float) -> np.ndarray:
    """Gaussian random field with unit variance and features about `cell` (normalized) across.

    Coarse white noise smoothed by one separable matrix product, W G Wᵀ: a few tens of µs at 64²,
    and the same pattern (at finer sampling) at every image size for the same generator.
    """
    weights = _smoothing_matrix(canvas.size, cell)
    coarse = rng.standard_normal((weights.shape[1], weights.shape[1]), dtype=np.float32)
    return weights @ coarse @ weights.T
