"""The audit's core on in-memory image groups: embed, search, verify by alignment, calibrate, flag.

Each embedding space finds every query's nearest training images with FAISS; the `registered`
space then aligns each query with the top candidates of all embedding spaces (privacy/registered.py).
Spaces are combined so that the stated false-positive rate holds for the flag as a whole: each
space's distances are divided by a low quantile (`SCALE_QUANTILE`) of its held-out distances (so
spaces are compared where it matters, in the tail), an image's score is the smallest such ratio
over spaces, and the threshold is a patient-level lower confidence bound on the `fpr` quantile of
the held-out scores (privacy/calibrate.py). Per space that is a distance threshold
(`threshold = score_threshold × scale`), and a synthetic image is flagged when it is closer than
the threshold in any space, while at most about `fpr` of held-out real images (not `fpr` per
space) would be flagged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from privacy import calibrate
from privacy.images import AuditImages
from privacy.registered import RegisteredSpace
from privacy.search import SearchOptions, nearest

SCALE_QUANTILE = 0.05

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
    calibration: dict = field(default_factory=dict)


def compare_images(
    train: AuditImages,
    synthetic: AuditImages,
    holdout: AuditImages,
    spaces: list,
    fpr: float,
    search: SearchOptions = SearchOptions(),
    advance: Callable[[int], None] | None = None,
    registered: RegisteredSpace | None = None,
    seed: int = 0,
) -> Comparison:
    """Embed all three groups in every space, verify candidates by alignment, flag what is too close."""
    import time

    k = max(2, registered.config.candidates if registered is not None else 2)
    results, rates = [], {}
    candidates: list[tuple[np.ndarray, np.ndarray]] = []
    for space in spaces:
        start = time.perf_counter()
        train_vectors = space.embed(train, advance)
        synthetic_vectors = space.embed(synthetic, advance)
        holdout_vectors = space.embed(holdout, advance)
        seconds = time.perf_counter() - start
        rates[space.name] = (len(train) + len(synthetic) + len(holdout)) / max(seconds, 1e-9)
        found = nearest(train_vectors, synthetic_vectors, search, k=k)
        found_holdout = nearest(train_vectors, holdout_vectors, search, k=k)
        candidates.append((found.positions, found_holdout.positions))
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
    if registered is not None:
        results.append(_registered_result(registered, train, synthetic, holdout, candidates, advance, rates))
    return calibrated(results, holdout, fpr, rates, seed)


def _registered_result(registered, train, synthetic, holdout, candidates, advance, rates) -> SpaceResult:
    import time

    start = time.perf_counter()
    found = registered.compare(synthetic, train, np.concatenate([c[0] for c in candidates], axis=1), advance)
    found_holdout = registered.compare(holdout, train, np.concatenate([c[1] for c in candidates], axis=1), advance)
    rates[registered.name] = (len(synthetic) + len(holdout)) / max(time.perf_counter() - start, 1e-9)
    n_candidates = sum(c[0].shape[1] for c in candidates)
    return SpaceResult(
        name=registered.name,
        description=registered.describe(),
        nearest=found.nearest,
        distance=found.distance,
        ratio=found.ratio,
        holdout_distance=found_holdout.distance,
        holdout_nearest=found_holdout.nearest,
        search_method=f"aligned top-{n_candidates} candidates of the other spaces",
    )


def calibrated(results: list[SpaceResult], holdout: AuditImages, fpr: float, rates: dict, seed: int = 0) -> Comparison:
    """Scale each space by its held-out tail, threshold the min-over-spaces score, flag."""
    for result in results:
        finite = result.holdout_distance[np.isfinite(result.holdout_distance)]
        result.scale = float(max(np.quantile(finite, SCALE_QUANTILE), 1e-6)) if len(finite) else 1.0
    score = np.min([r.distance / r.scale for r in results], axis=0)
    holdout_score = np.min([r.holdout_distance / r.scale for r in results], axis=0)
    bound = calibrate.patient_threshold(holdout_score, holdout.patient_ids, fpr, seed)
    for result in results:
        result.threshold = bound.threshold * result.scale
        result.flagged = result.distance < result.threshold
    return Comparison(
        spaces=results,
        score=score,
        holdout_score=holdout_score,
        score_threshold=bound.threshold,
        flagged=score < bound.threshold,
        holdout_flagged=holdout_score < bound.threshold,
        embeddings_per_second=rates,
        calibration=bound.as_dict(),
    )


def _ratio(distances: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = distances[:, 0] / distances[:, 1]
    return np.where(np.isfinite(ratio), ratio, np.nan)


def reidentified(result: SpaceResult, synthetic: AuditImages, train: AuditImages) -> np.ndarray:
    """Whether each synthetic image's nearest training image belongs to the same patient."""
    return np.asarray(train.patient_ids[result.nearest] == synthetic.patient_ids, dtype=bool)
