"""The audit's core on in-memory image groups: embed, search, verify by alignment, calibrate, flag.

Each embedding space finds every query's nearest training images with FAISS; the `registered`
space then aligns each query with the top candidates of all embedding spaces (privacy/registered.py).
Spaces are combined so that the stated false-positive rate holds for the flag as a whole: each
space's distance is turned into its **held-out share** (the share of held-out real images at least
as close, as a continuous function: `held_out_share`), an image's score is the smallest share over
spaces, and the threshold is a patient-level lower confidence bound on the `fpr` quantile of the
held-out scores (privacy/calibrate.py). Shares give every space the same part of the `fpr` budget
whatever the shape of its distance distribution; dividing by a low quantile instead (`scale`, still
reported) let a space with a long held-out tail set the common threshold and cost a well-separating
space its recall (docs/PRIVACY.md). Per space the threshold is a distance (`distance_at_share`), and a
synthetic image is flagged when it is closer than the threshold in any space, while at most about
`fpr` of held-out real images (not `fpr` per space) would be flagged. A space whose `flags` is False
(pixels) is only reported and feeds the registered space. Planted copies (the audit's
self-test) are scored the same way, apart from the synthetic images; each embedding space also runs
the membership-inference attacks (privacy/membership.py) and the patient-linkage measure
(privacy/linkage.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from privacy import calibrate
from privacy.images import AuditImages
from privacy.registered import RegisteredSpace
from privacy.search import Neighbours, SearchOptions, nearest

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
    planted_distance: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    planted_nearest: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    scale: float = 1.0
    threshold: float = 0.0
    search_method: str = "exact"
    recall_at_1: float | None = None
    flagged: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    share: np.ndarray = field(default_factory=lambda: np.zeros(0))  # held-out share of each synthetic distance
    holdout_sorted: np.ndarray = field(default_factory=lambda: np.zeros(0))  # finite held-out distances, sorted
    flags: bool = True  # takes part in the flag (False: only reported, and candidates for `registered`)
    membership: dict | None = None  # membership-inference attacks (embedding spaces)
    linkage: dict | None = None  # patient-level linkage of synthetic vs held-out images (embedding spaces)


@dataclass
class Comparison:
    spaces: list[SpaceResult]
    score: np.ndarray  # per synthetic image: min over spaces of its held-out share
    holdout_score: np.ndarray
    score_threshold: float
    flagged: np.ndarray
    holdout_flagged: np.ndarray
    embeddings_per_second: dict[str, float]
    calibration: dict = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage (timings.json only)
    planted_score: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    planted_flagged: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    planted_sources: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # positions in train


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
    planted: AuditImages | None = None,
) -> Comparison:
    """Embed all groups in every space, verify candidates by alignment, flag what is too close.

    `planted` (optional): altered copies of training images, scored like synthetic images but kept
    apart (the audit's self-test); their flags are `Comparison.planted_flagged`.
    """
    import time

    groups = {"synthetic": synthetic, "holdout": holdout}
    if planted is not None:
        groups["planted"] = planted
    k = max(2, registered.config.candidates if registered is not None else 2)
    results, rates, seconds = [], {}, {}
    candidates: list[dict[str, np.ndarray]] = []
    for space in spaces:
        result, found = _space_result(space, train, groups, fpr, search, k, advance, seed, seconds)
        rates[space.name] = (len(train) + sum(len(g) for g in groups.values())) / max(seconds[f"{space.name}_embedding"], 1e-9)
        candidates.append({role: f.positions for role, f in found.items()})
        results.append(result)
    if registered is not None:
        start = time.perf_counter()
        results.append(_registered_result(registered, train, groups, candidates, advance, rates))
        seconds[registered.name] = time.perf_counter() - start
    comparison = calibrated(results, holdout, fpr, rates, seed)
    comparison.seconds = seconds
    return comparison


def _space_result(space, train, groups, fpr, search, k, advance, seed, seconds) -> tuple[SpaceResult, dict]:
    """One embedding space: embed every group, find each query's k nearest training images, attack."""
    import time

    from privacy.linkage import patient_linkage
    from privacy.membership import membership_attacks

    clock = time.perf_counter
    start = clock()
    train_vectors = space.embed(train, advance)
    vectors = {role: space.embed(group, advance) for role, group in groups.items()}
    seconds[f"{space.name}_embedding"] = clock() - start
    start = clock()
    found = {role: nearest(train_vectors, v, search, k=k) for role, v in vectors.items()}
    seconds[f"{space.name}_search"] = clock() - start
    start = clock()
    holdout = groups["holdout"]
    membership = membership_attacks(train_vectors, vectors["holdout"], vectors["synthetic"], train.patient_ids,
                                    holdout.patient_ids, search, seed)
    linkage = patient_linkage(found["synthetic"], found["holdout"], train.patient_ids, fpr)
    seconds[f"{space.name}_membership_and_linkage"] = clock() - start
    planted = found.get("planted", Neighbours(np.zeros((0, k), np.float32), np.zeros((0, k), np.int64), "exact"))
    result = SpaceResult(
        name=space.name,
        description=space.describe(),
        nearest=found["synthetic"].positions[:, 0],
        distance=found["synthetic"].distances[:, 0],
        ratio=_ratio(found["synthetic"].distances),
        holdout_distance=found["holdout"].distances[:, 0],
        holdout_nearest=found["holdout"].positions[:, 0],
        planted_distance=planted.distances[:, 0],
        planted_nearest=planted.positions[:, 0],
        search_method=found["synthetic"].method,
        recall_at_1=found["synthetic"].recall_at_1,
        membership=membership,
        linkage=linkage,
        flags=getattr(space, "flags", True),
    )
    return result, found


def _registered_result(registered, train, groups, candidates, advance, rates) -> SpaceResult:
    import time

    start = time.perf_counter()
    found = {role: registered.compare(group, train, np.concatenate([c[role] for c in candidates], axis=1), advance)
             for role, group in groups.items()}
    rates[registered.name] = sum(len(g) for g in groups.values()) / max(time.perf_counter() - start, 1e-9)
    n_candidates = sum(c["synthetic"].shape[1] for c in candidates)
    planted = found.get("planted")
    return SpaceResult(
        name=registered.name,
        description=registered.describe(),
        nearest=found["synthetic"].nearest,
        distance=found["synthetic"].distance,
        ratio=found["synthetic"].ratio,
        holdout_distance=found["holdout"].distance,
        holdout_nearest=found["holdout"].nearest,
        planted_distance=planted.distance if planted is not None else np.zeros(0, np.float32),
        planted_nearest=planted.nearest if planted is not None else np.zeros(0, np.int64),
        search_method=f"aligned top-{n_candidates} candidates of the other spaces",
    )


def calibrated(results: list[SpaceResult], holdout: AuditImages, fpr: float, rates: dict, seed: int = 0) -> Comparison:
    """Put each space's distances on its held-out share scale, threshold the min-over-spaces score, flag."""
    for result in results:
        result.holdout_sorted = np.sort(result.holdout_distance[np.isfinite(result.holdout_distance)])
        result.scale = float(np.quantile(result.holdout_sorted, SCALE_QUANTILE)) if len(result.holdout_sorted) else 1.0
        result.share = held_out_share(result.holdout_sorted, result.distance)
    flagging = [r for r in results if r.flags]
    score = np.min([r.share for r in flagging], axis=0)
    holdout_score = np.min([held_out_share_left_out(r.holdout_distance) for r in flagging], axis=0)
    planted_score = np.min([held_out_share(r.holdout_sorted, r.planted_distance) for r in flagging], axis=0)
    bound = calibrate.patient_threshold(holdout_score, holdout.patient_ids, fpr, seed)
    for result in results:
        result.threshold = distance_at_share(result.holdout_sorted, bound.threshold)
        result.flagged = (result.share < bound.threshold) & result.flags
    return Comparison(
        spaces=results,
        score=score,
        holdout_score=holdout_score,
        score_threshold=bound.threshold,
        flagged=score < bound.threshold,
        holdout_flagged=holdout_score < bound.threshold,
        embeddings_per_second=rates,
        calibration=bound.as_dict(),
        planted_score=planted_score,
        planted_flagged=planted_score < bound.threshold,
    )


def _share_levels(n: int) -> np.ndarray:
    return (np.arange(1, n + 1) - 0.5) / n


def held_out_share(holdout_sorted: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """The share of held-out images at least as close as each distance, as a continuous function:
    (i - 1/2) / n at the i-th smallest held-out distance, linear in between, linear down to 0 at
    distance 0 below the smallest, 1 above the largest (and for `inf`, no candidate)."""
    distances = np.asarray(distances, dtype=np.float64)
    if not len(holdout_sorted):
        return np.ones(len(distances))
    levels = _share_levels(len(holdout_sorted))
    share = np.interp(distances, holdout_sorted, levels, left=np.nan, right=1.0)
    below = np.isnan(share)
    smallest = float(holdout_sorted[0])
    share[below] = distances[below] / smallest * levels[0] if smallest > 0 else 0.0
    return share


def held_out_share_left_out(holdout: np.ndarray) -> np.ndarray:
    """Each held-out image's share among the *other* held-out images (leave one out).

    A held-out image is part of the set its own share is read from, so its in-set share is never
    below 1/(2n), while a fresh real image can fall below the smallest held-out distance; leaving it
    out makes the held-out scores distributed like a fresh image's, so the `fpr` quantile of them
    holds for new images too (in-set shares let about 1/(2n) per space more fresh images through).
    """
    distances = np.asarray(holdout, dtype=np.float64)
    finite = np.isfinite(distances)
    out = np.ones(len(distances))
    values = distances[finite]
    n = len(values)
    if n < 3:
        return out
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    position = np.arange(n)
    lower = ranked[np.maximum(position - 1, 0)]
    upper = ranked[np.minimum(position + 1, n - 1)]
    gap = upper - lower
    within = np.where(gap > 0, (ranked - lower) / np.where(gap > 0, gap, 1.0), 0.5)
    share = (position - 0.5 + within) / (n - 1)  # between the neighbours' levels among the others
    share[0] = ranked[0] / ranked[1] * 0.5 / (n - 1) if ranked[1] > 0 else 0.0  # below the others' smallest
    share[-1] = 1.0
    shares = np.empty(n)
    shares[order] = share
    out[finite] = shares
    return out


def distance_at_share(holdout_sorted: np.ndarray, share: float) -> float:
    """The inverse of `held_out_share`: the distance below which a space flags at this share."""
    if not len(holdout_sorted):
        return 0.0
    levels = _share_levels(len(holdout_sorted))
    if share <= levels[0]:
        return float(share / levels[0] * holdout_sorted[0])
    return float(np.interp(share, levels, holdout_sorted))


def _ratio(distances: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = distances[:, 0] / distances[:, 1]
    return np.where(np.isfinite(ratio), ratio, np.nan)


def reidentified(result: SpaceResult, synthetic: AuditImages, train: AuditImages) -> np.ndarray:
    """Whether each synthetic image's nearest training image belongs to the same patient."""
    return np.asarray(train.patient_ids[result.nearest] == synthetic.patient_ids, dtype=bool)
