"""Membership inference: could an attacker holding the synthetic set tell training members apart?

Two attacks per embedding space, each scored as ROC-AUC (0.5: no better than a coin; 1.0: every
member told apart) with a bootstrap 95 % confidence interval:

  - `distance_to_closest_record` (DCR): a candidate image is called a member the closer it lies to
    its nearest synthetic image.
  - `density_ratio` (in the style of DOMIAS, van Breugel et al. 2023): a member is where the
    synthetic set is denser than real images in general. Densities are k-nearest-neighbour
    estimates (log p ∝ -dim · mean log r_j over the j ≤ k nearest); the attacker's reference set of
    real images is one half of the held-out patients; the score mean log r(reference) - mean log
    r(synthetic) ranks like the log density ratio whatever the dimension.

The attacked candidates are the other half of the held-out patients (non-members, never trained
on) and as many training images (members), drawn with the audit's seed. Patients, not images, are
split, so a non-member never finds its own follow-up film in the reference set.
"""

from __future__ import annotations

import numpy as np

from privacy.search import SearchOptions, nearest

DENSITY_NEIGHBOURS = 5
BOOTSTRAP_ROUNDS = 1000
CONFIDENCE = 0.95
MIN_CANDIDATES = 10  # per side: fewer gives an AUC too uncertain to report


def membership_attacks(
    train: np.ndarray,
    holdout: np.ndarray,
    synthetic: np.ndarray,
    train_patients: np.ndarray,
    holdout_patients: np.ndarray,
    search: SearchOptions,
    seed: int,
) -> dict | None:
    """{attack: {auc, ci_low, ci_high}, members, non_members} for one space's vectors; None if too few."""
    rng = np.random.default_rng([seed, 23])
    patients = np.unique(np.asarray(holdout_patients, dtype=str))
    reference_patients = set(rng.permutation(patients)[: len(patients) // 2])
    in_reference = np.array([str(p) in reference_patients for p in holdout_patients], dtype=bool)
    non_members = holdout[~in_reference]
    reference = holdout[in_reference]
    n = min(len(non_members), len(train))
    if n < MIN_CANDIDATES or len(reference) <= DENSITY_NEIGHBOURS or len(synthetic) <= DENSITY_NEIGHBOURS:
        return None
    members = train[np.sort(rng.choice(len(train), size=n, replace=False))]
    non_members = non_members[np.sort(rng.choice(len(non_members), size=n, replace=False))]
    candidates = np.concatenate([members, non_members])
    is_member = np.r_[np.ones(n, bool), np.zeros(n, bool)]

    k = DENSITY_NEIGHBOURS
    to_synthetic = nearest(synthetic, candidates, search, k=k).distances
    to_reference = nearest(reference, candidates, search, k=k).distances
    scores = {
        "distance_to_closest_record": -to_synthetic[:, 0],
        "density_ratio": _log_radius(to_reference) - _log_radius(to_synthetic),
    }
    result = {name: auc_with_interval(score, is_member, seed) for name, score in scores.items()}
    return {**result, "members": n, "non_members": n, "reference_images": int(len(reference)),
            "density_neighbours": k}


def _log_radius(distances: np.ndarray) -> np.ndarray:
    """Mean log distance to the k nearest: minus the log of a k-NN density up to constants (a
    point mass in the synthetic set, a copied member, shows even though only one neighbour is near)."""
    return np.log(np.maximum(distances, 1e-12)).mean(axis=1)


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """ROC-AUC = P(score of a positive > score of a negative), ties counted half (Mann-Whitney)."""
    from scipy.stats import rankdata

    ranks = rankdata(score)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_with_interval(score: np.ndarray, positive: np.ndarray, seed: int) -> dict:
    """AUC and a percentile bootstrap CI (positives and negatives resampled separately)."""
    rng = np.random.default_rng([seed, 29])
    pos, neg = np.flatnonzero(positive), np.flatnonzero(~positive)
    labels = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    rounds = np.empty(BOOTSTRAP_ROUNDS)
    for i in range(BOOTSTRAP_ROUNDS):
        chosen = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        rounds[i] = auc(score[chosen], labels)
    tail = (1 - CONFIDENCE) / 2
    return {"auc": auc(score, positive), "ci_low": float(np.quantile(rounds, tail)),
            "ci_high": float(np.quantile(rounds, 1 - tail))}
