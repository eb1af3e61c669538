"""Multi-label scoring for sets with findings (NIH-style): every finding scored, not only the class.

For each finding shared by the three sets, over the validation's seeds:

- TRTR / TSTR ROC-AUC: a multi-label classifier (one sigmoid output per finding, the same network
  and recipe as the class regimes) trained on real train or on synthetic, tested on real test;
  their ratio says how much of the finding's signal the synthetic set carries.
- label fidelity ROC-AUC: the TRTR classifier scores the synthetic images against the findings
  they were conditioned on (does the generator draw the finding it was asked for?).
- prevalence: share of positive images in real train, real test and synthetic (the conditioned
  findings), so a generator that drops or inflates a finding shows.

Values are seed-averaged probabilities with 95 % bootstrap intervals over test images (± is the
spread of per-seed AUCs); a finding with fewer than MIN_POSITIVES positives or negatives in a test
set gets no AUC there (null), a finding whose TRTR AUC is below the verdicts' `trtr_auc_min` gets no
TSTR/TRTR ratio (the real task is too hard for it to mean much), and the macro values average the
findings that have each value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from validation.classifier import Recipe, augment, build_network, fit
from validation.data import Selection, ValidationData
from validation.stats import bootstrap_weights, interval, weighted_auc
from validation.verdict import THRESHOLDS

MIN_POSITIVES = 5
MAX_POS_WEIGHT = 20.0  # rare findings weigh more in the loss, but at most this much


def shared_findings(data: ValidationData) -> list[str]:
    """Findings of the real training set that the real test and synthetic sets also have."""
    others = [set(s.image_set.findings) for s in (data.real_test, data.synthetic)]
    return [name for name in data.real_train.image_set.findings if all(name in o for o in others)]


def finding_targets(selection: Selection, names: list[str]) -> np.ndarray:
    """(N, F) 0/1 matrix of the selected rows, columns in the order of `names`."""
    columns = [selection.image_set.findings.index(name) for name in names]
    return selection.image_set.finding_matrix()[selection.indices][:, columns].astype(np.float32)


def finding_steps(data: ValidationData, seeds: list[int], recipe: Recipe) -> int:
    """Training steps `score_findings` will take (for a progress bar): two classifiers per seed."""
    return 2 * len(seeds) * recipe.steps if shared_findings(data) else 0


def train_multilabel(images: np.ndarray, targets: np.ndarray, recipe: Recipe, seed: int,
                     on_step: Callable[[int], None] | None = None) -> nn.Module:
    """The class regimes' network and recipe with one sigmoid output per finding (BCE loss)."""
    model = build_network(recipe, targets.shape[1], seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    y = torch.from_numpy(targets)
    positives = y.sum(dim=0)
    pos_weight = ((len(y) - positives) / positives.clamp(min=1)).clamp(1.0, MAX_POS_WEIGHT)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)

    def batch_loss() -> torch.Tensor:
        batch = torch.randint(0, len(x), (recipe.batch_size,), generator=generator)
        return loss_fn(model(augment(x[batch], generator, recipe)), y[batch])

    return fit(model, recipe, batch_loss, on_step)


@torch.no_grad()
def predict_multilabel(model: nn.Module, images: np.ndarray, batch_size: int) -> np.ndarray:
    """(N, F) sigmoid probabilities as float64."""
    out = []
    for start in range(0, len(images), batch_size):
        chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size], dtype=np.float32))
        out.append(torch.sigmoid(model(chunk.unsqueeze(1))).double().numpy())
    return np.concatenate(out)


def _scoreable(truth: np.ndarray) -> bool:
    positives = int(truth.sum())
    return positives >= MIN_POSITIVES and len(truth) - positives >= MIN_POSITIVES


def _auc(per_seed: list[np.ndarray], truth: np.ndarray, weights: np.ndarray) -> tuple[dict, np.ndarray] | None:
    """Seed-averaged AUC with its bootstrap interval and seed spread; None when not scoreable."""
    if not _scoreable(truth):
        return None
    unit = np.ones((1, len(truth)))
    seed_values = [float(weighted_auc(p, truth, unit)[0]) for p in per_seed]
    mean = np.mean(per_seed, axis=0)
    samples = weighted_auc(mean, truth, weights)
    spread = float(np.std(seed_values)) if len(seed_values) > 1 else None
    return interval(samples, float(weighted_auc(mean, truth, unit)[0]), spread).as_dict(), samples


def score_findings(data: ValidationData, recipe: Recipe, seeds: list[int], bootstrap: int, seed: int,
                   on_step: Callable[[int], None] | None = None) -> dict | None:
    """metrics.json's `findings` section, or None when the sets share no finding."""
    names = shared_findings(data)
    if not names:
        return None
    train_y, test_y, synthetic_y = (finding_targets(s, names) for s in (data.real_train, data.real_test, data.synthetic))
    trtr, tstr, fidelity = [], [], []
    for s in seeds:
        real_model = train_multilabel(data.train_images, train_y, recipe, s, on_step)
        synthetic_model = train_multilabel(data.synthetic_images, synthetic_y, recipe, s, on_step)
        trtr.append(predict_multilabel(real_model, data.test_images, recipe.eval_batch_size))
        tstr.append(predict_multilabel(synthetic_model, data.test_images, recipe.eval_batch_size))
        fidelity.append(predict_multilabel(real_model, data.synthetic_images, recipe.eval_batch_size))
    rng = np.random.default_rng([seed, 0xF1])
    test_weights = bootstrap_weights(len(test_y), bootstrap, rng)
    synthetic_weights = bootstrap_weights(len(synthetic_y), bootstrap, rng)
    per_finding = {}
    for f, name in enumerate(names):
        truth, synthetic_truth = test_y[:, f].astype(bool), synthetic_y[:, f].astype(bool)
        real = _auc([p[:, f] for p in trtr], truth, test_weights)
        synthetic = _auc([p[:, f] for p in tstr], truth, test_weights)
        faithful = _auc([p[:, f] for p in fidelity], synthetic_truth, synthetic_weights)
        ratio = None
        if real and synthetic and real[0]["value"] >= THRESHOLDS["trtr_auc_min"]:  # else the ratio means little
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = interval(synthetic[1] / real[1], synthetic[0]["value"] / real[0]["value"]).as_dict()
        per_finding[name] = {
            "prevalence": {"real_train": round(float(train_y[:, f].mean(dtype=np.float64)), 6),
                           "real_test": round(float(truth.mean()), 6), "synthetic": round(float(synthetic_truth.mean()), 6)},
            "positives": {"real_train": int(train_y[:, f].sum()), "real_test": int(truth.sum()),
                          "synthetic": int(synthetic_truth.sum())},
            "trtr_auc": real[0] if real else None,
            "tstr_auc": synthetic[0] if synthetic else None,
            "tstr_trtr_ratio": ratio,
            "label_fidelity_auc": faithful[0] if faithful else None,
        }
    return {"findings": names, "min_positives": MIN_POSITIVES, "trtr_auc_min": THRESHOLDS["trtr_auc_min"],
            "per_finding": per_finding,
            "macro": _macro(per_finding), "bootstrap_resamples": bootstrap}


def _macro(per_finding: dict) -> dict:
    """Means over the findings that have each value (and how many did)."""
    macro = {}
    for key in ("trtr_auc", "tstr_auc", "label_fidelity_auc"):
        values = [row[key]["value"] for row in per_finding.values() if row[key]]
        macro[key] = {"value": float(np.mean(values)) if values else None, "findings": len(values)}
    both = [(row["tstr_auc"]["value"], row["trtr_auc"]["value"]) for row in per_finding.values()
            if row["tstr_trtr_ratio"]]
    macro["tstr_trtr_ratio"] = {"value": float(np.mean([s for s, _ in both]) / np.mean([r for _, r in both]))
                                if both else None, "findings": len(both)}
    gaps = [abs(row["prevalence"]["synthetic"] - row["prevalence"]["real_train"]) for row in per_finding.values()]
    macro["max_prevalence_gap"] = {"value": float(max(gaps)), "findings": len(gaps)}
    return macro
