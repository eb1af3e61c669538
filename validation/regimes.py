"""Downstream regimes: which images a classifier trains on and which it is tested on.

    TRTR    train real,                test real   (the reference)
    TSTR    train synthetic,           test real   (utility: TSTR/TRTR AUC is the headline)
    TRTS    the TRTR model,            test synthetic (label fidelity)
    R+S     train real + synthetic,    test real   (augmentation)
    R10     10 % of real,              test real   (low data; fractions configurable)
    R10+S   10 % of real + synthetic,  test real

Every regime uses the same recipe and, for a given seed, the same network initialisation and
the same low-data subset, so regimes differ only in their training images (a paired design).
Every regime tested on real images is also tested, with the same trained models, on each
external test set (other sites or intakes), beside the same-pool test split.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from synthgen.errors import SynthgenError
from validation.classifier import Recipe, predict, train_classifier
from validation.data import ValidationData
from validation.options import ValidateOptions

log = logging.getLogger(__name__)

DEFAULT_LOW_DATA = ValidateOptions.low_data


@dataclass(frozen=True)
class Regime:
    name: str
    description: str
    real_fraction: float  # share of the real training set used (0: none)
    synthetic: bool  # synthetic images added to the training pool
    test_on: str  # "real" or "synthetic"
    reuses: str | None = None  # evaluate this regime's trained model instead of training one


@dataclass
class RegimeResult:
    regime: Regime
    probs: np.ndarray  # (seeds, N_test, K)
    labels: np.ndarray  # (N_test,)
    train_sizes: list[int] = field(default_factory=list)  # per seed


def plan_regimes(low_data: tuple[float, ...] = DEFAULT_LOW_DATA) -> list[Regime]:
    for fraction in low_data:
        if not 0 < fraction < 1:
            raise SynthgenError(f"low-data fraction {fraction} must be between 0 and 1 (e.g. 0.1)")
    regimes = [
        Regime("TRTR", "train on real, test on real (reference)", 1.0, False, "real"),
        Regime("TSTR", "train on synthetic, test on real (utility)", 0.0, True, "real"),
        Regime("TRTS", "the TRTR model tested on synthetic (label fidelity)", 1.0, False, "synthetic", "TRTR"),
        Regime("R+S", "train on real + synthetic, test on real (augmentation)", 1.0, True, "real"),
    ]
    for fraction in sorted(set(low_data)):
        pct = f"{fraction * 100:g}"
        regimes.append(Regime(f"R{pct}", f"train on {pct} % of real, test on real", fraction, False, "real"))
        regimes.append(Regime(f"R{pct}+S", f"train on {pct} % of real + synthetic, test on real", fraction, True, "real"))
    return regimes


def low_data_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of a class-stratified `fraction` of the training set (at least one per class)."""
    rng = np.random.default_rng([seed, int(round(fraction * 1e6))])
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        keep = max(1, int(fraction * len(members) + 0.5))  # half rounds up
        chosen.append(rng.choice(members, size=keep, replace=False))
    return np.sort(np.concatenate(chosen))


def training_pool(data: ValidationData, regime: Regime, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The regime's training images, labels and which of them are real."""
    parts_x, parts_y = [], []
    if regime.real_fraction >= 1:
        parts_x.append(data.train_images), parts_y.append(data.train_labels)
    elif regime.real_fraction > 0:
        keep = low_data_subset(data.train_labels, regime.real_fraction, seed)
        parts_x.append(data.train_images[keep]), parts_y.append(data.train_labels[keep])
    real_count = sum(len(part) for part in parts_y)
    if regime.synthetic:
        parts_x.append(data.synthetic_images), parts_y.append(data.synthetic_labels)
    labels = np.concatenate(parts_y)
    return np.concatenate(parts_x), labels, np.arange(len(labels)) < real_count


def training_steps(regimes: list[Regime], seeds: list[int], recipe: Recipe) -> int:
    """Total optimiser steps of a run, for its progress bar."""
    return sum(recipe.steps for r in regimes if r.reuses is None) * len(seeds)


@dataclass
class RegimeRuns:
    results: dict[str, RegimeResult]  # tested on the same-pool real test split (TRTS: on synthetic)
    external: dict[str, dict[str, RegimeResult]]  # {external test set: {regime tested on real: result}}
    encoder_model: nn.Module  # the first seed's TRTR model (real train only): the default encoder


def _add_probs(results: dict[str, RegimeResult], regime: Regime, model: nn.Module, test: tuple, recipe: Recipe,
               train_size: int) -> None:
    images, labels = test
    result = results.setdefault(regime.name, RegimeResult(regime, np.empty((0,)), labels))
    probs = predict(model, images, recipe.eval_batch_size)[None]
    result.probs = probs if result.probs.size == 0 else np.concatenate([result.probs, probs])
    result.train_sizes.append(train_size)


def run_regimes(
    data: ValidationData,
    regimes: list[Regime],
    recipe: Recipe,
    seeds: list[int],
    on_step: Callable[[int], None] | None = None,
    external: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> RegimeRuns:
    """Train and evaluate every regime for every seed, on the test split and on each `external`
    {name: (images, labels)} test set."""
    n_classes = len(data.classes)
    external = external or {}
    results: dict[str, RegimeResult] = {}
    external_results: dict[str, dict[str, RegimeResult]] = {name: {} for name in external}
    encoder_model: nn.Module | None = None
    for seed in seeds:
        models: dict[str, nn.Module] = {}
        for regime in regimes:
            if regime.reuses is not None:
                model, size = models[regime.reuses], None
            else:
                x, y, is_real = training_pool(data, regime, seed)
                log.info("training %s (seed %d) on %d images", regime.name, seed, len(x))
                model, size = train_classifier(x, y, n_classes, recipe, seed, on_step, is_real), len(x)
                models[regime.name] = model
            size = size if size is not None else len(data.train_images)
            on_real = regime.test_on == "real"
            test = (data.test_images, data.test_labels) if on_real else (data.synthetic_images, data.synthetic_labels)
            _add_probs(results, regime, model, test, recipe, size)
            for name, external_test in external.items():
                if on_real:
                    _add_probs(external_results[name], regime, model, external_test, recipe, size)
        if encoder_model is None:
            encoder_model = models["TRTR"]
    assert encoder_model is not None
    return RegimeRuns(results, external_results, encoder_model)
