"""Thresholds that mean something: the `fpr` quantile of held-out real images' distances.

Held-out real images were never trained on, so their distance to the nearest training image is
what "close but not copied" looks like in each space. A synthetic image closer than the `fpr`
quantile of those distances is flagged; by construction about `fpr` of fresh real images would
be flagged too. The flagged count is then tested against that rate (one-sided binomial test), and
the whole distance distribution against the held-out one (one-sided Mann-Whitney U test).
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
        raise SynthgenError(
            f"{holdout_name} has {n_holdout} held-out image(s); calibrating at --fpr {fpr:g} needs at least "
            f"{needed} (1/fpr): pass a larger --holdout set or a larger --fpr"
        )


def threshold(holdout_distances: np.ndarray, fpr: float) -> float:
    """The fpr quantile of held-out nearest-neighbour distances (linear interpolation)."""
    finite = holdout_distances[np.isfinite(holdout_distances)]
    return float(np.quantile(finite, fpr))


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
