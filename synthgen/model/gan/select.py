"""Which snapshot of the GAN's EMA generator becomes the model: the lowest validation FD among the
snapshots and EMA profiles that copy no more than held-out real images do.

On small data a GAN's FD keeps improving while it starts to reproduce training images (PneumoniaMNIST
32²: 0.79 % of samples flagged by the audit at 4 020 steps, 1.42 % at 9 342; held-out real images
0.58 %), so the last weights are not always the ones to ship. Each candidate (every
`training.snapshot_every` steps, the final EMA and the final power-function EMA profiles of
`training.ema_profiles`) is scored twice:

- FD against the validation split in validation's feature space (synthgen.model.ema_select), with
  the label vectors of the reference images;
- copying: `training.selection_images` samples (label vectors of random training rows) go through
  the audit's own engine (privacy.audit.run_audit: the same spaces, encoder and calibration against
  the held-out images `synthgen audit` uses: the val and test splits), all candidates in one run so
  they share the encoder and thresholds. A candidate passes unless its flagged count is significantly
  above the held-out images' flagged share, or one held-out image's worth if larger (one-sided
  binomial test at `COPYING_SIGNIFICANCE`).

The choice is the passing candidate with the lowest FD (ties: the later); when none passes, the one
with the smallest flagged share, with a warning. The model card records every score (`selection`).
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

log = logging.getLogger(__name__)

COPYING_SIGNIFICANCE = 0.05  # stricter than the audit's verdict (0.01): the final audit draws other samples

# sample(module, conditions, seeds) -> (N, 1, H, W) images in [-1, 1]
Sample = Callable[[nn.Module, torch.Tensor, list[int]], torch.Tensor]


@dataclass(frozen=True)
class Candidate:
    name: str  # "step-0004000", or "final"
    fd: float
    flagged: int
    images: int
    binomial_p: float  # H1: flagged more often than held-out real images

    @property
    def passes(self) -> bool:
        return self.binomial_p >= COPYING_SIGNIFICANCE

    def to_dict(self) -> dict:
        return {"fd": self.fd, "flagged": self.flagged, "flagged_fraction": round(self.flagged / self.images, 5),
                "binomial_p": round(self.binomial_p, 5), "passes": self.passes}


@dataclass(frozen=True)
class SnapshotChoice:
    chosen: str
    candidates: list[Candidate]
    holdout_flagged_fraction: float
    fd_reference: str  # the split FD was scored against
    fd_images: int

    def to_dict(self) -> dict:
        return {
            "chosen": self.chosen,
            "rule": (f"lowest FD among candidates whose audit-flagged count is not above the held-out real images' "
                     f"share, or one held-out image's worth if larger (one-sided binomial p >= {COPYING_SIGNIFICANCE}); "
                     "none passing: fewest flagged"),
            "holdout_flagged_fraction": round(self.holdout_flagged_fraction, 5),
            "fd_scored_against": self.fd_reference,
            "fd_images": self.fd_images,
            "candidates": {c.name: c.to_dict() for c in self.candidates},
        }


def pick(candidates: list[Candidate]) -> str:
    """The rule above on scored candidates (listed in training order)."""
    passing = [c for c in candidates if c.passes]
    if passing:
        return min(reversed(passing), key=lambda c: c.fd).name
    fewest = min(reversed(candidates), key=lambda c: c.flagged / c.images)
    log.warning("every GAN snapshot copies more than held-out real images do; keeping %s, the one that copies "
                "least (flagged %.2f %%): the audit will likely fail", fewest.name, 100 * fewest.flagged / fewest.images)
    return fewest.name


def choose_snapshot(candidates: dict[str, nn.Module], training: TrainingData, image_set: ImageSet,
                    use_findings: bool, n_images: int, seed: int, sample: Sample) -> SnapshotChoice:
    """Score every candidate (FD and copying) and pick one; `candidates` in training order."""
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
    scored = []
    for position, name in enumerate(candidates):
        part = slice(position * n_images, (position + 1) * n_images)
        flagged = int(comparison.flagged[part].sum())
        test = compare(comparison.score[part], comparison.holdout_score, flagged, null_rate)
        scored.append(Candidate(name, fd[name], flagged, n_images, test.binomial_p))
        log.info("GAN snapshot %s: %d of %d flagged (held-out %.2f %%, p %.3g)", name, flagged, n_images,
                 100 * holdout_share, test.binomial_p)
    return SnapshotChoice(pick(scored), scored, holdout_share, reference.split, len(reference))


def audit_options():
    """The audit's defaults, without its self-test (planted copies test the audit, not the candidates)."""
    from privacy.audit import AuditOptions

    return AuditOptions(selftest_copies=0)


def selection_audit_groups(image_set: ImageSet) -> tuple:
    """The training split and the held-out images (val + test) the copying check compares, as
    `synthgen audit` does by default; a clear error when there are too few to calibrate it."""
    from privacy.calibrate import MIN_TRAIN_IMAGES, min_holdout_images
    from privacy.images import AuditImages

    train = AuditImages.from_image_set(image_set, image_set.indices("train"))
    held = np.concatenate([image_set.indices("val"), image_set.indices("test")])
    needed = min_holdout_images(audit_options().fpr)
    if len(held) < needed or len(train) < MIN_TRAIN_IMAGES:
        raise SynthgenError(
            f"training.snapshot_every and ema_profiles check copying against the val and test splits of "
            f"{image_set.root}: they hold "
            f"{len(held)} image(s) (train {len(train)}), at least {needed} (train {MIN_TRAIN_IMAGES}) are needed; "
            "prepare larger splits or drop training.snapshot_every and ema_profiles"
        )
    return train, AuditImages.from_image_set(image_set, held)
