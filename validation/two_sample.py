"""Classifier two-sample test: can a small CNN tell the synthetic images from real ones?

Lopez-Paz & Oquab 2017 ("Revisiting classifier two-sample tests"): train a classifier to separate
two samples on half of each and score it on the other halves. A held-out ROC-AUC of 0.5 means the
network found nothing that tells the samples apart; 1.0 means every image gives itself away.

Two tests with the same network, recipe, seed and sizes, so they differ only in the second sample:

    real vs synthetic   real quarter Q0 (fit) and Q1 (held out) against synthetic fit / held-out halves
    real vs real        Q0 (fit) and Q1 (held out) against Q2 (fit) and Q3 (held out): the reference

Real images are dealt to the four quarters by patient (every image of a patient in one quarter),
so the network cannot recognise a held-out real image by a patient it fitted. Every side holds the
same number of images of each class (the smallest quarter's count, and half the synthetic count),
so the test measures realism, not class mix. Held-out AUC intervals: bootstrap over held-out images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from synthgen.errors import SynthgenError
from validation.classifier import Recipe, predict, train_classifier
from validation.stats import bootstrap_weights, interval, weighted_auc

MIN_HELD_OUT = 10  # held-out images per side below which no AUC is reported


@dataclass(frozen=True)
class TwoSampleOptions:
    max_per_side: int = 2000  # real images (fit + held out) and as many synthetic, at most
    steps: int = 300  # fixed: real vs real stays at 0.5, a clearly different set reaches 1.0 (tests)
    width: int = 8
    batch_size: int = 64
    learning_rate: float = 3e-3
    most_synthetic: int = 10  # held-out synthetic images shown as the easiest to spot

    def __post_init__(self) -> None:
        if self.max_per_side < 4 * MIN_HELD_OUT or self.steps < 1 or self.most_synthetic < 0:
            raise SynthgenError(f"two-sample options: max_per_side must be >= {4 * MIN_HELD_OUT}, steps >= 1, "
                                "most_synthetic >= 0")

    def recipe(self) -> Recipe:
        # No brightness/contrast jitter: a global intensity difference is part of what the test should find.
        return Recipe(width=self.width, steps=self.steps, batch_size=self.batch_size,
                      learning_rate=self.learning_rate, intensity_jitter=0.0)


@dataclass(frozen=True)
class TwoSampleResult:
    summary: dict  # metrics.json `two_sample` (without manifest rows; see validation.api)
    most_synthetic: np.ndarray  # positions in the synthetic array, most obviously synthetic first
    most_synthetic_probability: np.ndarray  # the network's P(synthetic) of each


def real_quarters(patients: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Quarter (0-3) of each real image: patients in a seeded random order, dealt round-robin."""
    unique, inverse = np.unique(patients, return_inverse=True)
    quarter_of_patient = np.empty(len(unique), dtype=np.int64)
    quarter_of_patient[rng.permutation(len(unique))] = np.arange(len(unique)) % 4
    return quarter_of_patient[inverse]


def per_class_counts(quarters: np.ndarray, real_labels: np.ndarray, synthetic_labels: np.ndarray,
                     n_classes: int, max_per_side: int) -> np.ndarray:
    """Images of each class in every half-side (fit or held out, real or synthetic)."""
    in_quarter = np.array([np.bincount(real_labels[quarters == q], minlength=n_classes) for q in range(4)])
    counts = np.minimum(in_quarter.min(axis=0), np.bincount(synthetic_labels, minlength=n_classes) // 2)
    if 2 * counts.sum() > max_per_side:
        counts = np.floor(counts * max_per_side / (2 * counts.sum())).astype(np.int64)
    return counts


def two_sample_test(
    real: tuple[np.ndarray, np.ndarray, np.ndarray],
    synthetic: tuple[np.ndarray, np.ndarray],
    n_classes: int,
    options: TwoSampleOptions,
    resamples: int,
    seed: int,
    on_step: Callable[[int], None] | None = None,
    repeats: int = 1,
    with_reference: bool = True,
) -> TwoSampleResult:
    """`real` = (images, labels, patient ids), `synthetic` = (images, labels); images float32 (N, H, W).
    With `repeats` > 1 the test runs with seeds seed, seed + 1, ...: each deals the real patients, draws
    the synthetic halves and starts the CNN anew (one run's AUC moves by ±0.02-0.03 with these alone); the
    AUC is their mean, its interval the bootstrap of that mean, `seed_std` their spread. Trains 2 ×
    `repeats` networks of `options.steps` steps (`on_step` is called after every step); without
    `with_reference`, half of them: no real-vs-real test (its summary entry is None)."""
    runs = [_one_test(real, synthetic, n_classes, options, resamples, seed + r, on_step, with_reference)
            for r in range(repeats)]
    skipped = next((run for run in runs if "skipped" in run[0]), None)
    if skipped is not None:
        return TwoSampleResult(skipped[0], skipped[1], skipped[2])
    summary, first = dict(runs[0][0]), runs[0]
    for name in ("real_vs_synthetic", "real_vs_real"):
        if name not in runs[0][3]:
            summary[name] = None
            continue
        values = [run[3][name][0] for run in runs]
        draws = np.mean([run[3][name][1] for run in runs], axis=0)
        spread = float(np.std(values, ddof=1)) if repeats > 1 else None
        summary[name] = {"auc": interval(draws, float(np.mean(values)), spread).as_dict()}
        if repeats > 1:
            summary[name]["per_seed"] = [round(v, 6) for v in values]
    return TwoSampleResult(summary, first[1], first[2])


def _one_test(real, synthetic, n_classes: int, options: TwoSampleOptions, resamples: int, seed: int,
              on_step: Callable[[int], None] | None, with_reference: bool = True
              ) -> tuple[dict, np.ndarray, np.ndarray, dict]:
    """One run of the test: (summary without AUCs, most-synthetic rows and P(synthetic), and per test
    (held-out AUC, its bootstrap draws))."""
    real_images, real_labels, patients = real
    synthetic_images, synthetic_labels = synthetic
    rng = np.random.default_rng([seed, 23])
    quarters = real_quarters(patients, rng)
    counts = per_class_counts(quarters, real_labels, synthetic_labels, n_classes, options.max_per_side)
    held_out = int(counts.sum())
    base = {"method": "classifier two-sample test (Lopez-Paz & Oquab 2017)", "steps": options.steps,
            "images_per_half": held_out, "per_class": [int(c) for c in counts]}
    if held_out < MIN_HELD_OUT:
        return ({**base, "skipped": f"only {held_out} image(s) per half-side; need {MIN_HELD_OUT}",
                 "real_vs_synthetic": None, "real_vs_real": None}, np.zeros(0, dtype=np.int64), np.zeros(0), {})
    q = [_pick(np.flatnonzero(quarters == k), real_labels, counts, rng) for k in range(4)]
    synthetic_rows = _pick(np.arange(len(synthetic_labels)), synthetic_labels, 2 * counts, rng)
    synthetic_fit, synthetic_held = _halves(synthetic_rows, synthetic_labels, counts)

    recipe, weights = options.recipe(), bootstrap_weights(2 * held_out, resamples, rng)
    positive = np.r_[np.zeros(held_out, bool), np.ones(held_out, bool)]
    tests = {"real_vs_synthetic": (synthetic_images[synthetic_fit], synthetic_images[synthetic_held]),
             "real_vs_real": (real_images[q[2]], real_images[q[3]])}
    if not with_reference:
        del tests["real_vs_real"]
    scores, aucs = {}, {}
    for name, (other_fit, other_held) in tests.items():
        model = train_classifier(np.concatenate([real_images[q[0]], other_fit]), positive.astype(np.int64), 2,
                                 recipe, seed, on_step)
        scores[name] = predict(model, np.concatenate([real_images[q[1]], other_held]), recipe.eval_batch_size)[:, 1]
        value = float(weighted_auc(scores[name], positive, np.ones((1, len(positive))))[0])
        aucs[name] = (value, weighted_auc(scores[name], positive, weights))
    synthetic_scores = scores["real_vs_synthetic"][held_out:]
    order = np.argsort(-synthetic_scores, kind="stable")[: options.most_synthetic]
    return base, synthetic_held[order], synthetic_scores[order], aucs


def _pick(rows: np.ndarray, labels: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """counts[c] of `rows` of each class c, drawn without replacement, grouped by class."""
    return np.concatenate([rng.choice(rows[labels[rows] == c], size=n, replace=False)
                           for c, n in enumerate(counts) if n]).astype(np.int64)


def _halves(rows: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split rows drawn by `_pick` with 2 * counts into a fit and a held-out half of `counts` per class."""
    fit, held = [], []
    for c, n in enumerate(counts):
        members = rows[labels[rows] == c]
        fit.append(members[:n]), held.append(members[n:])
    return np.concatenate(fit).astype(np.int64), np.concatenate(held).astype(np.int64)
