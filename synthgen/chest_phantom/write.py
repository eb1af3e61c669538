"""`synthgen phantom`: write a phantom image set with patient-level splits."""

from __future__ import annotations

import logging
import numbers
from collections.abc import Callable
from pathlib import Path

from synthgen import __version__
from synthgen.chest_phantom.findings import CLASSES, FINDINGS
from synthgen.chest_phantom.generator import PhantomGenerator
from synthgen.chest_phantom.provenance import PhantomParameters, PhantomProvenance
from synthgen.chest_phantom.render import BIT_DEPTHS
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet, ImageSetWriter
from synthgen.splits import assign_splits, check_fractions

log = logging.getLogger(__name__)

MIN_SIZE, MAX_SIZE = 16, 1024
MAX_IMAGES_PER_PATIENT = 16
DEFAULT_IMAGES = 600  # `synthgen phantom --n` and a run config's phantom `prepare.n`


def phantom(
    out: Path | str,
    *,
    n: int = DEFAULT_IMAGES,
    size: int = 64,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    images_per_patient: tuple[int, int] = (1, 4),
    bit_depth: int = 8,
    overwrite: bool = False,
    on_image: Callable[[], None] | None = None,
) -> ImageSet:
    """Write `n` procedural chest radiographs of synthetic patients to the image set `out`.

    Labels: classes `normal` + the four findings; each patient has one primary `label` and 0/1
    finding columns (several findings may be present). Each patient has 1-4 images (by default)
    with small pose, exposure and noise changes, all in the same split. The same arguments give
    byte-identical files. `on_image` is called once per image written (for a progress bar).
    """
    check_phantom_options(n, size, seed, val_fraction, test_fraction, images_per_patient, bit_depth)
    generator = PhantomGenerator(seed=seed, size=size, images_per_patient=tuple(images_per_patient))
    plan = generator.plan(n)
    splits = assign_splits(
        [patient.patient_id for patient, _ in plan],
        [patient.label for patient, _ in plan],
        [None] * len(plan),
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
    )
    log.info("phantom: %d images of %d patients at %d² px (seed %d) -> %s", n, len(plan), size, seed, out)
    with ImageSetWriter(
        Path(out),
        name="phantom",
        kind="real",
        classes=CLASSES,
        findings=FINDINGS,
        image_size=size,
        extra_columns=("acquisition",),
        overwrite=overwrite,
    ) as writer:
        for (patient, count), split in zip(plan, splits):
            for number, pixels in enumerate(generator.images(patient, count, bit_depth), start=1):
                writer.add(
                    pixels,
                    label=patient.label,
                    patient_id=patient.patient_id,
                    split=split,
                    source=f"phantom:{patient.patient_id}/{number}",
                    findings=patient.finding_names,
                    extra={"acquisition": number},
                )
                if on_image is not None:
                    on_image()
        writer.finish(PhantomProvenance(
            seed=seed, n=n, size=size, patients=len(plan),
            parameters=PhantomParameters(val_fraction=val_fraction, test_fraction=test_fraction,
                                         images_per_patient=list(images_per_patient), bit_depth=bit_depth),
            synthgen_version=__version__,
        ).to_dict())
    return ImageSet.open(out)


def check_phantom_options(
    n: int,
    size: int,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    images_per_patient: tuple[int, int],
    bit_depth: int,
) -> None:
    """Raise SynthgenError naming the first bad option and how to fix it."""
    if not _is_int(n) or n < len(CLASSES):
        raise SynthgenError(f"--n must be an integer of at least {len(CLASSES)} (one image per class), got {n!r}")
    if not _is_int(size) or not MIN_SIZE <= size <= MAX_SIZE:
        raise SynthgenError(f"--size must be an integer from {MIN_SIZE} to {MAX_SIZE} pixels, got {size!r}")
    if not _is_int(seed) or seed < 0:
        raise SynthgenError(f"--seed must be a non-negative integer, got {seed!r}")
    check_fractions(val_fraction, test_fraction)
    pair = tuple(images_per_patient) if isinstance(images_per_patient, (tuple, list)) else ()
    if len(pair) != 2 or not all(_is_int(v) for v in pair) or not 1 <= pair[0] <= pair[1] <= MAX_IMAGES_PER_PATIENT:
        raise SynthgenError(
            f"--images-per-patient must be two integers MIN MAX with 1 <= MIN <= MAX <= {MAX_IMAGES_PER_PATIENT}, "
            f"got {images_per_patient!r}"
        )
    if bit_depth not in BIT_DEPTHS or not _is_int(bit_depth):
        raise SynthgenError(f"--bit-depth must be 8 or 16, got {bit_depth!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
