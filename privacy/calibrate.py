"""Thresholds that mean something: the `fpr` quantile of held-out real images' distances.

Held-out real images were never trained on, so their distance to the nearest training image is
what "close but not copied" looks like in each space. A synthetic image closer than the `fpr`
quantile of those distances is flagged; by construction about `fpr` of fresh real images would
be flagged too. The flagged count is then tested against that rate (one-sided binomial test), and
the whole distance distribution against the held-out one (one-sided Mann-Whitney U test).

Held-out images of one patient are not independent (follow-ups look alike), and the `fpr` quantile
of a few hundred images from a few dozen patients is uncertain, so the threshold actually used is a
lower confidence bound on that quantile: held-out *patients* are resampled with replacement
(`BOOTSTRAP_ROUNDS` times) and the threshold is the (1 - `CONFIDENCE`) quantile of the resampled
`fpr` quantiles. With many patients it approaches the plain quantile; with few it is safer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synthgen.errors import SynthgenError

FPR_RANGE = (0.0, 0.5)
MIN_TRAIN_IMAGES = 20
PERCENTILES = (1, 5, 25, 50, 75)
SIGNIFICANCE = 0.01
BOOTSTRAP_ROUNDS = 1000
CONFIDENCE = 0.95
_NEVER = 1e6  # stands in for an infinite score (no candidate) so quantiles stay finite


def check_fpr(fpr: float) -> float:
    if not isinstance(fpr, (int, float)) or isinstance(fpr, bool) or not FPR_RANGE[0] < fpr < FPR_RANGE[1]:
        raise SynthgenError(f"--fpr must be a number strictly between 0 and 0.5 (e.g. 0.01), got {fpr!r}")
    return float(fpr)


def min_holdout_images(fpr: float) -> int:
    """Enough held-out images that the fpr quantile lies between two observed distances."""
    return max(MIN_TRAIN_IMAGES, math.ceil(1.0 / fpr))


def check_sizes(n_train: int, n_holdout: int, fpr: float, holdout_name: str) -> None:
    if n_train < MIN_TRAIN_IMAGES:
        raise SynthgenError(
            f"the training side has {n_train} image(s); the audit needs at least {MIN_TRAIN_IMAGES} "
            "to train its encoder and calibrate: pass a larger --train set"
        )
    needed = min_holdout_images(fpr)
    if n_holdout < needed:
        smallest = smallest_fpr(n_holdout)
        supported = (f"the smallest --fpr it supports is {smallest:.3g}" if smallest is not None
                     else f"it supports no --fpr (at least {MIN_TRAIN_IMAGES} images are needed)")
        raise SynthgenError(
            f"{holdout_name} has {n_holdout} held-out image(s); calibrating at --fpr {fpr:g} needs at least "
            f"{needed} (1/fpr): {supported}; pass a larger --holdout set or a larger --fpr"
        )


def smallest_fpr(n_holdout: int) -> float | None:
    """The smallest fpr a holdout of n images can calibrate (1/n, rounded up), None below the minimum."""
    if n_holdout < MIN_TRAIN_IMAGES:
        return None
    return math.ceil(1e4 / n_holdout) / 1e4


def threshold(holdout_distances: np.ndarray, fpr: float) -> float:
    """The fpr quantile of held-out nearest-neighbour distances (linear interpolation)."""
    finite = holdout_distances[np.isfinite(holdout_distances)]
    return float(np.quantile(finite, fpr))


@dataclass(frozen=True)
class Bound:
    """The threshold on held-out scores and how it was reached."""

    threshold: float  # what flags: the patient-bootstrap lower confidence bound
    quantile: float  # the plain fpr quantile of all held-out scores
    patients: int
    images: int

    def as_dict(self) -> dict:
        return {"method": "patient bootstrap lower bound of the fpr quantile", "confidence": CONFIDENCE,
                "rounds": BOOTSTRAP_ROUNDS, "threshold": self.threshold, "plain_quantile": self.quantile,
                "holdout_patients": self.patients, "holdout_images": self.images}


def patient_threshold(scores: np.ndarray, patients: np.ndarray, fpr: float, seed: int = 0) -> Bound:
    """A threshold that about `fpr` of fresh patients' images fall under, at most, with CONFIDENCE."""
    values = np.where(np.isfinite(scores), scores, _NEVER).astype(np.float64)
    _, owner = np.unique(np.asarray(patients, dtype=str), return_inverse=True)
    n_patients = int(owner.max()) + 1 if len(owner) else 0
    order = np.argsort(owner, kind="stable")
    values, owner = values[order], owner[order]
    rng = np.random.default_rng([seed, 11])
    resampled = np.empty(BOOTSTRAP_ROUNDS)
    for round_ in range(BOOTSTRAP_ROUNDS):
        counts = np.bincount(rng.integers(n_patients, size=n_patients), minlength=n_patients)
        resampled[round_] = np.quantile(np.repeat(values, counts[owner]), fpr)
    plain = float(np.quantile(values, fpr))
    lower = float(np.quantile(resampled, 1.0 - CONFIDENCE))
    return Bound(threshold=min(lower, plain), quantile=plain, patients=n_patients, images=len(values))


def percentiles(distances: np.ndarray) -> dict[str, float]:
    finite = distances[np.isfinite(distances)]
    if not len(finite):
        return {f"p{p}": float("nan") for p in PERCENTILES}
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, np.percentile(finite, PERCENTILES))}


@dataclass
class Comparison:
    """Synthetic vs held-out distances in one space (or the union of flags over spaces)."""

    mannwhitney_p: float  # H1: synthetic distances tend to be smaller than held-out ones
    binomial_p: float  # H1: synthetic images are flagged more often than held-out ones

    def as_dict(self) -> dict:
        return {"mannwhitney_u_p_less": self.mannwhitney_p, "binomial_p_greater": self.binomial_p}


def compare(synthetic: np.ndarray, holdout: np.ndarray, n_flagged: int, null_rate: float) -> Comparison:
    from scipy.stats import binomtest, mannwhitneyu

    finite_s, finite_h = synthetic[np.isfinite(synthetic)], holdout[np.isfinite(holdout)]
    u_p = float(mannwhitneyu(finite_s, finite_h, alternative="less").pvalue) if len(finite_s) else 1.0
    rate = min(max(null_rate, 1e-9), 1.0)
    b_p = float(binomtest(int(n_flagged), len(synthetic), rate, alternative="greater").pvalue) if len(synthetic) else 1.0
    return Comparison(u_p, b_p)
