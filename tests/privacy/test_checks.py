"""The audit's built-in checks: planted-copy self-test, membership inference, patient linkage, verdict."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from privacy.audit import audit
from privacy.audit_document import SelfTest, SpaceResult
from privacy.linkage import linkage_ratio, patient_linkage
from privacy.membership import auc, membership_attacks
from privacy.registered import _peak
from privacy.report import verdict_reasons
from privacy.search import SearchOptions, nearest
from synthgen.chest_phantom import phantom
from tests.fixtures.privacy import TINY, synthetic_from


def space_result(**fields) -> SpaceResult:
    """A space of audit.json with neutral numbers, `fields` replaced."""
    spread = {"p1": 0.1, "p50": 0.5}
    neutral = dict(flags=True, threshold=0.2, scale=1.0, flagged=0, fraction_flagged=0.0, holdout_fraction_flagged=0.0,
                   synthetic_distance=spread, holdout_distance=spread, nearest_ratio=spread, test={}, search={},
                   membership_inference=None, patient_linkage=None, description={})
    return SpaceResult(**{**neutral, **fields})


@pytest.fixture(scope="module")
def real_set(tmp_path_factory):
    return phantom(tmp_path_factory.mktemp("real") / "set", n=160, size=32, seed=3, val_fraction=0.2, test_fraction=0.2)


def test_every_audit_scores_planted_copies_and_stores_their_recall(real_set, tmp_path):
    synthetic = synthetic_from(real_set, tmp_path / "syn", [int(i) for i in real_set.indices("test")[:8]])
    options = replace(TINY, selftest_copies=40, selftest_floor=0.0)
    result = audit(real_set.root, synthetic.root, tmp_path / "a", fpr=0.2, options=options)
    selftest = result.selftest
    assert selftest.copies == 40 and selftest.floor == 0.0 and selftest.met is True
    assert selftest.recall == pytest.approx(selftest.flagged / 40)
    assert set(selftest.recall_by_space) == {"pixels", "encoder", "registered"}
    flagging = [name for name, space in result.spaces.items() if space.flags]
    assert flagging == ["encoder", "registered"]  # the pixel space only feeds the registered space
    assert max(selftest.recall_by_space[name] for name in flagging) <= selftest.recall
    source_found = selftest.nearest_is_source_by_space
    assert source_found["registered"] >= source_found["pixels"] > 0  # alignment re-ranks the pixel candidates
    assert result.counts.synthetic == 8  # the copies are scored apart, never counted or written
    assert not any("planted" in line for line in (tmp_path / "a" / "pairs.csv").read_text().splitlines())
    again = audit(real_set.root, synthetic.root, tmp_path / "b", fpr=0.2, options=options)
    assert (tmp_path / "a" / "audit.json").read_bytes() == (tmp_path / "b" / "audit.json").read_bytes()
    assert again.selftest == selftest
    timings = json.loads((tmp_path / "a" / "timings.json").read_text())
    assert "encoder_training" in timings["seconds"] and "registered" in timings["seconds"]


def test_verdict_fails_naming_a_selftest_below_its_floor_or_a_strong_attack():
    selftest = SelfTest(copies=300, flagged=285, recall=0.95, floor=0.99, met=False, recall_by_space={},
                        nearest_is_source_by_space={}, alteration={})
    attack = {"auc": 0.71, "ci_low": 0.66, "ci_high": 0.76}
    spaces = {"encoder": space_result(membership_inference={"density_ratio": attack, "members": 10})}
    reasons = verdict_reasons(0.5, selftest, spaces, auc_limit=0.6)
    assert len(reasons) == 2
    assert "self-test flagged 0.950 of 300" in reasons[0] and "floor 0.99" in reasons[0]
    assert "density_ratio, encoder space" in reasons[1] and "0.710" in reasons[1]
    assert verdict_reasons(0.5, replace(selftest, recall=0.99, met=True), spaces, auc_limit=0.7) == []
    assert "binomial p" in verdict_reasons(0.001, None, {}, auc_limit=0.6)[0]


def test_membership_attacks_see_copied_members_and_not_independent_data():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(400, 8)).astype(np.float32)
    holdout = rng.normal(size=(400, 8)).astype(np.float32)
    patients_train, patients_holdout = np.arange(400).astype(str), np.arange(400, 800).astype(str)
    copied = train + 0.01 * rng.normal(size=train.shape).astype(np.float32)  # a memorizing generator
    fresh = rng.normal(size=(400, 8)).astype(np.float32)  # a generator that learned the distribution
    leak = membership_attacks(train, holdout, copied, patients_train, patients_holdout, SearchOptions(), seed=0)
    clean = membership_attacks(train, holdout, fresh, patients_train, patients_holdout, SearchOptions(), seed=0)
    assert leak["members"] == leak["non_members"] == 200 and leak["reference_images"] == 200
    for attack in ("distance_to_closest_record", "density_ratio"):
        assert leak[attack]["auc"] > 0.95
        assert clean[attack]["ci_low"] < 0.5 < clean[attack]["ci_high"]
        assert clean[attack]["ci_low"] <= clean[attack]["auc"] <= clean[attack]["ci_high"]


def test_auc_counts_ties_half():
    assert auc(np.array([1.0, 1.0]), np.array([True, False])) == 0.5
    assert auc(np.array([3.0, 2.0, 1.0]), np.array([True, False, False])) == 1.0


def test_linkage_ratio_uses_the_nearest_other_patient():
    found = nearest(np.array([[0.0], [0.1], [1.0], [3.0]], np.float32), np.array([[0.0]], np.float32), k=3)
    patients = np.array(["a", "a", "b", "c"])  # the two nearest are one patient: the other one is at 1.0
    assert linkage_ratio(found, patients)[0] == pytest.approx(0.0)
    found = nearest(np.array([[0.5], [1.0], [3.0]], np.float32), np.array([[0.0]], np.float32), k=2)
    assert linkage_ratio(found, np.array(["a", "b", "c"]))[0] == pytest.approx(0.5)


def test_linkage_counts_synthetic_images_tied_to_one_training_patient():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(300, 6)).astype(np.float32)
    patients = np.repeat(np.arange(100), 3).astype(str)
    holdout = rng.normal(size=(200, 6)).astype(np.float32)
    near_patients = train[::3][:50] + 0.02 * rng.normal(size=(50, 6)).astype(np.float32)
    synthetic = np.concatenate([near_patients, rng.normal(size=(150, 6)).astype(np.float32)])
    found_s, found_h = nearest(train, synthetic, k=5), nearest(train, holdout, k=5)
    result = patient_linkage(found_s, found_h, patients, fpr=0.05)
    assert result["holdout_linked_fraction"] <= 0.05 + 1e-9
    assert result["linked_fraction"] >= 50 / 200
    assert result["linked_patients"] >= 45 and result["binomial_p_greater"] < 1e-6


def test_peak_finds_the_vertex_between_grid_points():
    import torch

    offsets = torch.arange(-2, 3, dtype=torch.float32)
    # r = 1 - (x - 0.3)² - (y + 0.2)² - 0.01 (a - 0.4)²: the vertex (value 1) lies between grid points.
    a, y, x = torch.meshgrid(offsets[1:4], offsets, offsets, indexing="ij")
    maps = 1 - (x - 0.3) ** 2 - (y + 0.2) ** 2 - 0.01 * (a - 0.4) ** 2
    peak = _peak(maps[None])
    assert float(peak[0]) == pytest.approx(1.0, abs=1e-5)
    assert float(maps.max()) < 0.9  # the best grid point alone misses it


def test_held_out_share_is_continuous_and_inverted_by_distance_at_share():
    from privacy.compare import distance_at_share, held_out_share

    held = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(held_out_share(held, np.array([0.5, 1.0, 1.5, 4.0, 10.0, np.inf])),
                               [0.0625, 0.125, 0.25, 0.875, 1.0, 1.0])
    for share in (0.03, 0.0625, 0.2, 0.6):
        assert held_out_share(held, np.array([distance_at_share(held, share)]))[0] == pytest.approx(share)


def test_union_gives_each_space_an_equal_part_of_the_fpr_budget():
    from types import SimpleNamespace

    from privacy.compare import SpaceResult, calibrated

    rng = np.random.default_rng(5)
    n = 4000
    narrow = rng.uniform(0.9, 1.0, n)  # held-out distances with a sharp edge (a verifying space)
    tailed = rng.lognormal(0.0, 1.0, n)  # a long lower tail (an embedding that puts some strangers close)

    def space(name, holdout):
        return SpaceResult(name, {}, np.zeros(1, np.int64), np.ones(1), np.ones(1), holdout, np.zeros(n, np.int64))

    result = calibrated([space("narrow", narrow), space("tailed", tailed)],
                        SimpleNamespace(patient_ids=np.arange(n).astype(str)), fpr=0.02, rates={})
    per_space = [np.mean(s.holdout_distance < s.threshold) for s in result.spaces]
    assert per_space[0] == pytest.approx(per_space[1], abs=0.003)
    assert np.mean(result.holdout_flagged) <= 0.02


def test_left_out_share_reads_each_held_out_image_against_the_others():
    from privacy.compare import held_out_share, held_out_share_left_out

    held = np.array([4.0, 1.0, 3.0, 2.0, np.inf])
    shares = held_out_share_left_out(held)
    assert shares[4] == 1.0  # no candidate
    others = np.array([2.0, 3.0, 4.0])  # what the held-out image at 1.0 is compared with
    assert shares[1] == pytest.approx(held_out_share(others, np.array([1.0]))[0])
    assert shares[3] == pytest.approx(held_out_share(np.array([1.0, 3.0, 4.0]), np.array([2.0]))[0])
    assert shares[1] < shares[3] < shares[2] < shares[0] == 1.0
