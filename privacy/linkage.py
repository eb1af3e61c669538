"""Patient-level linkage: are synthetic images tied to one training patient more often than real ones?

A near-copy is one risk; another is a synthetic image that is not a copy of any one film but still
looks like one patient (the same anatomy in a new pose). An attacker links an image to the training
patient whose images are nearest when that patient stands out from every other: the linkage
ratio is

    d(nearest training image) / d(nearest training image of any *other* patient)

(small: one patient stands out; among the `k` nearest training images, a query whose neighbours
all belong to one patient takes the k-th distance as the other patient's). Held-out images belong
to no training patient, so any confident link of theirs is wrong: the linkage threshold is the
`fpr` quantile of their ratios, and the measure is how often synthetic images fall under it
(`linked_fraction`) against the held-out rate (`holdout_linked_fraction`, about `fpr`), with a
one-sided binomial test. Where every image is its own patient (PneumoniaMNIST) this is the
nearest / second-nearest image ratio.
"""

from __future__ import annotations

import numpy as np

from privacy.search import Neighbours


def linkage_ratio(found: Neighbours, train_patients: np.ndarray) -> np.ndarray:
    """Per query: nearest distance / distance to the nearest image of another training patient."""
    positions = found.positions
    owners = np.asarray(train_patients, dtype=object)[np.maximum(positions, 0)]
    other = (owners != owners[:, :1]) & (positions >= 0)
    first_other = np.where(other.any(axis=1), other.argmax(axis=1), positions.shape[1] - 1)
    rows = np.arange(len(positions))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = found.distances[:, 0] / found.distances[rows, first_other]
    return np.where(np.isfinite(ratio), ratio, 1.0).astype(np.float64)


def patient_linkage(synthetic: Neighbours, holdout: Neighbours, train_patients: np.ndarray, fpr: float) -> dict | None:
    """Linked shares of synthetic and held-out images at the held-out `fpr` threshold, and the test."""
    from scipy.stats import binomtest

    if not len(synthetic.positions) or not len(holdout.positions):
        return None
    synthetic_ratio = linkage_ratio(synthetic, train_patients)
    holdout_ratio = linkage_ratio(holdout, train_patients)
    threshold = float(np.quantile(holdout_ratio, fpr))
    linked = synthetic_ratio < threshold
    holdout_rate = float(np.mean(holdout_ratio < threshold))
    owners = np.asarray(train_patients, dtype=object)[synthetic.positions[linked, 0]]
    test = binomtest(int(linked.sum()), len(linked), min(max(fpr, 1e-9), 1.0), alternative="greater")
    return {
        "threshold": threshold,
        "linked": int(linked.sum()),
        "linked_fraction": float(linked.mean()),
        "holdout_linked_fraction": holdout_rate,
        "excess": float(linked.mean()) - holdout_rate,
        "linked_patients": int(len(set(owners))),
        "binomial_p_greater": float(test.pvalue),
    }
