"""Embedding space 4: registered pixels — verify the nearest candidates by aligning the images.

A copy that a generator shifted by a few pixels or turned by a degree or two is as far from its
source in a small pixel vector as another patient's image is. So this space does not embed; it
takes each query's nearest training images in the other spaces (the top `candidates` of each,
found with FAISS), aligns every such pair and measures how alike the aligned images are:

    r = max over rotations (`angles`) and integer shifts (up to `max_shift` of the side) of the
        Pearson correlation between the query's window and the candidate's central crop

at `size`² (64² by default) after a light Gaussian blur (which makes noise, JPEG blocks and
sub-pixel misalignment count little). The distance is sqrt(2 - 2 r), like the pixel space's, and
it is calibrated on held-out images' own candidates like every other space. A planted copy gives
r ≈ 0.99; another patient's radiograph rarely exceeds 0.98 (docs/PRIVACY.md has the numbers).

Cost is bounded: (number of candidates × angles) aligned correlations per query, computed as one
small convolution per query (the candidates' crops are its kernels), `chunk` queries at a time.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from privacy.images import AuditImages, resample

log = logging.getLogger(__name__)

MAX_WORKERS = 4
REFERENCE_SIDE = 64  # blur is given in pixels at this side and scaled with the actual side


@dataclass(frozen=True)
class RegisteredConfig:
    size: int = 64  # images are resampled to size² (up or down) for the alignment
    max_shift: float = 0.1  # of the side: ±6 px at 64² (planted copies move up to ±4 px)
    angles: tuple[float, ...] = (-2.0, 0.0, 2.0)  # degrees; covers ±3° with the blur's tolerance
    blur: float = 1.5  # Gaussian sigma in pixels at 64²
    candidates: int = 5  # nearest training images taken from each other space (the source of 99.3-100 %
    # of planted copies is among the encoder's first 5 on PneumoniaMNIST and phantoms: docs/PERFORMANCE.md)
    chunk: int = 256  # queries aligned at a time
    workers: int = 0  # blocks aligned side by side; 0: the machine's cores (at most MAX_WORKERS)

    def __post_init__(self) -> None:
        if not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f"registered option workers must be a non-negative integer, got {self.workers!r}")
        for name in ("size", "candidates", "chunk"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"registered option {name} must be a positive integer, got {value!r}")
        if self.size < 8:
            raise ValueError(f"registered size must be at least 8, got {self.size}")
        if not 0.0 < self.max_shift < 0.25:
            raise ValueError(f"registered max_shift must be in (0, 0.25) of the side, got {self.max_shift!r}")
        if not self.angles or any(abs(a) > 15 for a in self.angles):
            raise ValueError(f"registered angles must be a non-empty list of degrees within ±15, got {self.angles!r}")
        if self.blur < 0:
            raise ValueError(f"registered blur must be >= 0, got {self.blur!r}")


@dataclass
class Registered:
    """Per query: the best-aligned candidate (position in train), its distance, best/second ratio."""

    nearest: np.ndarray
    distance: np.ndarray
    ratio: np.ndarray


class RegisteredSpace:
    """The `registered` space: needs candidates from other spaces, so it has no `embed`."""

    name = "registered"

    def __init__(self, config: RegisteredConfig = RegisteredConfig()) -> None:
        self.config = config

    def describe(self) -> dict:
        return {"kind": "best aligned correlation with the other spaces' nearest candidates",
                **asdict(self.config), "angles": list(self.config.angles)}

    def side(self, native: int) -> int:
        """Images are aligned at `size`² whatever their own size: the shift grid, the blur and the
        parabola's reach are then the same fraction of the image at 28² as at 128² (at a smaller
        native side a one-pixel step is a coarser misalignment, and recall fell with it)."""
        return self.config.size

    def compare(
        self,
        queries: AuditImages,
        train: AuditImages,
        candidates: np.ndarray,
        advance: Callable[[int], None] | None = None,
    ) -> Registered:
        """Align every query with its candidate training images (positions (N, m), -1 = none)."""
        import torch

        side = self.side(min(queries.size, train.size))
        shift = max(1, int(round(self.config.max_shift * side)))
        crop = side - 2 * shift
        sigma = self.config.blur * side / REFERENCE_SIDE
        candidates = _without_repeats(np.asarray(candidates, dtype=np.int64))
        best = np.full(len(queries), -1, dtype=np.int64)
        distance = np.full(len(queries), np.inf, dtype=np.float32)
        ratio = np.full(len(queries), np.nan, dtype=np.float32)
        # One small convolution per query: torch's own threads only contend (5x slower on a busy
        # 2-core machine, where OpenMP threads spin), so torch runs single-threaded and blocks of
        # queries run side by side in `workers` Python threads (convolutions release the GIL), which
        # merely share a busy machine; the caller's torch setting comes back afterwards.
        threads = torch.get_num_threads()
        workers = self.config.workers or min(MAX_WORKERS, os.cpu_count() or 1)
        torch.set_num_threads(1)

        def align(start: int, block: np.ndarray) -> tuple[slice, tuple]:
            rows = slice(start, start + len(block))
            wanted = candidates[rows]
            with torch.inference_mode():
                r = _aligned_correlations(block, wanted, train, side, shift, crop, sigma, self.config.angles)
            return rows, _best_two(wanted, r)

        def collect(future) -> None:
            rows, (best[rows], distance[rows], ratio[rows]) = future.result()
            if advance is not None:
                advance(rows.stop - rows.start)

        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                pending: deque = deque()
                start = 0
                for block in queries.chunks(self.config.chunk):
                    pending.append(pool.submit(align, start, block))
                    start += len(block)
                    while len(pending) > 2 * workers:  # bounded memory: a few blocks in flight
                        collect(pending.popleft())
                while pending:
                    collect(pending.popleft())
        finally:
            torch.set_num_threads(threads)
        return Registered(best, distance, ratio)


def _without_repeats(candidates: np.ndarray) -> np.ndarray:
    """Each row's candidates with repeats (the same image found by two spaces) replaced by -1."""
    order = np.sort(candidates, axis=1)
    repeated = np.zeros_like(order, dtype=bool)
    repeated[:, 1:] = order[:, 1:] == order[:, :-1]
    return np.where(repeated, -1, order)


def prepare(images: np.ndarray, side: int, sigma: float) -> np.ndarray:
    """float32 (N, side, side): resampled, then blurred (edges continued)."""
    from scipy.ndimage import gaussian_filter

    small = resample(np.asarray(images, dtype=np.float32), side)
    if sigma > 0.05:
        small = gaussian_filter(small, (0, sigma, sigma), mode="nearest")
    return np.ascontiguousarray(small, dtype=np.float32)


def _rotations(images, angles: tuple[float, ...]):
    """(n, A, side, side) torch tensor: each image turned by each angle (edges continued)."""
    import math

    import torch
    import torch.nn.functional as F

    n, side, _ = images.shape
    turns = []
    for angle in angles:
        if angle == 0:
            turns.append(images)
            continue
        a = math.radians(angle)
        theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]]).expand(n, 2, 3)
        grid = F.affine_grid(theta, [n, 1, side, side], align_corners=False)
        turns.append(F.grid_sample(images[:, None], grid, mode="bilinear", padding_mode="border",
                                   align_corners=False)[:, 0])
    return torch.stack(turns, dim=1)


def _aligned_correlations(block, wanted, train, side, shift, crop, sigma, angles) -> np.ndarray:
    """(n, m) best aligned correlation of each query with each candidate; -inf where none."""
    import torch
    import torch.nn.functional as F

    n, m = wanted.shape
    out = np.full((n, m), -np.inf, dtype=np.float32)
    present = np.unique(wanted[wanted >= 0])
    if not len(present):
        return out
    # Candidates' central crops, zero-mean and unit-norm: the kernels of the correlation.
    crops = torch.from_numpy(prepare(train.load(present), side, sigma))[:, shift : shift + crop, shift : shift + crop]
    crops = crops - crops.mean(dim=(1, 2), keepdim=True)
    crops = crops / crops.flatten(1).norm(dim=1).clamp_min(1e-6)[:, None, None]
    slot = np.searchsorted(present, np.maximum(wanted, 0))

    queries = _rotations(torch.from_numpy(prepare(block, side, sigma)), angles)  # (n, A, side, side)
    # Each query window's spread, for every shift: sqrt(sum x² - (sum x)² / crop²).
    flat = queries.reshape(-1, 1, side, side)
    area = float(crop * crop)
    sums = F.avg_pool2d(flat, crop, stride=1) * area
    squares = F.avg_pool2d(flat * flat, crop, stride=1) * area
    spread = (squares - sums * sums / area).clamp_min(1e-8).sqrt().reshape(n, len(angles), 1, 2 * shift + 1, 2 * shift + 1)
    maps = torch.full((n, m, len(angles), 2 * shift + 1, 2 * shift + 1), -1.0)
    for i in range(n):
        valid = np.flatnonzero(wanted[i] >= 0)
        if not len(valid):
            continue
        kernels = crops[torch.from_numpy(slot[i, valid])][:, None]  # (k, 1, crop, crop)
        maps[i, torch.from_numpy(valid)] = (F.conv2d(queries[i][:, None], kernels) / spread[i]).transpose(0, 1)
    peaks = _peak(maps.flatten(0, 1)).clamp(-1.0, 1.0).reshape(n, m).numpy()
    return np.where(wanted >= 0, peaks, -np.inf).astype(np.float32)


def _peak(maps):
    """(k,) the maximum of each (A, shifts, shifts) correlation map between its grid points.

    The correlation of two blurred images is smooth in the shift and the angle, so near its best
    grid point it is a parabola in each direction; the grid's spacing (one pixel, the angle step)
    would otherwise cost a copy up to half a pixel of misalignment, as much as another patient's
    anatomy costs (docs/PRIVACY.md). The vertex of each direction's parabola through the best point
    and its two neighbours adds its rise; at the edge of the grid nothing is added.
    """
    import torch

    k, a, h, w = maps.shape
    flat = maps.reshape(k, -1).argmax(dim=1)
    ia, iy, ix = flat // (h * w), (flat // w) % h, flat % w
    rows = torch.arange(k)
    best = maps[rows, ia, iy, ix]
    rise = torch.zeros_like(best)
    for axis, index, length in ((1, ia, a), (2, iy, h), (3, ix, w)):
        inside = (index > 0) & (index < length - 1)
        lower, upper = (index - 1).clamp(0, length - 1), (index + 1).clamp(0, length - 1)
        at = [ia, iy, ix]
        at[axis - 1] = lower
        before = maps[rows, at[0], at[1], at[2]]
        at[axis - 1] = upper
        after = maps[rows, at[0], at[1], at[2]]
        curvature = before - 2 * best + after  # <= 0 at a maximum
        gain = torch.where(curvature < 0, (after - before) ** 2 / (-8 * curvature.clamp_max(-1e-12)), 0.0)
        rise += torch.where(inside, gain, 0.0)
    return best + rise


def _best_two(wanted: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best candidate, its distance sqrt(2 - 2r), and best / second-best distance ratio."""
    order = np.argsort(-r, axis=1, kind="stable")
    rows = np.arange(len(r))
    first = r[rows, order[:, 0]]
    second = r[rows, order[:, 1]] if r.shape[1] > 1 else np.full(len(r), -np.inf, np.float32)
    nearest = np.where(np.isfinite(first), wanted[rows, order[:, 0]], -1)
    d1, d2 = _distance(first), _distance(second)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isfinite(d2) & (d2 > 0), d1 / d2, np.nan)
    return nearest, d1, ratio.astype(np.float32)


def _distance(r: np.ndarray) -> np.ndarray:
    """sqrt(2 - 2r) (the distance of unit vectors with correlation r); inf where no candidate."""
    finite = np.isfinite(r)
    return np.where(finite, np.sqrt(np.maximum(2.0 - 2.0 * np.where(finite, r, 0.0), 0.0)), np.inf).astype(np.float32)
