"""The built-in chest phantom: determinism, labels, splits, visible findings, bad options."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from PIL import Image

from synthgen.chest_phantom import CLASSES, FINDINGS, Acquisition, PhantomGenerator, phantom, render_patient_images
from synthgen.chest_phantom.anatomy import lung_field
from synthgen.chest_phantom.canvas import canvas_for
from synthgen.chest_phantom.render import render_images
from synthgen.errors import SynthgenError
from synthgen.imageset import MANIFEST_FILE, ImageSet, finding_column
from synthgen.imageset.pngio import decode_png

# A straight-on, noiseless acquisition, so image pixels line up with the anatomy's canvas.
STRAIGHT = Acquisition(
    angle=0.0, shift_x=0.0, shift_y=0.0, zoom=1.0, exposure=1.0, contrast=1.0, brightness=0.0, noise=0.0, noise_seed=0
)


def image_bytes(image_set: ImageSet) -> list[bytes]:
    return [(image_set.root / row["path"]).read_bytes() for row in image_set.rows]


@pytest.fixture(scope="module")
def set_120(tmp_path_factory) -> ImageSet:
    return phantom(tmp_path_factory.mktemp("phantom") / "set", n=120, size=32, seed=7)


# -- determinism ---------------------------------------------------------------------------------
def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    first = phantom(tmp_path / "a", n=30, size=32, seed=3)
    second = phantom(tmp_path / "b", n=30, size=32, seed=3)
    other = phantom(tmp_path / "c", n=30, size=32, seed=4)
    assert (first.root / MANIFEST_FILE).read_bytes() == (second.root / MANIFEST_FILE).read_bytes()
    assert image_bytes(first) == image_bytes(second)
    assert (first.root / MANIFEST_FILE).read_bytes() != (other.root / MANIFEST_FILE).read_bytes()
    assert sum(a != b for a, b in zip(image_bytes(first), image_bytes(other))) == 30


def test_a_larger_set_starts_with_the_images_of_a_smaller_one(tmp_path):
    small = phantom(tmp_path / "small", n=20, size=32, seed=5)
    large = phantom(tmp_path / "large", n=40, size=32, seed=5)
    keys = ("sha256", "label", "patient_id", "source", "acquisition") + tuple(finding_column(f) for f in FINDINGS)
    assert [[row[k] for k in keys] for row in small.rows] == [[row[k] for k in keys] for row in large.rows[:20]]


def test_patient_images_do_not_depend_on_other_patients_or_the_generator_instance():
    one = PhantomGenerator(seed=11, size=32)
    two = PhantomGenerator(seed=11, size=32)
    two.images(two.patient(9))  # using the generator first changes nothing
    for a, b in zip(one.images(one.patient(4)), two.images(two.patient(4))):
        assert np.array_equal(a, b)
    assert not np.array_equal(one.images(one.patient(4))[0], one.images(one.patient(5))[0])


def test_render_patient_images_matches_the_written_pixels(tmp_path):
    image_set = phantom(tmp_path / "set", n=12, size=32, seed=2)
    first = [row for row in image_set.rows if row["patient_id"] == "PH000001"]
    pixels = render_patient_images(0, seed=2, size=32)
    assert len(first) >= 1
    for number, row in enumerate(first):
        assert np.array_equal(decode_png(image_set.root / row["path"]), pixels[number])


# -- counts, labels, patients, splits -----------------------------------------------------------------
def test_exact_count_all_classes_and_a_sound_set(set_120):
    assert len(set_120) == 120
    assert set_120.classes == list(CLASSES) and set_120.findings == list(FINDINGS)
    assert set(row["label"] for row in set_120.rows) == set(CLASSES)
    assert set_120.verify() == []
    assert set_120.info["provenance"]["seed"] == 7 and set_120.info["provenance"]["n"] == 120
    assert Image.open(set_120.root / set_120.rows[0]["path"]).size == (32, 32)


def test_finding_columns_agree_with_the_label(set_120):
    matrix = set_120.finding_matrix()
    for row, positives in zip(set_120.rows, matrix):
        if row["label"] == "normal":
            assert positives.sum() == 0
        else:
            assert positives[FINDINGS.index(row["label"])] == 1
    assert (matrix.sum(axis=1) >= 2).any(), "some patients should have several findings"


def test_patients_have_several_images_with_shared_labels_in_one_split(set_120):
    by_patient = defaultdict(list)
    for row in set_120.rows:
        by_patient[row["patient_id"]].append(row)
    sizes = [len(rows) for rows in by_patient.values()]
    assert max(sizes) >= 3 and np.mean(sizes) > 1.5
    assert all(pid.startswith("PH") and len(pid) == 8 for pid in by_patient)
    for rows in by_patient.values():
        assert len({row["split"] for row in rows}) == 1
        assert len({(row["label"],) + tuple(row[finding_column(f)] for f in FINDINGS) for row in rows}) == 1
        assert [row["acquisition"] for row in rows] == [str(k) for k in range(1, len(rows) + 1)]
    assert {row["split"] for row in set_120.rows} == {"train", "val", "test"}
    images = [decode_png(set_120.root / row["path"]) for row in next(r for r in by_patient.values() if len(r) > 1)]
    assert not np.array_equal(images[0], images[1]), "a patient's images differ in pose, exposure and noise"


def test_tiny_sets_still_hold_every_class(tmp_path):
    image_set = phantom(tmp_path / "tiny", n=5, size=16, seed=0)
    assert sorted(row["label"] for row in image_set.rows) == sorted(CLASSES)


# -- findings are visible -------------------------------------------------------------------------
def paired_images(label: str, patients: int = 24, size: int = 64):
    """(normal, with `label`) straight-on images of the same patients, and their lung masks."""
    generator = PhantomGenerator(seed=1, size=size)
    canvas = canvas_for(size)
    inner = slice(canvas.pad, canvas.pad + size)
    for index in range(patients):
        normal = generator.patient(index, label="normal")
        sick = generator.patient(index, label=label)
        lungs = sum(lung_field(normal.anatomy, canvas, side) for side in (0, 1))[inner, inner] > 0.5
        yield (
            render_images(normal.anatomy, normal.findings, (STRAIGHT,), canvas)[0],
            render_images(sick.anatomy, sick.findings, (STRAIGHT,), canvas)[0],
            lungs,
            sick,
        )


@pytest.mark.parametrize("label", ["consolidation", "effusion"])
def test_lung_opacities_brighten_the_lungs(label):
    gains, areas = [], []
    for normal, sick, lungs, _ in paired_images(label):
        gains.append(sick[lungs].mean() - normal[lungs].mean())
        areas.append(int(((sick - normal)[lungs] > 0.05).sum()))
    assert min(gains) > 0.005 and np.mean(gains) > 0.02
    assert min(areas) >= 40, "each opacity covers a patch of lung at 64²"


def test_nodules_are_bright_spots_in_the_lungs():
    for normal, sick, lungs, _ in paired_images("nodule"):
        assert (sick - normal)[lungs].max() > 0.12


def test_cardiomegaly_widens_the_heart():
    for normal, sick, _, patient in paired_images("cardiomegaly"):
        assert patient.anatomy.cardiothoracic_ratio > 0.5
        assert heart_width(normal, patient.anatomy.heart_y) < 0.9 * heart_width(sick, patient.anatomy.heart_y)


def heart_width(image: np.ndarray, heart_y: float) -> int:
    """Pixels in the bright run across the image centre on the heart's middle row."""
    size = image.shape[0]
    row = image[int((heart_y + 1) / 2 * size)]
    bright = row > (np.percentile(row, 15) + row[size // 2]) / 2
    left = right = size // 2
    while left > 0 and bright[left - 1]:
        left -= 1
    while right < size - 1 and bright[right + 1]:
        right += 1
    return right - left + 1


def test_normal_patients_have_no_findings_and_normal_hearts():
    generator = PhantomGenerator(seed=0, size=32)
    for index in range(40):
        patient = generator.patient(index)
        assert (patient.label == "normal") == (not patient.findings)
        if "cardiomegaly" not in patient.finding_names:
            assert patient.anatomy.cardiothoracic_ratio < 0.5


# -- bit depth, bad options, existing output ----------------------------------------------------------
def test_bit_depth_16_writes_16_bit_pngs(tmp_path):
    image_set = phantom(tmp_path / "deep", n=6, size=32, seed=1, bit_depth=16)
    pixels = decode_png(image_set.root / image_set.rows[0]["path"])
    assert pixels.dtype == np.uint16 and pixels.max() > 255
    assert {row["bit_depth"] for row in image_set.rows} == {"16"}
    eight = render_patient_images(0, seed=1, size=32)[0].astype(np.int64) * 257
    assert np.abs(pixels.astype(np.int64) - eight).max() <= 128  # the same image, finer steps


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"n": 0}, "--n"),
        ({"n": 4}, "--n"),
        ({"size": 8}, "--size"),
        ({"size": 2048}, "--size"),
        ({"seed": -1}, "--seed"),
        ({"val_fraction": 1.5}, "--val-fraction"),
        ({"val_fraction": 0.6, "test_fraction": 0.5}, "--test-fraction"),
        ({"bit_depth": 12}, "--bit-depth"),
        ({"images_per_patient": (0, 3)}, "--images-per-patient"),
        ({"images_per_patient": (4, 2)}, "--images-per-patient"),
    ],
)
def test_bad_options_name_the_option_and_create_nothing(tmp_path, options, named):
    with pytest.raises(SynthgenError, match=named):
        phantom(tmp_path / "out", **{"n": 10, "size": 32, **options})
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(SynthgenError, match="--overwrite"):
        phantom(out, n=5, size=16)
    assert (out / "keep.txt").exists()
    image_set = phantom(out, n=5, size=16, overwrite=True)
    assert len(image_set) == 5 and not (out / "keep.txt").exists()
