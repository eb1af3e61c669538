"""Bootstrap confidence intervals and paired tests for classifier scores.

A bootstrap resample of a test set is a vector of counts (how often each test image is drawn), so
every metric is computed as a weighted metric for all resamples at once: one sort per score column
instead of thousands of sklearn calls. The point estimates (unit weights) equal sklearn's
`roc_auc_score`, `accuracy_score` and `f1_score` (zero_division=0); the tests check that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A value with its 95 % bootstrap interval (and the spread over training seeds, when any)."""

    value: float
    low: float
    high: float
    seed_std: float | None = None

    def as_dict(self) -> dict:
        return {k: (None if v is None or not np.isfinite(v) else round(float(v), 6)) for k, v in asdict(self).items()}


def bootstrap_weights(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples, n) draw counts of a bootstrap over n items."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)


def interval(samples: np.ndarray, value: float, seed_std: float | None = None) -> Estimate:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return Estimate(float(value), float("nan"), float("nan"), seed_std)
    low, high = np.percentile(finite, [2.5, 97.5])
    return Estimate(float(value), float(low), float(high), seed_std)


def weighted_auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC of `scores` for the 0/1 `positive` labels under each row of `weights` (B, N) -> (B,).

    AUC = P(score of a positive > score of a negative) + 0.5 P(tie), with items counted by weight.
    """
    order = np.argsort(scores, kind="mergesort")
    s, pos, w = scores[order], positive[order].astype(bool), weights[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # first index of each group of tied scores
    group = np.cumsum(np.r_[True, s[1:] != s[:-1]]) - 1
    neg_per_group = np.add.reduceat(w * ~pos, starts, axis=1)
    below = np.cumsum(neg_per_group, axis=1) - neg_per_group  # negatives strictly lower
    credit = below + 0.5 * neg_per_group  # ties count half
    w_pos = w * pos
    n_pos, n_neg = w_pos.sum(axis=1), (w * ~pos).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w_pos * credit[:, group]).sum(axis=1) / (n_pos * n_neg)


def classification_scores(
    probs: np.ndarray, labels: np.ndarray, classes: list[str], weights: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-class and macro ROC-AUC and F1, and accuracy, each a (B,) array for weights (B, N)."""
    predicted = probs.argmax(axis=1)
    total = weights.sum(axis=1)
    scores: dict[str, np.ndarray] = {"accuracy": weights @ (predicted == labels) / total}
    aucs, f1s = [], []
    for c, name in enumerate(classes):
        truth, guess = labels == c, predicted == c
        aucs.append(weighted_auc(probs[:, c], truth, weights))
        tp, fp, fn = weights @ (truth & guess), weights @ (~truth & guess), weights @ (truth & ~guess)
        denominator = 2 * tp + fp + fn
        f1s.append(np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0))
        scores[f"auc_{name}"], scores[f"f1_{name}"] = aucs[-1], f1s[-1]
    scores["auc_macro"] = np.mean(aucs, axis=0)
    scores["f1_macro"] = np.mean(f1s, axis=0)
    return scores


def paired_difference(samples: np.ndarray, reference: np.ndarray, value: float) -> dict:
    """CI of (metric - reference metric) over shared resamples and a two-sided bootstrap p-value."""
    diff = samples - reference
    finite = diff[np.isfinite(diff)]
    p = min(1.0, 2 * min(np.mean(finite <= 0), np.mean(finite >= 0))) if finite.size else float("nan")
    return {"difference": interval(diff, value).as_dict(), "p_value": round(float(p), 6)}
