"""Patient-level, class-stratified, seeded train/val/test assignment."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from synthgen.errors import SynthgenError


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    for name, value in (("--val-fraction", val_fraction), ("--test-fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise SynthgenError(f"{name} must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise SynthgenError(
            f"--val-fraction + --test-fraction = {val_fraction + test_fraction:g} leaves no training images; "
            "lower them"
        )


def assign_splits(
    patients: Sequence[str],
    labels: Sequence[str],
    fixed: Sequence[str | None],
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
) -> list[str]:
    """Split per image such that all images of a patient share one split.

    `fixed` holds a split the source already gives (kept as is) or None. Patients without a fixed
    split are grouped by their most common label and each group is shuffled with `seed` and cut
    into test/val/train by patient counts, so class balance carries into every split.
    """
    check_fractions(val_fraction, test_fraction)
    known: dict[str, str] = {}
    for patient, split in zip(patients, fixed):
        if split is None:
            continue
        if known.setdefault(patient, split) != split:
            raise SynthgenError(
                f"one patient's images are in splits {known[patient]!r} and {split!r} of the source; "
                "drop the split column (or pass --resplit) to let synthgen make patient-level splits"
            )
    label_counts: dict[str, Counter] = defaultdict(Counter)
    for patient, label in zip(patients, labels):
        if patient not in known:
            label_counts[patient][label] += 1
    groups: dict[str, list[str]] = defaultdict(list)
    for patient in sorted(label_counts):
        majority = sorted(label_counts[patient].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        groups[majority].append(patient)
    rng = np.random.default_rng(seed)
    assigned = dict(known)
    for label in sorted(groups):
        members = groups[label]
        order = rng.permutation(len(members))
        n_test = round(len(members) * test_fraction)
        n_val = round(len(members) * val_fraction)
        for rank, index in enumerate(order):
            split = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
            assigned[members[index]] = split
    return [assigned[p] for p in patients]
