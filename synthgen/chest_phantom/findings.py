"""The labelled findings: how each is sampled for a patient and how it changes the drawing.

Every finding but cardiomegaly adds attenuation (an opacity) on top of the anatomy; opacities
inside a lung replace some of its air, so they look like soft tissue where lung should be dark.
Cardiomegaly instead enlarges the heart of the patient's anatomy. Sizes and densities are chosen
so each finding is plain to see at 64² yet varies in size, place and strength.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Union

import numpy as np

from synthgen.chest_phantom.anatomy import SIDES, Anatomy, heart_field, heart_resting_y, lung_field
from synthgen.chest_phantom.canvas import Canvas, dome, ellipse_field, probe_canvas, smooth_noise

NORMAL = "normal"
FINDINGS = ("consolidation", "effusion", "nodule", "cardiomegaly")
CLASSES = (NORMAL, *FINDINGS)

# Chance that a patient with a primary finding also has each other finding.
SECONDARY_PROBABILITY = 0.15
# Attempts to place a finding in clear lung before accepting the last point drawn.
_POINT_TRIES = 20


@dataclass(frozen=True)
class Consolidation:
    """Pneumonia-like patchy opacity filling part of one lung."""

    name: ClassVar[str] = "consolidation"
    side: int
    x: float
    y: float
    half_width: float
    half_height: float
    density: float  # fraction of the lung's air replaced at the core
    texture_seed: int

    def draw(self, anatomy: Anatomy, canvas: Canvas, lungs: list[np.ndarray]) -> np.ndarray:
        f32 = np.float32
        shape = ellipse_field(canvas, self.x, self.y, self.half_width, self.half_height)
        core = np.minimum(dome(shape) * f32(1.6), 1.0)
        # Patchy, not uniform: a random field decides where the air spaces are filled.
        patches = smooth_noise(canvas, np.random.default_rng(self.texture_seed), 0.07)
        patchy = np.clip(f32(0.75) + f32(0.45) * patches, 0.0, 1.0)
        return f32(self.density * anatomy.lung_air) * core * patchy * lungs[self.side]


@dataclass(frozen=True)
class Effusion:
    """Pleural fluid at a lung base: blunts the costophrenic angle, climbs the wall (meniscus)."""

    name: ClassVar[str] = "effusion"
    sides: tuple[int, ...]
    height: float  # fluid level above the costophrenic angle
    meniscus: float  # how much higher the fluid reaches at the lateral wall
    density: float  # fraction of the lung's air replaced under the level

    def draw(self, anatomy: Anatomy, canvas: Canvas, lungs: list[np.ndarray]) -> np.ndarray:
        f32 = np.float32
        added = np.zeros((canvas.side, canvas.side), dtype=np.float32)
        for side in self.sides:
            outwards = (SIDES[side] * canvas.x - f32(anatomy.lung_offset)) / f32(2 * anatomy.lung_half_width)
            lateral = np.clip(outwards + f32(0.5), 0.0, 1.2)  # 0 at the lung's medial edge, 1 at its lateral one
            level = f32(anatomy.diaphragm[side] - self.height) - f32(self.meniscus) * np.square(lateral)
            # Denser with depth below a hazy upper edge, as a layer of fluid looks from the front.
            fluid = np.clip((canvas.y - level) * f32(1.0 / 0.08) + f32(0.35), 0.0, 1.0)
            added += f32(self.density * anatomy.lung_air) * fluid * lungs[side]
        return added


@dataclass(frozen=True)
class Nodule:
    """Small round, well-defined opacity in a lung."""

    name: ClassVar[str] = "nodule"
    x: float
    y: float
    radius: float
    density: float  # attenuation through its centre

    def draw(self, anatomy: Anatomy, canvas: Canvas, lungs: list[np.ndarray]) -> np.ndarray:
        sphere = dome(ellipse_field(canvas, self.x, self.y, self.radius, self.radius))
        return np.float32(self.density) * np.sqrt(sphere)  # sqrt: sharper rim than a plain sphere


@dataclass(frozen=True)
class Cardiomegaly:
    """Enlarged heart: cardiothoracic ratio above 0.5. Acts through the anatomy, draws nothing."""

    name: ClassVar[str] = "cardiomegaly"
    scale: float  # growth of the heart's long axis
    breadth_scale: float  # growth of its short axis
    flattening: float  # radians the long axis turns towards horizontal (the apex moves out)

    def enlarge(self, anatomy: Anatomy) -> Anatomy:
        bigger = dataclasses.replace(
            anatomy,
            heart_length=anatomy.heart_length * self.scale,
            heart_breadth=anatomy.heart_breadth * self.breadth_scale,
            heart_tilt=anatomy.heart_tilt - self.flattening,
            heart_x=anatomy.heart_x + 0.1 * (self.scale - 1.0),  # grows mostly to the left
        )
        # Still resting on the diaphragm.
        return dataclasses.replace(bigger, heart_y=heart_resting_y(anatomy.diaphragm[1], bigger.heart_half_height))

    def draw(self, anatomy: Anatomy, canvas: Canvas, lungs: list[np.ndarray]) -> None:
        return None


Finding = Union[Consolidation, Effusion, Nodule, Cardiomegaly]
Placed = tuple[Finding, ...]  # findings of a patient sampled so far


def sample_findings(rng: np.random.Generator, primary: str, anatomy: Anatomy) -> tuple[Finding, ...]:
    """The primary finding (none for `normal`) and, rarely, other findings with it."""
    if primary == NORMAL:
        return ()
    names = [primary] + [f for f in FINDINGS if f != primary and rng.random() < SECONDARY_PROBABILITY]
    # The enlarged heart and the fluid come first, so that nodules and consolidations are placed
    # in the lung that is left clear, where they stay visible.
    names.sort(key=_PLACEMENT_ORDER.index)
    findings: list[Finding] = []
    for name in names:
        findings.extend(_SAMPLERS[name](rng, apply_to_anatomy(anatomy, tuple(findings)), tuple(findings)))
    return tuple(findings)


def apply_to_anatomy(anatomy: Anatomy, findings: tuple[Finding, ...]) -> Anatomy:
    """The anatomy as the findings leave it (an enlarged heart for cardiomegaly)."""
    for finding in findings:
        if isinstance(finding, Cardiomegaly):
            anatomy = finding.enlarge(anatomy)
    return anatomy


def _point_in_lung(
    rng: np.random.Generator, anatomy: Anatomy, placed: Placed, side: int, margin: float
) -> tuple[float, float]:
    """A point of clear lung (not behind the heart or in fluid) with clear lung around it to
    `margin`; the last point tried if none is found."""
    top = anatomy.lung_apex + 0.3
    bottom = anatomy.diaphragm[side] - anatomy.dome_rise - 0.06
    for _ in range(_POINT_TRIES):
        across = rng.uniform(-0.15, 0.6) * anatomy.lung_half_width  # towards the lateral wall
        x, y = SIDES[side] * (anatomy.lung_offset + across), rng.uniform(top, bottom)
        probe = probe_canvas((x - margin, x, x + margin), (y - margin, y, y + margin))
        heart = heart_field(anatomy, probe)
        lungs = [lung_field(anatomy, probe, s) * (1 - heart) for s in (0, 1)]
        fluid = sum(f.draw(anatomy, probe, lungs) for f in placed if isinstance(f, Effusion))
        clear = lungs[side] - fluid / np.float32(anatomy.lung_air)
        if clear[1, 1] > 0.9 and clear.min() > 0.5:
            break
    return x, y


def _sample_consolidation(rng: np.random.Generator, anatomy: Anatomy, placed: Placed) -> list[Finding]:
    side = int(rng.integers(2))
    x, y = _point_in_lung(rng, anatomy, placed, side, margin=0.05)
    return [
        Consolidation(
            side=side,
            x=x,
            y=y,
            half_width=rng.uniform(0.16, 0.26),
            half_height=rng.uniform(0.2, 0.34),
            density=rng.uniform(0.6, 0.95),
            texture_seed=int(rng.integers(2**63)),
        )
    ]


def _sample_effusion(rng: np.random.Generator, anatomy: Anatomy, placed: Placed) -> list[Finding]:
    sides = (0, 1) if rng.random() < 0.2 else (int(rng.integers(2)),)
    return [
        Effusion(
            sides=sides,
            height=rng.uniform(0.2, 0.45),
            meniscus=rng.uniform(0.1, 0.25),
            density=rng.uniform(0.85, 1.05),
        )
    ]


def _sample_nodule(rng: np.random.Generator, anatomy: Anatomy, placed: Placed) -> list[Finding]:
    count = 1 if rng.random() < 0.8 else 2
    nodules: list[Finding] = []
    for _ in range(count):
        radius = rng.uniform(0.06, 0.1)
        x, y = _point_in_lung(rng, anatomy, placed, int(rng.integers(2)), margin=radius)
        nodules.append(Nodule(x=x, y=y, radius=radius, density=rng.uniform(0.6, 0.9)))
    return nodules


def _sample_cardiomegaly(rng: np.random.Generator, anatomy: Anatomy, placed: Placed) -> list[Finding]:
    scale = rng.uniform(1.3, 1.5)
    breadth_scale = scale * rng.uniform(0.85, 1.0)
    return [Cardiomegaly(scale=scale, breadth_scale=breadth_scale, flattening=rng.uniform(0.0, 0.15))]


_PLACEMENT_ORDER = ("cardiomegaly", "effusion", "consolidation", "nodule")
_SAMPLERS = {
    "consolidation": _sample_consolidation,
    "effusion": _sample_effusion,
    "nodule": _sample_nodule,
    "cardiomegaly": _sample_cardiomegaly,
}
