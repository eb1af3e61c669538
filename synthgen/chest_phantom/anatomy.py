"""A patient's chest anatomy: the random parameters that make one patient, and their drawing.

The drawing is an attenuation map (how much each ray is absorbed): soft tissue of a rounded
torso, minus the air of two lungs, plus heart, mediastinum, spine, ribs, clavicles and lung
markings. `render.py` turns attenuation into brightness, so bright = dense (MONOCHROME2).

Side index 0 is the image's left (the patient's right in a PA view), index 1 the image's right,
where the heart bulges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthgen.chest_phantom.canvas import Canvas, band, dome, ellipse_field, inside, smooth_noise

SIDES = (-1.0, 1.0)  # sign of x of the image-left and image-right lung


@dataclass(frozen=True)
class Anatomy:
    """Everything that stays the same across a patient's images (normalized units)."""

    body_half_width: float  # torso half width at its widest
    soft_tissue: float  # attenuation through the thickest part of the torso
    lung_offset: float  # |x| of each lung's centre
    lung_half_width: float  # lung half width halfway down
    lung_apex: float  # y of the lung tops
    lung_air: float  # attenuation the aerated lung removes
    diaphragm: tuple[float, float]  # y of each dome's lateral base (image left, image right)
    dome_rise: float  # how far the domes rise above their base
    heart_x: float  # centre of the heart, an ellipse whose long axis runs down to the left
    heart_y: float
    heart_length: float  # long half-axis
    heart_breadth: float  # short half-axis
    heart_tilt: float  # radians from horizontal, apex down (towards +x, +y)
    mediastinum_half_width: float
    rib_spacing: float
    rib_curve: float  # how strongly the posterior ribs arch
    rib_phase: float  # vertical offset of the rib pattern
    bone: float  # density factor of ribs, spine and clavicles
    clavicle_y: float
    gastric_bubble: float  # air in the stomach under the left dome, 0 for none
    texture_seed: int  # lung markings

    @property
    def thorax_half_width(self) -> float:
        """Half of the inner rib-cage width at the base, the denominator of the CT ratio."""
        return self.lung_offset + 1.15 * self.lung_half_width

    @property
    def heart_half_width(self) -> float:
        return _half_extent(self.heart_length, self.heart_breadth, self.heart_tilt)

    @property
    def heart_half_height(self) -> float:
        return _half_extent(self.heart_length, self.heart_breadth, np.pi / 2 - self.heart_tilt)

    @property
    def cardiothoracic_ratio(self) -> float:
        return self.heart_half_width / self.thorax_half_width


def sample_anatomy(rng: np.random.Generator) -> Anatomy:
    """Draw one patient's anatomy; ranges give visibly different but plausible adults."""
    u = rng.uniform
    lung_offset = u(0.38, 0.45)
    lung_half_width = u(0.27, 0.33)
    right_base = u(0.48, 0.6)  # the right dome (image left) sits a little higher than the left
    left_base = right_base + u(0.02, 0.07)
    mediastinum_half_width = u(0.085, 0.12)
    thorax = lung_offset + 1.15 * lung_half_width
    heart_tilt, heart_roundness = u(0.45, 0.7), u(0.65, 0.8)
    heart_half_width = thorax * u(0.4, 0.48)  # cardiothoracic ratio 0.40-0.48: normal
    heart_length = heart_half_width / _half_extent(1.0, heart_roundness, heart_tilt)
    heart_breadth = heart_roundness * heart_length
    return Anatomy(
        body_half_width=u(0.86, 1.02),
        soft_tissue=u(1.0, 1.3),
        lung_offset=lung_offset,
        lung_half_width=lung_half_width,
        lung_apex=u(-0.78, -0.64),
        lung_air=u(0.66, 0.82),
        diaphragm=(right_base, left_base),
        dome_rise=u(0.12, 0.2),
        heart_x=u(0.1, 0.16),
        heart_y=heart_resting_y(left_base, _half_extent(heart_length, heart_breadth, np.pi / 2 - heart_tilt)),
        heart_length=heart_length,
        heart_breadth=heart_breadth,
        heart_tilt=heart_tilt,
        mediastinum_half_width=mediastinum_half_width,
        rib_spacing=u(0.14, 0.17),
        rib_curve=u(0.9, 1.4),
        rib_phase=u(0.0, 1.0),
        bone=u(0.8, 1.2),
        clavicle_y=u(-0.72, -0.62),
        gastric_bubble=u(0.0, 0.5) if rng.random() < 0.6 else 0.0,
        texture_seed=int(rng.integers(2**63)),
    )


def heart_resting_y(left_diaphragm: float, half_height: float) -> float:
    """Centre y of a heart whose lower part sinks into the left dome."""
    return left_diaphragm - 0.8 * half_height


def _half_extent(a: float, b: float, angle: float) -> float:
    """Half the horizontal extent of an ellipse with half-axes a, b, a rotated by `angle`."""
    return float(np.hypot(a * np.cos(angle), b * np.sin(angle)))


def dome_height(anatomy: Anatomy, canvas: Canvas, side: int) -> np.ndarray:
    """(1, N) y of the diaphragm under one lung: highest mid-lung, lowest at the costophrenic angle."""
    centre = SIDES[side] * anatomy.lung_offset
    across = (canvas.x - np.float32(centre)) / np.float32(1.3 * anatomy.lung_half_width)
    return np.float32(anatomy.diaphragm[side]) - np.float32(anatomy.dome_rise) * (1 - np.square(across))


def lung_field(anatomy: Anatomy, canvas: Canvas, side: int) -> np.ndarray:
    """Aerated fraction (0-1) of one lung: narrow apex, wide base, cut by its diaphragm dome."""
    base = anatomy.diaphragm[side]
    half_height = (base + 0.3 - anatomy.lung_apex) / 2  # the ellipse reaches below the dome
    down = np.clip((canvas.y - np.float32(anatomy.lung_apex)) / np.float32(base - anatomy.lung_apex), 0, 1)
    half_width = np.float32(anatomy.lung_half_width) * (np.float32(0.75) + np.float32(0.45) * down)
    field = ellipse_field(
        canvas, SIDES[side] * anatomy.lung_offset, anatomy.lung_apex + half_height, half_width, half_height
    )
    depth = np.minimum(dome(field) * np.float32(2.5), np.float32(1.0))  # flat inside, soft edge
    above_diaphragm = inside(canvas.y - dome_height(anatomy, canvas, side), 1.5 * canvas.pixel)
    return depth * above_diaphragm


def heart_field(anatomy: Anatomy, canvas: Canvas) -> np.ndarray:
    """Heart silhouette (0-1): a dense ellipse left of centre resting on the diaphragm."""
    cos, sin = np.float32(np.cos(anatomy.heart_tilt)), np.float32(np.sin(anatomy.heart_tilt))
    dx, dy = canvas.x - np.float32(anatomy.heart_x), canvas.y - np.float32(anatomy.heart_y)
    along = (dx * cos + dy * sin) * np.float32(1.0 / anatomy.heart_length)
    across = (dy * cos - dx * sin) * np.float32(1.0 / anatomy.heart_breadth)
    field = np.square(along) + np.square(across)
    return np.minimum(dome(field) * np.float32(2.0), np.float32(1.0))


def draw_anatomy(anatomy: Anatomy, canvas: Canvas) -> tuple[np.ndarray, list[np.ndarray]]:
    """Attenuation map of the patient without findings, and the two lung fields for findings."""
    x, y, px = canvas.x, canvas.y, canvas.pixel
    ax = np.abs(x)
    f32 = np.float32

    # Torso: a super-ellipse (sides nearly straight, shoulders rounded) whose thickness, and so
    # its brightness, falls off towards the body outline; the neck continues it upwards.
    torso = np.square(np.square(x / f32(anatomy.body_half_width)))
    torso = torso + np.square(np.square((y - f32(0.35)) / f32(1.45)))
    neck = ellipse_field(canvas, 0.0, -1.1, 0.3, 0.35)
    thickness = np.maximum(dome(torso), dome(neck) * f32(0.8))
    attenuation = f32(anatomy.soft_tissue) * thickness

    # Below the diaphragm the body is deeper and airless (liver, spleen): as dense as the heart,
    # so the heart's lower border disappears into it as on a real film.
    diaphragm = np.where(x < 0, dome_height(anatomy, canvas, 0), dome_height(anatomy, canvas, 1))
    attenuation += f32(0.4) * thickness * inside(diaphragm - y, 3 * px)

    # Lungs are dark because their air absorbs little; in front of and behind the heart there is
    # little lung, so the heart shows as a bright silhouette.
    heart = heart_field(anatomy, canvas)
    lungs = [lung_field(anatomy, canvas, side) * (f32(1.0) - f32(0.85) * heart) for side in (0, 1)]
    attenuation -= f32(anatomy.lung_air) * (lungs[0] + lungs[1])

    # Mediastinum: a dense column above the heart, with the aortic knob bulging to the left.
    heart_top = anatomy.heart_y - anatomy.heart_half_height
    column = inside(np.abs(x - f32(0.02)) - f32(anatomy.mediastinum_half_width), 2 * px)
    column = column * inside(y - f32(anatomy.heart_y), 4 * px)
    knob = dome(ellipse_field(canvas, anatomy.mediastinum_half_width + 0.04, heart_top - 0.08, 0.075, 0.07))
    attenuation += f32(0.45) * np.maximum(column, heart * inside(y - diaphragm, 3 * px)) + f32(0.35) * knob

    # Hila: vessel bundles beside the mediastinum where the lung markings start.
    hilum_x, hilum_y = anatomy.mediastinum_half_width + 0.1, heart_top + 0.02
    for sign in SIDES:
        attenuation += f32(0.22) * dome(ellipse_field(canvas, sign * hilum_x, hilum_y, 0.08, 0.12))

    # Trachea: an air column down the midline to the carina.
    trachea = inside(np.abs(x) - f32(0.035), 1.5 * px) * inside(y - f32(heart_top - 0.12), 3 * px)
    attenuation -= f32(0.35) * trachea

    attenuation += _bones(anatomy, canvas, ax)
    attenuation += _lung_markings(anatomy, canvas, lungs, ax, (hilum_x, hilum_y))

    # Stomach gas under the left dome.
    if anatomy.gastric_bubble > 0:
        bubble = dome(ellipse_field(canvas, anatomy.lung_offset * 0.9, anatomy.diaphragm[1] + 0.1, 0.11, 0.06))
        attenuation -= f32(anatomy.gastric_bubble) * bubble
    np.maximum(attenuation, 0.0, out=attenuation)
    return attenuation, lungs


def _bones(anatomy: Anatomy, canvas: Canvas, ax: np.ndarray) -> np.ndarray:
    """Spine, posterior ribs and clavicles (attenuation to add)."""
    y, px = canvas.y, canvas.pixel
    f32 = np.float32
    vertebrae = f32(0.85) + f32(0.15) * np.cos(y * f32(2 * np.pi / 0.11))
    bones = f32(0.3) * inside(ax - f32(0.065), 2 * px) * vertebrae

    # Posterior ribs: arches highest a third of the way out, repeating down the chest. One
    # periodic expression draws all of them on both sides.
    arch = f32(anatomy.rib_curve) * np.square(ax - f32(0.3)) + f32(0.12) * ax
    phase = (y - arch) * f32(1.0 / anatomy.rib_spacing) + f32(anatomy.rib_phase)
    within_rib = np.abs(phase - np.floor(phase) - f32(0.5))
    ribs = np.clip((f32(0.19) - within_rib) * f32(8.0), 0.0, 1.0)
    cage_top, cage_bottom = anatomy.lung_apex - 0.07, anatomy.diaphragm[1] + 0.17
    cage = ellipse_field(
        canvas, 0.0, (cage_top + cage_bottom) / 2, anatomy.thorax_half_width + 0.08, (cage_bottom - cage_top) / 2
    )
    ribs = ribs * inside(cage - f32(1.0), 0.15) * inside(f32(0.07) - ax, 2 * px)  # not over the spine
    bones += f32(0.18) * ribs

    # Clavicles rise from the sternum towards the shoulders.
    line = f32(anatomy.clavicle_y) - f32(0.2) * (ax - f32(0.1))
    clavicle = band(y - line, 0.04) * inside(ax - f32(0.62), 3 * px) * inside(f32(0.06) - ax, 2 * px)
    bones += f32(0.35) * clavicle
    return bones * f32(anatomy.bone)


def _lung_markings(
    anatomy: Anatomy, canvas: Canvas, lungs: list[np.ndarray], ax: np.ndarray, hilum: tuple[float, float]
) -> np.ndarray:
    """Vessel-like lines (ridges of a random field), denser near the hila, only inside the lungs."""
    f32 = np.float32
    field = smooth_noise(canvas, np.random.default_rng(anatomy.texture_seed), 0.09)
    ridges = np.clip(f32(1.0) - np.abs(field) * f32(1.6), 0.0, 1.0)
    ridges = ridges * ridges * ridges  # thin lines where the field crosses zero
    to_hilum = np.sqrt(np.square(ax - f32(hilum[0])) + np.square(canvas.y - f32(hilum[1])))
    return f32(0.2) * ridges * (lungs[0] + lungs[1]) * (f32(0.35) + np.exp(to_hilum * f32(-2.0)))
