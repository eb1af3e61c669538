"""The three image sets of a validation (real train, real test, synthetic): choose rows, check, load.

How rows are chosen for each role (also in `synthgen validate --help`):

- `PATH:SPLIT` (e.g. `runs/k64:val`) takes exactly that split of the set, for any role.
- `--real-train` and `--real-test` naming the same folder: real-train is its `train` split and
  real-test its `test` split (its `val` split when it has no test rows).
- Different folders: every row of each set. The synthetic set always uses every row.

A comparison is fair only when the sets share their class names and image size, and the real test
set shares no image (sha256) and no patient (patient_id) with the real training set, and no image
with the synthetic set. Anything else is refused with a SynthgenError naming both sides.

External test sets (`--external-test [NAME=]SET[:SPLIT]`, repeatable): real images from other sites
or intakes, prepared like the data, every row (or SPLIT). Each is checked like the real test set:
same classes and image size as real train, no image or patient shared with it, no image shared
with the synthetic set.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthgen.errors import SynthgenError
from synthgen.imageset import SPLITS, ImageSet
from validation.options import ValidateOptions

log = logging.getLogger(__name__)

ROLES = ("real-train", "real-test", "synthetic", "external-test")
DEFAULT_MIN_PER_CLASS = ValidateOptions.min_per_class


@dataclass(frozen=True)
class Selection:
    """The rows of one image set used in one role."""

    role: str
    image_set: ImageSet
    indices: np.ndarray
    split: str | None  # None: every row

    @property
    def label(self) -> str:
        """How the report names this selection, e.g. `runs/k64 (test split)`."""
        where = f"{self.split} split" if self.split else "all rows"
        return f"{self.image_set.root} ({where})"

    def __len__(self) -> int:
        return len(self.indices)

    def column(self, name: str) -> np.ndarray:
        return np.array([self.image_set.rows[i][name] for i in self.indices])

    def labels(self, classes: list[str]) -> np.ndarray:
        """Class index of each selected row, in the order of `classes` (matched by name)."""
        index = {name: i for i, name in enumerate(classes)}
        return np.array([index[label] for label in self.column("label")], dtype=np.int64)

    def pixels(self) -> np.ndarray:
        """float32 (N, H, W) in [0, 1]."""
        return self.image_set.load_pixels(self.indices)

    def summary(self, classes: list[str]) -> dict:
        counts = np.bincount(self.labels(classes), minlength=len(classes))
        return {
            "path": str(self.image_set.root),
            "name": self.image_set.name,
            "kind": self.image_set.kind,
            "split": self.split,
            "images": len(self),
            "patients": int(len(set(self.column("patient_id")))),
            "by_class": {name: int(n) for name, n in zip(classes, counts)},
            "manifest_sha256": self.image_set.manifest_sha256,
        }


@dataclass(frozen=True)
class ValidationData:
    """Checked selections plus their pixels and labels (class order of the real training set)."""

    classes: list[str]
    image_size: int
    real_train: Selection
    real_test: Selection
    synthetic: Selection
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    synthetic_images: np.ndarray
    synthetic_labels: np.ndarray
    synthetic_copies_of_train: int  # synthetic images byte-identical to a real training image

    def summary(self) -> dict:
        return {
            "classes": self.classes,
            "image_size": self.image_size,
            "real_train": self.real_train.summary(self.classes),
            "real_test": self.real_test.summary(self.classes),
            "synthetic": self.synthetic.summary(self.classes),
            "synthetic_copies_of_train": self.synthetic_copies_of_train,
        }


def split_argument(value: str | Path) -> tuple[Path, str | None]:
    """`PATH` or `PATH:SPLIT` -> (path, split or None). An existing folder wins over the suffix."""
    path = Path(value)
    if path.is_dir():
        return path, None
    head, sep, tail = str(value).rpartition(":")
    if sep and head and tail in SPLITS:
        return Path(head), tail
    return path, None


def select(value: str | Path, role: str, same_folder_as_other_real: bool = False) -> Selection:
    """Open one set and choose its rows for `role` (see the module docstring for the rules)."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {ROLES}")
    path, split = split_argument(value)
    image_set = ImageSet.open(path)
    if split is None and same_folder_as_other_real:
        candidates = ("train",) if role == "real-train" else ("test", "val")
        split = next((name for name in candidates if len(image_set.indices(name))), None)
        if split is None:
            raise SynthgenError(
                f"--{role} {path}: the set has no {' or '.join(candidates)} rows to use; "
                f"pass a separate set or PATH:SPLIT"
            )
    indices = image_set.indices(split)
    if len(indices) == 0:
        raise SynthgenError(f"--{role} {value}: no images selected (split {split} is empty); choose another split")
    return Selection(role, image_set, indices, split)


def load_validation_data(
    real_train: str | Path,
    real_test: str | Path,
    synthetic: str | Path,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
) -> ValidationData:
    """Choose, check and load the three sets; every problem is a SynthgenError naming the fix."""
    if min_per_class < 2:
        raise SynthgenError(f"min_per_class must be at least 2 (an ROC-AUC needs both outcomes), got {min_per_class}")
    same = _same_folder(real_train, real_test)
    train = select(real_train, "real-train", same)
    test = select(real_test, "real-test", same)
    synth = select(synthetic, "synthetic")
    classes = train.image_set.classes
    check_same_classes(train, test, synth)
    check_same_size(train, test, synth)
    check_no_overlap(train, test)
    check_no_image_overlap(synth, test)
    for selection in (test, synth, train):
        check_enough_per_class(selection, classes, min_per_class)
    if synth.image_set.kind != "synthetic":
        log.warning("--synthetic %s is a %s image set: validating it as if it were synthetic",
                    synth.image_set.root, synth.image_set.kind)
    copies = len(set(synth.column("sha256")) & set(train.column("sha256")))
    if copies:
        log.warning("%d synthetic image(s) are byte-identical to real training images", copies)
    return ValidationData(
        classes=classes,
        image_size=train.image_set.image_size,
        real_train=train,
        real_test=test,
        synthetic=synth,
        train_images=train.pixels(),
        train_labels=train.labels(classes),
        test_images=test.pixels(),
        test_labels=test.labels(classes),
        synthetic_images=synth.pixels(),
        synthetic_labels=synth.labels(classes),
        synthetic_copies_of_train=copies,
    )


@dataclass(frozen=True)
class ExternalTest:
    """One checked external test set: its name in the report, its rows, pixels and labels."""

    name: str
    selection: Selection
    images: np.ndarray
    labels: np.ndarray


def external_test_spec(value: str | Path) -> tuple[str, str]:
    """`[NAME=]SET[:SPLIT]` -> (name, `SET[:SPLIT]`); the name defaults to the set's folder name."""
    text = str(value)
    name, sep, rest = text.partition("=")
    if sep and name and "/" not in name and not Path(text).exists():
        return name, rest
    path, split = split_argument(text)
    return path.name + (f"-{split}" if split else ""), text


def load_external_tests(values: Sequence[str | Path], data: ValidationData,
                        min_per_class: int = DEFAULT_MIN_PER_CLASS) -> list[ExternalTest]:
    """Choose, check and load every external test set against the loaded validation data."""
    tests, names = [], set()
    for value in values:
        name, where = external_test_spec(value)
        if name in names:
            raise SynthgenError(f"--external-test {value}: the name {name!r} is used twice; "
                                "name each set (NAME=SET)")
        names.add(name)
        selection = select(where, "external-test")
        check_same_classes(data.real_train, selection)
        check_same_size(data.real_train, selection)
        check_no_overlap(data.real_train, selection)
        check_no_image_overlap(data.synthetic, selection)
        check_enough_per_class(selection, data.classes, min_per_class)
        tests.append(ExternalTest(name, selection, selection.pixels(), selection.labels(data.classes)))
    return tests


def _same_folder(a: str | Path, b: str | Path) -> bool:
    (path_a, split_a), (path_b, split_b) = split_argument(a), split_argument(b)
    return split_a is None and split_b is None and path_a.resolve() == path_b.resolve()


def check_same_classes(*selections: Selection) -> None:
    reference = selections[0]
    for other in selections[1:]:
        if set(other.image_set.classes) != set(reference.image_set.classes):
            raise SynthgenError(
                f"class names differ: --{reference.role} {reference.image_set.root} has "
                f"{reference.image_set.classes}, --{other.role} {other.image_set.root} has "
                f"{other.image_set.classes}; validate sets with the same classes"
            )


def check_same_size(*selections: Selection) -> None:
    sizes = {s.image_set.image_size for s in selections}
    if len(sizes) > 1:
        listed = ", ".join(f"--{s.role} {s.image_set.root} {s.image_set.image_size}²" for s in selections)
        raise SynthgenError(
            f"image sizes differ ({listed}); re-create the sets at one size (synthgen prepare --size N)"
        )


def check_no_overlap(train: Selection, test: Selection) -> None:
    """A test set sharing images or patients with training would overstate every real score."""
    shared_images = sorted(set(train.column("sha256")) & set(test.column("sha256")))
    if shared_images:
        raise SynthgenError(
            f"--{test.role} {test.label} shares {len(shared_images)} image(s) with --real-train "
            f"{train.label} (same sha256, e.g. {shared_images[0][:12]}…); use disjoint sets or splits"
        )
    shared_patients = sorted(set(train.column("patient_id")) & set(test.column("patient_id")))
    if shared_patients:
        raise SynthgenError(
            f"--{test.role} {test.label} shares {len(shared_patients)} patient(s) with --real-train "
            f"{train.label} (e.g. {shared_patients[0]}); use patient-level splits (synthgen prepare)"
        )


def check_no_image_overlap(synthetic: Selection, test: Selection) -> None:
    """Synthetic patient IDs are generated, so only images (sha256) can be compared across them."""
    shared = sorted(set(synthetic.column("sha256")) & set(test.column("sha256")))
    if shared:
        raise SynthgenError(
            f"--synthetic {synthetic.label} contains {len(shared)} image(s) of --{test.role} {test.label} "
            f"(same sha256, e.g. {shared[0][:12]}…); a model trained on them would be tested on its training data"
        )


def check_enough_per_class(selection: Selection, classes: list[str], minimum: int) -> None:
    counts = np.bincount(selection.labels(classes), minlength=len(classes))
    short = [f"{name} ({n})" for name, n in zip(classes, counts) if n < minimum]
    if short:
        raise SynthgenError(
            f"--{selection.role} {selection.label}: too few images of class {', '.join(short)}; "
            f"at least {minimum} per class are needed for an ROC-AUC with a confidence interval"
        )
