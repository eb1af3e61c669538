from collections import defaultdict

import pytest

from synthgen.errors import SynthgenError
from synthgen.splits import assign_splits


def make_patients(n_patients=200, images=3):
    patients, labels = [], []
    for p in range(n_patients):
        for _ in range(images):
            patients.append(f"p{p}")
            labels.append("sick" if p % 4 == 0 else "well")
    return patients, labels


def test_every_patient_lands_in_exactly_one_split():
    patients, labels = make_patients()
    splits = assign_splits(patients, labels, [None] * len(patients), val_fraction=0.1, test_fraction=0.2, seed=3)
    seen = defaultdict(set)
    for patient, split in zip(patients, splits):
        seen[patient].add(split)
    assert all(len(s) == 1 for s in seen.values())


def test_fractions_are_met_per_class_by_patient_count():
    patients, labels = make_patients()
    splits = assign_splits(patients, labels, [None] * len(patients), val_fraction=0.1, test_fraction=0.2, seed=3)
    per_class = defaultdict(lambda: defaultdict(set))
    for patient, label, split in zip(patients, labels, splits):
        per_class[label][split].add(patient)
    assert {s: len(v) for s, v in per_class["sick"].items()} == {"test": 10, "val": 5, "train": 35}
    assert {s: len(v) for s, v in per_class["well"].items()} == {"test": 30, "val": 15, "train": 105}


def test_same_seed_same_splits_and_other_seed_differs():
    patients, labels = make_patients()
    args = dict(val_fraction=0.1, test_fraction=0.1)
    first = assign_splits(patients, labels, [None] * len(patients), seed=1, **args)
    assert first == assign_splits(patients, labels, [None] * len(patients), seed=1, **args)
    assert first != assign_splits(patients, labels, [None] * len(patients), seed=2, **args)


def test_splits_given_by_the_source_are_kept():
    patients, labels = ["a", "b", "c"], ["x", "x", "x"]
    assert assign_splits(patients, labels, ["test", "val", None], val_fraction=0, test_fraction=0, seed=0) == [
        "test", "val", "train"]


def test_a_patient_in_two_source_splits_is_an_error():
    with pytest.raises(SynthgenError, match="splits 'train' and 'test'.*--resplit"):
        assign_splits(["a", "a"], ["x", "x"], ["train", "test"], val_fraction=0.1, test_fraction=0.1, seed=0)


@pytest.mark.parametrize("val,test", [(-0.1, 0.1), (0.5, 0.5), (1.0, 0.0)])
def test_bad_fractions_are_rejected(val, test):
    with pytest.raises(SynthgenError, match="fraction"):
        assign_splits(["a"], ["x"], [None], val_fraction=val, test_fraction=test, seed=0)
