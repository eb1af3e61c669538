"""Phantom patients: who patient k of a seed is, and the images of any patient, in memory.

Every random choice of patient k comes from `np.random.default_rng([seed, PATIENT_STREAM, k])`,
so a patient (anatomy, findings, acquisitions, pixels) never depends on how many patients are
generated, and the first images of a larger set equal those of a smaller one. Primary labels
are dealt in shuffled blocks of one patient per class, so every class appears as soon as there
are five patients and the classes stay balanced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthgen.chest_phantom.anatomy import Anatomy, sample_anatomy
from synthgen.chest_phantom.canvas import canvas_for
from synthgen.chest_phantom.findings import CLASSES, Finding, apply_to_anatomy, sample_findings
from synthgen.chest_phantom.render import Acquisition, quantize, render_images, sample_acquisition

PATIENT_STREAM = 0  # sub-stream of the seed for patients
LABEL_STREAM = 1  # sub-stream for the label blocks


@dataclass(frozen=True)
class PhantomPatient:
    """One synthetic patient: identity, primary label, anatomy, findings and image acquisitions."""

    index: int
    patient_id: str
    label: str
    anatomy: Anatomy  # as the findings leave it (enlarged heart for cardiomegaly)
    findings: tuple[Finding, ...]
    acquisitions: tuple[Acquisition, ...]

    @property
    def finding_names(self) -> frozenset[str]:
        return frozenset(finding.name for finding in self.findings)


def patient_id(index: int) -> str:
    return f"PH{index + 1:06d}"


class PhantomGenerator:
    """Patients and images of one seed, without writing anything.

        generator = PhantomGenerator(seed=0, size=64)
        patient = generator.patient(3)
        images = generator.images(patient)            # uint8 arrays, one per acquisition
        floats = generator.render(patient)            # float32 in [0, 1]
    """

    def __init__(self, *, seed: int = 0, size: int = 64, images_per_patient: tuple[int, int] = (1, 4)) -> None:
        self.seed = int(seed)
        self.size = int(size)
        self.images_per_patient = (int(images_per_patient[0]), int(images_per_patient[1]))
        self.canvas = canvas_for(self.size)

    def primary_label(self, index: int) -> str:
        block, place = divmod(index, len(CLASSES))
        order = np.random.default_rng([self.seed, LABEL_STREAM, block]).permutation(len(CLASSES))
        return CLASSES[int(order[place])]

    def patient(self, index: int, label: str | None = None) -> PhantomPatient:
        """Patient `index` of this seed. Pass `label` to draw a patient of a chosen class instead
        (same anatomy and acquisitions, findings of that class)."""
        rng = np.random.default_rng([self.seed, PATIENT_STREAM, index])
        anatomy = sample_anatomy(rng)
        low, high = self.images_per_patient
        acquisitions = tuple(sample_acquisition(rng) for _ in range(int(rng.integers(low, high + 1))))
        label = self.primary_label(index) if label is None else label
        if label not in CLASSES:
            raise ValueError(f"label {label!r} is not one of {CLASSES}")
        findings = sample_findings(rng, label, anatomy)
        return PhantomPatient(
            index=index,
            patient_id=patient_id(index),
            label=label,
            anatomy=apply_to_anatomy(anatomy, findings),
            findings=findings,
            acquisitions=acquisitions,
        )

    def plan(self, n: int) -> list[tuple[PhantomPatient, int]]:
        """Patients and how many of their images make a set of exactly `n` images.

        Patients come in index order; the last one may be cut short. For n below 5 × the most
        images per patient, the first five patients are also capped so that all five classes
        fit (for larger n no cap ever applies, so a larger set extends a smaller one).
        """
        chosen: list[tuple[PhantomPatient, int]] = []
        used = 0
        while used < n:
            index = len(chosen)
            patient = self.patient(index)
            # Keep one image for each class still to come in the first block of patients.
            still_needed = max(0, min(len(CLASSES), n) - 1 - index)
            count = min(len(patient.acquisitions), n - used - still_needed)
            chosen.append((patient, count))
            used += count
        return chosen

    def render(self, patient: PhantomPatient, count: int | None = None) -> list[np.ndarray]:
        """Float32 [0, 1] images of a patient (its first `count` acquisitions, all by default)."""
        acquisitions = patient.acquisitions if count is None else patient.acquisitions[:count]
        return render_images(patient.anatomy, patient.findings, acquisitions, self.canvas)

    def images(self, patient: PhantomPatient, count: int | None = None, bit_depth: int = 8) -> list[np.ndarray]:
        """The stored pixels (uint8, or uint16 for bit_depth 16) of a patient's images."""
        return [quantize(image, bit_depth) for image in self.render(patient, count)]


def render_patient_images(
    index: int, *, seed: int = 0, size: int = 64, images_per_patient: tuple[int, int] = (1, 4), bit_depth: int = 8
) -> list[np.ndarray]:
    """Pixels of all images of patient `index` of a seed, exactly as `phantom` writes them."""
    generator = PhantomGenerator(seed=seed, size=size, images_per_patient=images_per_patient)
    return generator.images(generator.patient(index), bit_depth=bit_depth)
