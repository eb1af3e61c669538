"""Validation building blocks: bootstrap metrics, realism metrics, pixel statistics, classifier."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from synthgen.errors import SynthgenError
from validation.classifier import Recipe, predict, train_classifier
from validation.image_statistics import diversity, histogram_wasserstein, image_histograms, ms_ssim_settings, pair_ms_ssim
from validation.realism import (
    RealismOptions,
    class_matched_counts,
    feature_realism,
    frechet_distance,
    kernel_inception_distance,
    precision_recall_density_coverage,
)
from validation.regimes import low_data_subset, plan_regimes
from validation.stats import bootstrap_weights, classification_scores, paired_difference, weighted_auc
from validation.verdict import diversity_verdict


def test_weighted_auc_matches_sklearn_with_ties_and_weights():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, 200) / 5.0  # many ties
    truth = rng.random(200) < 0.3 + 0.4 * scores
    counts = rng.integers(0, 4, size=(3, 200)).astype(float)
    got = weighted_auc(scores, truth, np.vstack([np.ones(200), counts]))
    assert got[0] == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)
    for row, weights in zip(got[1:], counts):
        assert row == pytest.approx(roc_auc_score(truth, scores, sample_weight=weights), abs=1e-12)


def test_classification_scores_match_sklearn():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 150)
    probs = rng.dirichlet(np.ones(3), 150) + np.eye(3)[labels] * 0.3
    probs /= probs.sum(axis=1, keepdims=True)
    scores = classification_scores(probs, labels, ["a", "b", "c"], np.ones((1, 150)))
    predicted = probs.argmax(axis=1)
    assert scores["accuracy"][0] == pytest.approx(accuracy_score(labels, predicted))
    assert scores["f1_macro"][0] == pytest.approx(f1_score(labels, predicted, average="macro"))
    assert scores["f1_b"][0] == pytest.approx(f1_score(labels == 1, predicted == 1))
    assert scores["auc_macro"][0] == pytest.approx(roc_auc_score(labels, probs, multi_class="ovr", average="macro"))


def test_paired_difference_separates_a_real_gap_from_none():
    rng = np.random.default_rng(2)
    base = rng.normal(0.8, 0.01, 500)
    better = paired_difference(base + 0.05, base, 0.05)
    same = paired_difference(base + rng.normal(0, 0.001, 500), base, 0.0)
    assert better["p_value"] == 0 and better["difference"]["low"] == pytest.approx(0.05)
    assert same["p_value"] > 0.5
    weights = bootstrap_weights(40, 7, rng)
    assert weights.shape == (7, 40) and np.all(weights.sum(axis=1) == 40)


def test_frechet_distance_equals_the_sqrtm_formula_and_is_zero_for_one_set():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(400, 6)), rng.normal(size=(300, 6)) @ np.diag([1, 2, 1, 1, 0.5, 1]) + 1.0
    mu_a, mu_b, cov_a, cov_b = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * scipy.linalg.sqrtm(cov_a @ cov_b).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_kid_is_the_unbiased_mmd_of_the_cubic_kernel():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)) + 0.5
    k = lambda x, y: (x @ y / 3 + 1) ** 3  # noqa: E731
    within_a = sum(k(a[i], a[j]) for i in range(5) for j in range(5) if i != j) / 20
    within_b = sum(k(b[i], b[j]) for i in range(4) for j in range(4) if i != j) / 12
    across = sum(k(x, y) for x in a for y in b) / 20
    assert kernel_inception_distance(a, b) == pytest.approx(within_a + within_b - 2 * across)
    same = rng.normal(size=(800, 3))
    assert abs(kernel_inception_distance(same[:400], same[400:])) < 0.05


def test_prdc_is_perfect_for_the_same_points_and_zero_for_distant_ones():
    real = np.random.default_rng(5).normal(size=(200, 4))
    same = precision_recall_density_coverage(real, real + 1e-9, k=5)
    assert same["precision"] == 1.0 and same["recall"] == 1.0 and same["coverage"] == 1.0
    assert 1.0 <= same["density"] <= 1.2  # each point's own ball, its k-1 neighbours, ties at the k-th
    far = precision_recall_density_coverage(real, real + 100.0, k=5)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_class_matched_counts_follow_the_test_mix_within_both_sides():
    test = np.repeat([0, 1], [25, 75])
    balanced = np.repeat([0, 1], [100, 100])
    assert list(class_matched_counts(test, balanced, 2, max_query=2000)) == [25, 75]
    assert list(class_matched_counts(test, np.repeat([0, 1], [200, 30]), 2, max_query=2000)) == [10, 30]
    assert list(class_matched_counts(test, balanced, 2, max_query=40)) == [10, 30]
    # class 0 missing from the synthetic set: the others keep their share of a query of min(100, 50)
    assert list(class_matched_counts(test, np.repeat([1], 50), 2, max_query=2000)) == [0, 37]


def test_a_class_balanced_sample_of_real_features_scores_like_real():
    # Two well separated classes, 1:3 in real data; the "synthetic" set is more real draws, 1:1.
    rng = np.random.default_rng(3)

    def draw(counts):
        labels = np.repeat([0, 1], counts)
        return rng.normal(size=(len(labels), 8)) + 6.0 * labels[:, None], labels

    train, _ = draw([500, 1500])
    test, test_labels = draw([100, 300])
    synthetic, synthetic_labels = draw([400, 400])
    options = RealismOptions(resamples=5, max_reference=2000)
    result = feature_realism(train, test, synthetic, (test_labels, synthetic_labels), 2, options, seed=0)
    assert result["sizes"]["query_per_class"] == [100, 300]
    real_fd, synthetic_fd = result["real_test"]["fd"]["value"], result["synthetic"]["fd"]["value"]
    assert synthetic_fd < 2 * real_fd + 0.5  # unmatched, the class mix alone costs FD ≈ 0.25² · 6² · 8 ≈ 18
    assert frechet_distance(train, synthetic) > 10


def test_histogram_wasserstein_matches_scipy():
    rng = np.random.default_rng(6)
    images = rng.beta(2, 5, (10, 8, 8))
    hist = image_histograms(images)
    assert hist.shape == (10, 64) and np.all(hist.sum(axis=1) == 64)
    centers = (np.arange(64) + 0.5) / 64
    a, b = hist[:5].sum(0), hist[5:].sum(0)
    assert histogram_wasserstein(a, b) == pytest.approx(
        scipy.stats.wasserstein_distance(centers, centers, a, b), abs=1e-12)


def test_ms_ssim_settings_fit_the_image_side_and_identical_images_score_one():
    assert ms_ssim_settings(16) == (3, pytest.approx((0.0448 / 0.6305, 0.2856 / 0.6305, 0.3001 / 0.6305)))
    assert [len(ms_ssim_settings(s)[1]) for s in (32, 64, 128, 256)] == [4, 4, 5, 5]
    image = np.random.default_rng(7).random((1, 32, 32)).astype(np.float32)
    scores = pair_ms_ssim(np.repeat(image, 4, axis=0), 6, np.random.default_rng(0))
    assert np.allclose(scores, 1.0, atol=1e-5)


def test_a_collapsed_set_gets_a_low_diversity_verdict_naming_the_class_and_a_varied_one_a_good_one():
    rng = np.random.default_rng(3)
    smooth = lambda n: torch.nn.functional.avg_pool2d(torch.from_numpy(rng.random((n, 1, 32, 32))), 5, 1, 2)[:, 0].numpy()
    real, varied = smooth(40), smooth(40)
    collapsed = np.concatenate([smooth(1).repeat(20, axis=0), real[20:]])  # class 0: one image 20 times
    collapsed[:20] += rng.normal(0, 0.01, collapsed[:20].shape)
    labels = np.repeat([0, 1], 20)
    sets = {"real_train": (real.astype(np.float32), labels)}
    low = diversity_verdict(diversity({**sets, "synthetic": (collapsed.astype(np.float32), labels)}, ["a", "b"], 60, 50, 0))
    assert (low["level"], low["worst_class"]) == ("low", "a") and low["ratio"] > 1.5
    assert "LOW DIVERSITY" in low["text"] and "class a" in low["text"]
    good = diversity_verdict(diversity({**sets, "synthetic": (varied.astype(np.float32), labels)}, ["a", "b"], 60, 50, 0))
    assert good["level"] == "good" and good["ratio"] < 1.05
    assert diversity_verdict({"a": {"real_train": {"value": 0.5}}})["level"] == "inconclusive"


def test_low_data_subset_is_stratified_and_seeded():
    labels = np.array([0] * 40 + [1] * 10)
    subset = low_data_subset(labels, 0.1, seed=3)
    assert np.bincount(labels[subset]).tolist() == [4, 1]
    assert np.array_equal(subset, low_data_subset(labels, 0.1, seed=3))
    assert not np.array_equal(subset, low_data_subset(labels, 0.1, seed=4))
    assert [r.name for r in plan_regimes((0.25, 0.1))] == ["TRTR", "TSTR", "TRTS", "R+S", "R10", "R10+S", "R25", "R25+S"]
    with pytest.raises(SynthgenError, match="between 0 and 1"):
        plan_regimes((1.5,))


def test_recipe_rejects_bad_options_naming_them():
    with pytest.raises(SynthgenError, match="network 'vgg'"):
        Recipe(network="vgg")
    with pytest.raises(SynthgenError, match="steps"):
        Recipe(steps=0)


def test_classifier_learns_a_separable_task_and_is_deterministic():
    rng = np.random.default_rng(8)
    labels = np.arange(64) % 2
    images = (rng.random((64, 16, 16)) * 0.3 + labels[:, None, None] * 0.5).astype(np.float32)
    recipe = Recipe(width=4, steps=30, batch_size=16)
    model = train_classifier(images, labels, 2, recipe, seed=0)
    probs = predict(model, images)
    assert roc_auc_score(labels, probs[:, 1]) > 0.95
    again = train_classifier(images, labels, 2, recipe, seed=0)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
