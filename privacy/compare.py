"""The audit's core on in-memory image groups: embed, search, calibrate, flag.

Spaces are combined so that the stated false-positive rate holds for the flag as a whole: each
space's distances are divided by the median held-out distance in that space, an image's score is
the smallest such ratio over spaces, and the threshold is the `fpr` quantile of the held-out
scores. Per space that is a distance threshold (`threshold = score_threshold × scale`), and a
synthetic image is flagged when it is closer than the threshold in any space, while about `fpr` of
held-out real images (not `fpr` per space) would be flagged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from privacy import calibrate
from privacy.images import AuditImages
from privacy.search import SearchOptions, nearest

log = logging.getLogger(__name__)


@dataclass
class SpaceResult:
    """One space: per synthetic image its nearest training image and distance, and the calibration."""

    name: str
    description: dict
    nearest: np.ndarray  # position in train of each synthetic image's nearest training image
    distance: np.ndarray
    ratio: np.ndarray  # nearest / second-nearest distance
    holdout_distance: np.ndarray
    holdout_nearest: np.ndarray
    scale: float = 1.0
    threshold: float = 0.0
    search_method: str = "exact"
    recall_at_1: float | None = None
    flagged: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


@dataclass
class Comparison:
    spaces: list[SpaceResult]
    score: np.ndarray  # per synthetic image: min over spaces of distance / scale
    holdout_score: np.ndarray
    score_threshold: float
    flagged: np.ndarray
    holdout_flagged: np.ndarray
    embeddings_per_second: dict[str, float]


def compare_images(
    train: AuditImages,
    synthetic: AuditImages,
    holdout: AuditImages,
    spaces: list,
    fpr: float,
    search: SearchOptions = SearchOptions(),
    advance: Callable[[int], None] | None = None,
) -> Comparison:
    """Embed all three groups in every space and flag synthetic images closer than calibrated."""
    import time

    results, rates = [], {}
    for space in spaces:
        start = time.perf_counter()
        train_vectors = space.embed(train, advance)
        synthetic_vectors = space.embed(synthetic, advance)
        holdout_vectors = space.embed(holdout, advance)
        seconds = time.perf_counter() - start
        rates[space.name] = (len(train) + len(synthetic) + len(holdout)) / max(seconds, 1e-9)
        found = nearest(train_vectors, synthetic_vectors, search)
        found_holdout = nearest(train_vectors, holdout_vectors, search)
        results.append(
            SpaceResult(
                name=space.name,
                description=space.describe(),
                nearest=found.positions[:, 0],
                distance=found.distances[:, 0],
                ratio=_ratio(found.distances),
                holdout_distance=found_holdout.distances[:, 0],
                holdout_nearest=found_holdout.positions[:, 0],
                search_method=found.method,
                recall_at_1=found.recall_at_1,
            )
        )
    for result in results:
        finite = result.holdout_distance[np.isfinite(result.holdout_distance)]
        result.scale = float(max(np.median(finite), 1e-6))
    score = np.min([r.distance / r.scale for r in results], axis=0)
    holdout_score = np.min([r.holdout_distance / r.scale for r in results], axis=0)
    score_threshold = calibrate.threshold(holdout_score, fpr)
    for result in results:
        result.threshold = score_threshold * result.scale
        result.flagged = result.distance < result.threshold
    return Comparison(
        spaces=results,
        score=score,
        holdout_score=holdout_score,
        score_threshold=score_threshold,
        flagged=score < score_threshold,
        holdout_flagged=holdout_score < score_threshold,
        embeddings_per_second=rates,
    )


def _ratio(distances: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = distances[:, 0] / distances[:, 1]
    return np.where(np.isfinite(ratio), ratio, np.nan)


def reidentified(result: SpaceResult, synthetic: AuditImages, train: AuditImages) -> np.ndarray:
    """Whether each synthetic image's nearest training image belongs to the same patient."""
    return np.asarray(train.patient_ids[result.nearest] == synthetic.patient_ids, dtype=bool)
