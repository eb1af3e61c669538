"""Decoding ordinary image files (PNG, JPEG, TIFF, BMP) to grayscale uint8/uint16 with clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from synthgen.errors import SynthgenError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})

# JPEG chroma rounding can leave R, G and B a grey level or two apart in a grey image.
_GREY_TOLERANCE = 2.0


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def list_image_files(folder: Path) -> list[Path]:
    """Image files under `folder`, recursively, sorted, hidden files and folders skipped."""
    return sorted(
        p for p in folder.rglob("*") if is_image_file(p) and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def decode_image_file(path: Path) -> np.ndarray:
    """A 2-D uint8 (8-bit sources) or uint16 (16-bit sources) array; colour images must be grey."""
    try:
        with Image.open(path) as image:
            image.load()
            array = np.asarray(image)
            mode = image.mode
    except FileNotFoundError:
        raise SynthgenError(f"image {path} does not exist: fix the path or the labels CSV") from None
    except UnidentifiedImageError:
        raise SynthgenError(f"{path} is not a readable image file (PNG/JPEG/TIFF/BMP); remove or replace it") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise SynthgenError(f"image {path} is truncated or corrupt ({err}); remove or replace it") from None
    if mode == "1":
        return array.astype(np.uint8) * 255
    if mode == "P":
        raise SynthgenError(f"image {path} is a palette image; save it as grayscale PNG/JPEG")
    if array.ndim == 3:
        array = _grey_from_channels(array, path)
    if array.dtype == np.uint8:
        return array
    if array.dtype in (np.uint16, np.int32, np.int64, np.uint32) and array.min() >= 0 and array.max() <= 65535:
        return array.astype(np.uint16)
    raise SynthgenError(f"image {path} has pixel type {array.dtype} ({mode}); use 8- or 16-bit grayscale")


def _grey_from_channels(array: np.ndarray, path: Path) -> np.ndarray:
    red, green, blue = array[..., 0], array[..., 1], array[..., 2]
    if np.array_equal(red, green) and np.array_equal(red, blue):  # the usual grey-as-RGB file: fast path
        return np.ascontiguousarray(red)
    wide = array[..., :3].astype(np.int32)
    spread = max(float(np.abs(wide[..., 0] - wide[..., c]).mean()) for c in (1, 2))
    if spread > _GREY_TOLERANCE:
        raise SynthgenError(f"image {path} is a colour image (channels differ); radiographs must be grayscale")
    return ((wide.sum(axis=-1) + 1) // 3).astype(array.dtype)
