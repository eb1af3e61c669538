"""Feature-space realism: Fréchet distance, KID, precision / recall / density / coverage.

Every metric compares a query set with the real training features and is reported twice: for the
synthetic set and, as the reference, for the real test set (real versus real). Both queries hold
the same number of images of each class, in the real test set's class proportions (as many as the
scarcer side allows, at most `max_query` in all): FD and the k-NN metrics depend on sample size, and
in a classifier's feature space a synthetic set sampled class-balanced from imbalanced real data
would otherwise be scored for its class mix, not its images. The reference side is at most
`max_reference` training images.

Intervals: each of `resamples` bootstrap draws resamples both sides with replacement. FD uses the
draw as is, KID and precision/recall/density/coverage its distinct images (a duplicate would be a
perfect neighbour of itself). FD and KID report the full-sample value with the draws' spread
re-centred on it; precision/recall/density/coverage report the mean over draws.
Definitions: Heusel et al. 2017 (FD), Bińkowski et al. 2018 (KID, cubic polynomial kernel,
unbiased), Naeem et al. 2020 (density and coverage, k nearest neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import pairwise_distances

from synthgen.errors import SynthgenError
from validation.stats import interval

FEATURE_METRICS = ("fd", "kid", "precision", "recall", "density", "coverage")
RESAMPLED_POINT = ("precision", "recall", "density", "coverage")


@dataclass(frozen=True)
class RealismOptions:
    resamples: int = 50
    max_reference: int = 2000
    max_query: int = 2000
    k: int = 5  # nearest neighbours defining the k-NN balls of precision/recall/density/coverage

    def __post_init__(self) -> None:
        if self.resamples < 2 or self.max_reference < 10 or self.max_query < 10 or self.k < 1:
            raise SynthgenError(
                "realism options: resamples must be >= 2, max_reference and max_query >= 10, k >= 1"
            )


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||² + Tr(C_a + C_b - 2 (C_a C_b)^½); the trace of the root from eigenvalues,
    which are real and non-negative for a product of two covariance matrices."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root_trace = np.sqrt(np.clip(np.linalg.eigvals(cov_a @ cov_b).real, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * root_trace)


def kernel_inception_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD² with the kernel k(x, y) = (x·y / d + 1)³."""
    d = a.shape[1]
    k_aa, k_bb, k_ab = ((x @ y.T / d + 1) ** 3 for x, y in ((a, a), (b, b), (a, b)))
    m, n = len(a), len(b)
    within_a = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    return float(within_a + within_b - 2 * k_ab.mean())


def precision_recall_density_coverage(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    k = min(k, len(real) - 1, len(fake) - 1)
    real_radii = np.partition(pairwise_distances(real), k, axis=1)[:, k]  # column 0 is the point itself
    fake_radii = np.partition(pairwise_distances(fake), k, axis=1)[:, k]
    real_to_fake = pairwise_distances(real, fake)
    inside_real = real_to_fake < real_radii[:, None]
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((real_to_fake < fake_radii[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((real_to_fake.min(axis=1) < real_radii).mean()),
    }


def feature_metrics(reference: np.ndarray, query: np.ndarray, k: int) -> dict[str, float]:
    return {
        "fd": frechet_distance(reference, query),
        "kid": kernel_inception_distance(reference, query),
        **precision_recall_density_coverage(reference, query, k),
    }


def class_matched_counts(test_labels: np.ndarray, synthetic_labels: np.ndarray, n_classes: int,
                         max_query: int) -> np.ndarray:
    """Images per class for both queries: the test set's class proportions, as many as both sides have."""
    test_counts = np.bincount(test_labels, minlength=n_classes)
    synthetic_counts = np.bincount(synthetic_labels, minlength=n_classes)
    present = test_counts > 0
    proportions = test_counts / test_counts.sum()
    size = float(min(max_query, len(test_labels), len(synthetic_labels)))
    if np.all(synthetic_counts[present] > 0):  # else a class is missing: match the others as far as possible
        size = min(size, float(np.min(synthetic_counts[present] / proportions[present])))
    return np.minimum(np.floor(proportions * size), np.minimum(test_counts, synthetic_counts)).astype(np.int64)


def feature_realism(
    train: np.ndarray, test: np.ndarray, synthetic: np.ndarray, labels: tuple[np.ndarray, np.ndarray],
    n_classes: int, options: RealismOptions, seed: int,
) -> dict:
    """{"synthetic": {metric: Estimate dict}, "real_test": {...}, "sizes": {...}}; `labels` are the
    class indices of (test, synthetic)."""
    rng = np.random.default_rng([seed, 7])
    reference = _subsample(train, options.max_reference, rng)
    counts = class_matched_counts(*labels, n_classes, options.max_query)
    result: dict = {"sizes": {"reference": len(reference), "query": int(counts.sum()),
                              "query_per_class": [int(c) for c in counts]}}
    test_labels, synthetic_labels = labels
    for name, features, class_of in (("synthetic", synthetic, synthetic_labels), ("real_test", test, test_labels)):
        query = features[_stratified(class_of, counts, rng)]
        point = feature_metrics(reference, query, options.k)
        draws = {metric: [] for metric in FEATURE_METRICS}
        for _ in range(options.resamples):
            r = rng.integers(len(reference), size=len(reference))
            q = rng.integers(len(query), size=len(query))
            draws["fd"].append(frechet_distance(reference[r], query[q]))
            r, q = np.unique(r), np.unique(q)
            draws["kid"].append(kernel_inception_distance(reference[r], query[q]))
            for metric, value in precision_recall_density_coverage(reference[r], query[q], options.k).items():
                draws[metric].append(value)
        result[name] = {metric: _estimate(metric, np.array(values), point[metric]) for metric, values in draws.items()}
    return result


def _estimate(metric: str, draws: np.ndarray, point: float) -> dict:
    if metric in RESAMPLED_POINT:
        return interval(draws, float(draws.mean())).as_dict()
    # A resample's duplicates shrink its effective size and inflate FD, so the draws sit above the
    # full-sample value: keep their spread, re-centred on the value (bias-corrected percentiles).
    return interval(draws - draws.mean() + point, point).as_dict()


def _stratified(class_of: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices: counts[c] rows drawn without replacement from the rows of class c."""
    chosen = [rng.choice(np.flatnonzero(class_of == c), size=n, replace=False) for c, n in enumerate(counts) if n]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def _subsample(features: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if len(features) <= size:
        return features
    return features[np.sort(rng.choice(len(features), size=size, replace=False))]
