"""From a patient's drawing to pixels: pose, exposure, noise and quantization of each image.

A patient is drawn once (`draw_patient`, the costly part); each of its images is then a rotated,
shifted and zoomed crop of that drawing (one bilinear resample in Pillow's C code), exposed with
its own dose and noise. So a patient's images share anatomy and findings but are not identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from synthgen.chest_phantom.anatomy import Anatomy, draw_anatomy
from synthgen.chest_phantom.canvas import Canvas
from synthgen.chest_phantom.findings import Finding

BIT_DEPTHS = (8, 16)


@dataclass(frozen=True)
class Acquisition:
    """How one image of a patient was taken."""

    angle: float  # rotation, degrees
    shift_x: float  # patient offset, normalized units
    shift_y: float
    zoom: float  # > 1 shows the patient larger
    exposure: float  # scales attenuation before it becomes brightness (dose / kVp)
    contrast: float  # display window: width around mid-grey ...
    brightness: float  # ... and level
    noise: float  # standard deviation of pixel noise, in [0, 1] brightness units
    noise_seed: int


def sample_acquisition(rng: np.random.Generator) -> Acquisition:
    return Acquisition(
        angle=float(np.clip(rng.normal(0.0, 2.0), -5.0, 5.0)),
        shift_x=rng.uniform(-0.05, 0.05),
        shift_y=rng.uniform(-0.05, 0.05),
        zoom=rng.uniform(0.96, 1.05),
        exposure=rng.uniform(0.85, 1.15),
        contrast=rng.uniform(0.9, 1.1),
        brightness=rng.uniform(-0.04, 0.04),
        noise=rng.uniform(0.006, 0.025),
        noise_seed=int(rng.integers(2**63)),
    )


def draw_patient(anatomy: Anatomy, findings: tuple[Finding, ...], canvas: Canvas) -> np.ndarray:
    """Attenuation map of one patient on the padded canvas. `anatomy` already reflects the
    findings that change it (see `findings.apply_to_anatomy`)."""
    attenuation, lungs = draw_anatomy(anatomy, canvas)
    for finding in findings:
        opacity = finding.draw(anatomy, canvas, lungs)
        if opacity is not None:
            attenuation += opacity
    return attenuation


def pose(attenuation: Image.Image, acquisition: Acquisition, canvas: Canvas) -> np.ndarray:
    """The size² view of a drawing (a mode 'F' image of the padded canvas) under one pose.

    Pillow's affine transform maps each output pixel to a canvas position; rotation and zoom are
    about the image centre, so output (X, Y) -> canvas (a X + b Y + c, d X + e Y + f).
    """
    turn = math.radians(acquisition.angle)
    cos, sin = math.cos(turn) / acquisition.zoom, math.sin(turn) / acquisition.zoom
    half = canvas.size / 2
    shift_x = acquisition.shift_x * half
    shift_y = acquisition.shift_y * half
    coefficients = (
        cos, -sin, half + canvas.pad - half * (cos - sin) - shift_x,
        sin, cos, half + canvas.pad - half * (sin + cos) - shift_y,
    )
    view = attenuation.transform(
        (canvas.size, canvas.size), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BILINEAR
    )
    return np.asarray(view)


def expose(attenuation: np.ndarray, acquisition: Acquisition) -> np.ndarray:
    """Brightness in [0, 1] (float32): absorbed fraction, display window, then pixel noise."""
    absorbed = np.exp(attenuation * np.float32(-acquisition.exposure))  # 1 - absorbed fraction
    offset = np.float32(0.5 + acquisition.brightness + 0.5 * acquisition.contrast)
    brightness = offset - absorbed * np.float32(acquisition.contrast)  # = c (1 - absorbed - ½) + ½ + b
    noise = np.random.default_rng(acquisition.noise_seed).standard_normal(brightness.shape, dtype=np.float32)
    brightness += noise * np.float32(acquisition.noise)
    return np.minimum(np.maximum(brightness, 0.0, out=brightness), 1.0, out=brightness)


def quantize(brightness: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """[0, 1] floats to uint8 (bit_depth 8) or uint16 (bit_depth 16), rounding to nearest."""
    if bit_depth == 8:
        return np.rint(brightness * np.float32(255.0)).astype(np.uint8)
    if bit_depth == 16:
        return np.rint(brightness * np.float32(65535.0)).astype(np.uint16)
    raise ValueError(f"bit_depth must be one of {BIT_DEPTHS}, got {bit_depth}")


def render_images(
    anatomy: Anatomy, findings: tuple[Finding, ...], acquisitions: tuple[Acquisition, ...], canvas: Canvas
) -> list[np.ndarray]:
    """Float32 [0, 1] size² images of one patient, one per acquisition."""
    drawing = Image.fromarray(draw_patient(anatomy, findings, canvas))
    return [expose(pose(drawing, acquisition, canvas), acquisition) for acquisition in acquisitions]
