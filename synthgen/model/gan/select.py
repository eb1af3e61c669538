"""Which snapshot of the GAN's EMA generator becomes the model: the most realistic (lowest two-sample
AUC, or lowest validation FD) among the snapshots and EMA profiles that copy no more than held-out real
images do.

On small data a GAN's FD keeps improving while it starts to reproduce training images (PneumoniaMNIST
32²: 0.79 % of samples flagged by the audit at 4 020 steps, 1.42 % at 9 342; held-out real images
0.58 %), so the last weights are not always the ones to ship. Each candidate (every
`training.snapshot_every` steps, the final EMA and the final power-function EMA profiles of
`training.ema_profiles`) is scored twice:

- FD against the validation split in validation's feature space (synthgen.model.ema_select), with
  the label vectors of the reference images;
- with `training.selection_metric: two_sample`, the classifier two-sample test of `synthgen validate`
  (validation.two_sample, `TWO_SAMPLE_REPEATS` seeds) between the copying check's samples and the
  held-out images (val + test; validate's own test uses the train split, so its report stays an
  independent measurement). FD is blind to blur: at 80 minutes on PneumoniaMNIST it picked the step-1 000
  snapshot of an 8 300-step run (two-sample AUC 0.74 against 0.51-0.53 for the final EMAs);
- copying: `training.selection_images` samples (label vectors of random training rows) go through
  the audit's own engine (privacy.audit.run_audit: the same spaces, encoder and calibration against
  the held-out images `synthgen audit` uses: the val and test splits), all candidates in one run so
  they share the encoder and thresholds. A candidate passes unless its flagged count is significantly
  above the held-out images' flagged share, or one held-out image's worth if larger (one-sided
  binomial test at `COPYING_SIGNIFICANCE`).

The choice is the passing candidate with the lowest score (ties: the later); when none passes, the one
with the smallest flagged share, with a warning. When the held-out images are too few for the two-sample
test, FD decides (the card says so). The model card records every score (`selection`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.model.data import TrainingData
from synthgen.model.ema_select import FDReference, to_unit
from synthgen.model.gan.config import SelectionMetric

log = logging.getLogger(__name__)

COPYING_SIGNIFICANCE = 0.05  # stricter than the audit's verdict (0.01): the final audit draws other samples
TWO_SAMPLE_REPEATS = 3  # one run's AUC moves by ±0.02-0.03 with its seed alone (bench/two_sample_seeds.py)

# sample(module, conditions, seeds) -> (N, 1, H, W) images in [-1, 1]
Sample = Callable[[nn.Module, torch.Tensor, list[int]], torch.Tensor]


@dataclass(frozen=True)
class Candidate:
    name: str  # "step-0004000", or "final"
    fd: float
    flagged: int
    images: int
    binomial_p: float  # H1: flagged more often than held-out real images
    two_sample_auc: float | None = None  # mean over TWO_SAMPLE_REPEATS seeds; None: not scored

    @property
    def passes(self) -> bool:
        return self.binomial_p >= COPYING_SIGNIFICANCE

    def score(self, metric: SelectionMetric) -> float:
        return self.two_sample_auc if metric is SelectionMetric.TWO_SAMPLE else self.fd

    def to_dict(self) -> dict:
        scores = {"fd": self.fd}
        if self.two_sample_auc is not None:
            scores["two_sample_auc"] = self.two_sample_auc
        return {**scores, "flagged": self.flagged, "flagged_fraction": round(self.flagged / self.images, 5),
                "binomial_p": round(self.binomial_p, 5), "passes": self.passes}


@dataclass(frozen=True)
class SnapshotChoice:
    chosen: str
    candidates: list[Candidate]
    holdout_flagged_fraction: float
    fd_reference: str  # the split FD was scored against
    fd_images: int
    metric: SelectionMetric = SelectionMetric.FD  # the one that decided
    two_sample_note: str | None = None  # what the two-sample scores were measured against, or why not

    def to_dict(self) -> dict:
        lowest = ("two-sample AUC against the held-out images" if self.metric is SelectionMetric.TWO_SAMPLE
                  else "FD")
        return {
            "chosen": self.chosen,
            "rule": (f"lowest {lowest} among candidates whose audit-flagged count is not above the held-out real "
                     f"images' share, or one held-out image's worth if larger (one-sided binomial p >= "
                     f"{COPYING_SIGNIFICANCE}); none passing: fewest flagged"),
            "metric": self.metric.value,
            "holdout_flagged_fraction": round(self.holdout_flagged_fraction, 5),
            "fd_scored_against": self.fd_reference,
            "fd_images": self.fd_images,
            **({"two_sample": self.two_sample_note} if self.two_sample_note else {}),
            "candidates": {c.name: c.to_dict() for c in self.candidates},
        }


def pick(candidates: list[Candidate], metric: SelectionMetric = SelectionMetric.FD) -> str:
    """The rule above on scored candidates (listed in training order)."""
    passing = [c for c in candidates if c.passes]
    if passing:
        return min(reversed(passing), key=lambda c: c.score(metric)).name
    fewest = min(reversed(candidates), key=lambda c: c.flagged / c.images)
    log.warning("every GAN snapshot copies more than held-out real images do; keeping %s, the one that copies "
                "least (flagged %.2f %%): the audit will likely fail", fewest.name, 100 * fewest.flagged / fewest.images)
    return fewest.name


def choose_snapshot(candidates: dict[str, nn.Module], training: TrainingData, image_set: ImageSet,
                    use_findings: bool, n_images: int, seed: int, sample: Sample,
                    metric: SelectionMetric = SelectionMetric.FD) -> SnapshotChoice:
    """Score every candidate (FD, copying and, for `two_sample`, the two-sample AUC) and pick one;
    `candidates` in training order."""
    from privacy.audit import run_audit
    from privacy.calibrate import compare
    from privacy.images import AuditImages

    train, holdout = selection_audit_groups(image_set)
    reference = FDReference(training, image_set, use_findings, n_images, seed)
    rng = np.random.default_rng([seed, 0x5E1])
    rows = rng.integers(0, len(training), size=n_images)
    seeds = [int(s) for s in rng.integers(0, 2 ** 62, size=n_images)]
    fd, pixels = {}, []
    for name, module in candidates.items():
        fd[name] = reference.fd(sample(module, reference.conditions, reference.seeds))
        pixels.append(to_unit(sample(module, training.conditions[rows], seeds)))
        log.info("GAN snapshot %s: FD %.4f against %d %s images", name, fd[name], len(reference), reference.split)
    names = [f"{name}-{i}" for name in candidates for i in range(n_images)]
    synthetic = AuditImages.from_arrays("snapshots", np.concatenate(pixels), names, names)
    comparison, _ = run_audit(train, synthetic, holdout, audit_options(),
                              holdout_name=f"the val and test splits of {image_set.root}")
    holdout_share = float(comparison.holdout_flagged.mean())
    # At least one held-out image's worth: a calibrated threshold can flag none of a small held-out set.
    null_rate = max(holdout_share, 1.0 / len(holdout))
    aucs, note = {}, None
    if metric is SelectionMetric.TWO_SAMPLE:
        classes = training.conditions[rows, :len(training.label_space.classes)].argmax(1).numpy()
        aucs, note = two_sample_aucs(dict(zip(candidates, pixels)), classes, image_set, seed)
        if not aucs:
            metric = SelectionMetric.FD
            log.warning("GAN snapshot choice by FD: %s", note)
    scored = []
    for position, name in enumerate(candidates):
        part = slice(position * n_images, (position + 1) * n_images)
        flagged = int(comparison.flagged[part].sum())
        test = compare(comparison.score[part], comparison.holdout_score, flagged, null_rate)
        scored.append(Candidate(name, fd[name], flagged, n_images, test.binomial_p, aucs.get(name)))
        log.info("GAN snapshot %s: %d of %d flagged (held-out %.2f %%, p %.3g)", name, flagged, n_images,
                 100 * holdout_share, test.binomial_p)
    return SnapshotChoice(pick(scored, metric), scored, holdout_share, reference.split, len(reference), metric, note)


def two_sample_aucs(pixels: dict[str, np.ndarray], synthetic_labels: np.ndarray, image_set: ImageSet,
                    seed: int) -> tuple[dict[str, float], str]:
    """Each candidate's two-sample AUC (validate's test, TWO_SAMPLE_REPEATS seeds) between its samples
    (`pixels` in [0, 1], conditioned on the class indices `synthetic_labels`) and the held-out images;
    ({}, why) when those are too few for the test."""
    from validation.two_sample import TwoSampleOptions, two_sample_test

    held = heldout_indices(image_set)
    real = (image_set.load_pixels(held).astype(np.float32), image_set.labels()[held],
            np.array([image_set.rows[i]["patient_id"] for i in held], dtype=object))
    aucs = {}
    for name, images in pixels.items():
        result = two_sample_test(real, (images.astype(np.float32), synthetic_labels), len(image_set.classes),
                                 TwoSampleOptions(), 0, seed, repeats=TWO_SAMPLE_REPEATS, with_reference=False)
        if "skipped" in result.summary:
            return {}, f"two-sample test against the val and test splits skipped: {result.summary['skipped']}"
        aucs[name] = round(float(result.summary["real_vs_synthetic"]["auc"]["value"]), 5)
        log.info("GAN snapshot %s: two-sample AUC %.4f against %d held-out images", name, aucs[name], len(held))
    return aucs, f"classifier two-sample test against the {len(held)} val and test images, {TWO_SAMPLE_REPEATS} seeds"


def audit_options():
    """The audit's defaults, without its self-test (planted copies test the audit, not the candidates)."""
    from privacy.audit import AuditOptions

    return AuditOptions(selftest_copies=0)


def heldout_indices(image_set: ImageSet) -> np.ndarray:
    """The val and test rows: the held-out images both the copying check and the two-sample test use."""
    return np.concatenate([image_set.indices("val"), image_set.indices("test")])


def selection_audit_groups(image_set: ImageSet) -> tuple:
    """The training split and the held-out images (val + test) the copying check compares, as
    `synthgen audit` does by default; a clear error when there are too few to calibrate it."""
    from privacy.calibrate import MIN_TRAIN_IMAGES, min_holdout_images
    from privacy.images import AuditImages

    train = AuditImages.from_image_set(image_set, image_set.indices("train"))
    held = heldout_indices(image_set)
    needed = min_holdout_images(audit_options().fpr)
    if len(held) < needed or len(train) < MIN_TRAIN_IMAGES:
        raise SynthgenError(
            f"training.snapshot_every and ema_profiles check copying against the val and test splits of "
            f"{image_set.root}: they hold "
            f"{len(held)} image(s) (train {len(train)}), at least {needed} (train {MIN_TRAIN_IMAGES}) are needed; "
            "prepare larger splits or drop training.snapshot_every and ema_profiles"
        )
    return train, AuditImages.from_image_set(image_set, held)
