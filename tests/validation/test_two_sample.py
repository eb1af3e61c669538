"""The classifier two-sample test and the Laplacian variance on tiny generated images."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter, laplace

from synthgen.errors import SynthgenError
from validation.image_statistics import high_frequency, laplacian_variance
from validation.two_sample import TwoSampleOptions, per_class_counts, real_quarters, two_sample_test
from validation.verdict import realism_verdict
from tests.fixtures.validation import TINY_TWO_SAMPLE, toy_image


def toy_pool(n: int, seed: int, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    return np.stack([toy_image(rng, int(label), size) for label in labels]).astype(np.float32) / 255, labels


@pytest.fixture(scope="module")
def pools():
    real, real_labels = toy_pool(400, seed=0)
    other, other_labels = toy_pool(200, seed=1)
    return {"real": (real, real_labels, np.array([f"P{i // 2}" for i in range(400)])),  # two images per patient
            "other": (other, other_labels)}


def test_two_real_samples_are_not_told_apart(pools):
    result = two_sample_test(pools["real"], pools["other"], 2, TINY_TWO_SAMPLE, 200, seed=0)
    for test in ("real_vs_synthetic", "real_vs_real"):
        auc = result.summary[test]["auc"]
        assert abs(auc["value"] - 0.5) < 0.12 and auc["low"] < 0.5 < auc["high"], (test, auc)


def test_another_class_mix_alone_is_not_told_apart(pools):
    images, labels = pools["other"]
    mostly_bright = np.r_[np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)[:25]]  # 100 bright : 25 dark
    result = two_sample_test(pools["real"], (images[mostly_bright], labels[mostly_bright]), 2, TINY_TWO_SAMPLE,
                             200, seed=0)
    assert result.summary["per_class"][0] == 12 and result.summary["per_class"][1] >= 12  # both sides matched
    assert abs(result.summary["real_vs_synthetic"]["auc"]["value"] - 0.5) < 0.15


def test_blurred_real_images_are_told_apart_at_once(pools):
    images, labels = pools["other"]
    result = two_sample_test(pools["real"], (gaussian_filter(images, (0, 0.7, 0.7)), labels), 2, TINY_TWO_SAMPLE,
                             200, seed=0)
    assert result.summary["real_vs_synthetic"]["auc"]["value"] > 0.97
    assert abs(result.summary["real_vs_real"]["auc"]["value"] - 0.5) < 0.12


def test_two_sample_test_is_deterministic_and_shows_held_out_synthetic_images(pools):
    images, labels = pools["other"]
    blurred = (gaussian_filter(images, (0, 0.7, 0.7)), labels)
    first = two_sample_test(pools["real"], blurred, 2, TINY_TWO_SAMPLE, 200, seed=3)
    second = two_sample_test(pools["real"], blurred, 2, TINY_TWO_SAMPLE, 200, seed=3)
    assert first.summary == second.summary
    assert np.array_equal(first.most_synthetic, second.most_synthetic)
    assert len(first.most_synthetic) == 10 and len(set(first.most_synthetic.tolist())) == 10
    assert np.all(np.diff(first.most_synthetic_probability) <= 0)


def test_repeats_average_the_runs_of_successive_seeds_and_report_their_spread(pools):
    images, labels = pools["other"]
    blurred = (gaussian_filter(images, (0, 0.7, 0.7)), labels)
    runs = [two_sample_test(pools["real"], blurred, 2, TINY_TWO_SAMPLE, 200, seed=s).summary for s in (3, 4)]
    both = two_sample_test(pools["real"], blurred, 2, TINY_TWO_SAMPLE, 200, seed=3, repeats=2)
    for name in ("real_vs_synthetic", "real_vs_real"):
        values = [run[name]["auc"]["value"] for run in runs]
        auc = both.summary[name]["auc"]
        assert both.summary[name]["per_seed"] == pytest.approx(values, abs=1e-6)
        assert auc["value"] == pytest.approx(np.mean(values), abs=1e-5)  # as_dict rounds to 6 digits
        assert auc["seed_std"] == pytest.approx(np.std(values, ddof=1), abs=1e-5)
        assert auc["low"] <= auc["value"] <= auc["high"]
    assert runs[0]["real_vs_synthetic"]["auc"]["seed_std"] is None  # one run: no spread to report
    first = two_sample_test(pools["real"], blurred, 2, TINY_TWO_SAMPLE, 200, seed=3)
    assert np.array_equal(both.most_synthetic, first.most_synthetic)  # shown from the first seed's run


def test_without_the_reference_only_real_vs_synthetic_is_trained_and_it_is_the_same(pools):
    images, labels = pools["other"]
    blurred = (gaussian_filter(images, (0, 0.7, 0.7)), labels)
    full = two_sample_test(pools["real"], blurred, 2, TINY_TWO_SAMPLE, 0, seed=3, repeats=2)
    steps = []
    alone = two_sample_test(pools["real"], blurred, 2, TINY_TWO_SAMPLE, 0, seed=3, repeats=2,
                            on_step=steps.append, with_reference=False)
    assert alone.summary["real_vs_real"] is None and len(steps) == 2 * TINY_TWO_SAMPLE.steps
    assert alone.summary["real_vs_synthetic"]["per_seed"] == full.summary["real_vs_synthetic"]["per_seed"]


def test_sides_hold_equal_counts_per_class_and_patients_stay_in_one_quarter():
    patients = np.repeat(np.arange(50), 3)
    quarters = real_quarters(patients, np.random.default_rng(0))
    for patient in range(50):
        assert len(set(quarters[patients == patient])) == 1
    assert sorted(np.bincount(quarters).tolist()) == [36, 36, 39, 39]
    real_labels = np.r_[np.zeros(100, int), np.ones(50, int)]  # 2:1 real, balanced synthetic
    counts = per_class_counts(quarters, real_labels, np.r_[np.zeros(30, int), np.ones(30, int)], 2, 2000)
    in_quarter = np.array([np.bincount(real_labels[quarters == q], minlength=2) for q in range(4)])
    assert np.array_equal(counts, np.minimum(in_quarter.min(axis=0), [15, 15]))
    capped = per_class_counts(quarters, real_labels, np.zeros(300, int), 2, 40)
    assert capped[1] == 0 and 2 * capped.sum() <= 40


def test_too_few_images_skip_the_test_with_a_reason(pools):
    real, labels, patients = pools["real"]
    result = two_sample_test((real[:20], labels[:20], patients[:20]), pools["other"], 2, TINY_TWO_SAMPLE, 200, 0)
    assert result.summary["real_vs_synthetic"] is None and "need 10" in result.summary["skipped"]
    assert len(result.most_synthetic) == 0


def test_two_sample_options_reject_nonsense():
    with pytest.raises(SynthgenError, match="max_per_side"):
        TwoSampleOptions(max_per_side=5)


def test_laplacian_variance_equals_scipy_and_follows_sharpness(pools):
    images = pools["other"][0][:8].astype(np.float64)
    expected = [laplace(image, mode="reflect").var() for image in images]
    assert np.allclose(laplacian_variance(images), expected)
    real, labels, _ = pools["real"]
    other, other_labels = pools["other"]
    result = high_frequency((real, labels), {"blurred": (gaussian_filter(other, (0, 0.7, 0.7)), other_labels),
                                             "real_other": (other, other_labels)}, ["dark", "bright"], 50, 0)
    assert result["ratio_to_real_train"]["blurred"]["value"] < 0.5
    assert abs(result["ratio_to_real_train"]["real_other"]["value"] - 1) < 0.1
    histogram = result["log10_histogram"]
    assert len(histogram["edges"]) == 41 and abs(sum(histogram["blurred"]) - 1) < 1e-4


def test_realism_verdict_is_low_when_a_cnn_tells_the_sets_apart():
    estimate = {"value": 1.0, "low": 0.5, "high": 1.5, "seed_std": None}
    feature = {"fd": estimate, "precision": estimate, "coverage": estimate}
    realism = {"synthetic": feature, "real_test": feature}
    reference = {"auc": {"value": 0.5, "low": 0.45, "high": 0.55}}
    obvious = {"real_vs_synthetic": {"auc": {"value": 0.99, "low": 0.98, "high": 1.0}}, "real_vs_real": reference}
    verdict = realism_verdict(realism, obvious)
    assert verdict["level"] == "low" and verdict["fd_level"] == "good" and "LOW REALISM" in verdict["text"]
    assert "AUC 0.99" in verdict["text"]
    grain = {"ratio_to_real_train": {"synthetic": {"value": 3.1}, "real_test": {"value": 0.98}}}
    assert "high-frequency energy 3.10× real (real test 0.98×)" in realism_verdict(realism, obvious, grain)["text"]
    close = {"real_vs_synthetic": {"auc": {"value": 0.53, "low": 0.48, "high": 0.58}}, "real_vs_real": reference}
    assert realism_verdict(realism, close)["level"] == "good"
    between = {"real_vs_synthetic": {"auc": {"value": 0.7, "low": 0.65, "high": 0.75}}, "real_vs_real": reference}
    assert realism_verdict(realism, between)["level"] == "moderate"
    assert realism_verdict(realism, {"real_vs_synthetic": None})["level"] == "good"
