"""Decoded-pixel cache: one .npy per manifest hash inside the set, so training loads in one read."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from synthgen.errors import SynthgenError
from synthgen.imageset.format import CACHE_DIR
from synthgen.imageset.pngio import decode_png

log = logging.getLogger(__name__)


def cache_path(root: Path, manifest_sha256: str) -> Path:
    return root / CACHE_DIR / f"pixels-{manifest_sha256[:16]}.npy"


def load_cached_pixels(
    root: Path, rows: Sequence[Mapping[str, str]], manifest_sha256: str, size: int
) -> np.ndarray:
    """(N, size, size) uint8 (all 8-bit sets) or uint16 array; built on first use."""
    path = cache_path(root, manifest_sha256)
    if path.is_file():
        try:
            cached = np.load(path, mmap_mode="r")
            if cached.shape == (len(rows), size, size):
                return cached
        except (OSError, ValueError):
            log.warning("pixel cache %s is unreadable; rebuilding it", path)
    pixels = decode_all(root, rows, size)
    save_cache(path, pixels)
    return pixels


def decode_all(root: Path, rows: Sequence[Mapping[str, str]], size: int) -> np.ndarray:
    sixteen = any(row["bit_depth"] == "16" for row in rows)
    out = np.empty((len(rows), size, size), dtype=np.uint16 if sixteen else np.uint8)
    for i, row in enumerate(rows):
        image = decode_png(root / row["path"])
        if image.shape != (size, size):
            raise SynthgenError(
                f"{root / row['path']} is {image.shape[1]}x{image.shape[0]}, the set says {size}x{size}; "
                "re-create the image set"
            )
        # 8-bit images in a 16-bit set are widened exactly (x257 maps 255 to 65535).
        out[i] = image if image.dtype == out.dtype else image.astype(np.uint16) * 257
    return out


def save_cache(path: Path, pixels: np.ndarray) -> None:
    """Write the cache atomically and drop stale ones; a read-only set simply goes uncached."""
    try:
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".pixels-", suffix=".npy.tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, pixels)
        os.replace(tmp, path)
        for stale in path.parent.glob("pixels-*.npy"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError as err:
        log.info("not caching pixels in %s: %s", path.parent, err)
