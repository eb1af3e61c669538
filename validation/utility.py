"""Downstream scores of every regime with bootstrap CIs, paired tests against TRTR and the headline.

Intervals combine the test-set sampling (bootstrap over test images, shared by every regime tested
on the real test set, so differences are paired) with the seed average (each resample scores the
mean over seeds). The spread over seeds is reported beside them.
"""

from __future__ import annotations

import numpy as np

from validation.regimes import RegimeResult
from validation.stats import bootstrap_weights, classification_scores, interval, paired_difference

REFERENCE = "TRTR"


def summarize_regimes(results: dict[str, RegimeResult], classes: list[str], resamples: int, seed: int) -> dict:
    rng = np.random.default_rng([seed, 5])
    weights = {
        test_on: bootstrap_weights(len(next(r.labels for r in results.values() if r.regime.test_on == test_on)),
                                   resamples, rng)
        for test_on in sorted({r.regime.test_on for r in results.values()})
    }
    ones = {test_on: np.ones((1, w.shape[1])) for test_on, w in weights.items()}
    regimes: dict = {}
    draws: dict[str, dict[str, np.ndarray]] = {}
    for name, result in results.items():
        test_on = result.regime.test_on
        per_seed = [classification_scores(p, result.labels, classes, ones[test_on]) for p in result.probs]
        sampled = [classification_scores(p, result.labels, classes, weights[test_on]) for p in result.probs]
        metrics = list(per_seed[0])
        draws[name] = {m: np.mean([s[m] for s in sampled], axis=0) for m in metrics}
        regimes[name] = {
            "description": result.regime.description,
            "test_on": test_on,
            "train_images": result.train_sizes,
            "test_images": len(result.labels),
            "seeds": len(result.probs),
            "metrics": {
                m: interval(
                    draws[name][m],
                    float(np.mean([s[m][0] for s in per_seed])),
                    float(np.std([s[m][0] for s in per_seed])),
                ).as_dict()
                for m in metrics
            },
            "per_seed": {m: [round(float(s[m][0]), 6) for s in per_seed] for m in ("auc_macro", "accuracy", "f1_macro")},
        }
    reference = regimes[REFERENCE]["metrics"]["auc_macro"]["value"]
    for name, summary in regimes.items():
        if name == REFERENCE:
            continue
        value = summary["metrics"]["auc_macro"]["value"] - reference
        comparison = paired_difference(draws[name]["auc_macro"], draws[REFERENCE]["auc_macro"], value)
        comparison["paired"] = summary["test_on"] == regimes[REFERENCE]["test_on"]
        summary["auc_macro_vs_trtr"] = comparison
    return {
        "regimes": regimes,
        "tstr_trtr_auc_ratio": _ratio(draws, regimes, "TSTR"),
        "trts_trtr_auc_ratio": _ratio(draws, regimes, "TRTS"),
        "bootstrap_resamples": resamples,
    }


def _ratio(draws: dict, regimes: dict, name: str) -> dict | None:
    if name not in regimes:
        return None
    value = regimes[name]["metrics"]["auc_macro"]["value"] / regimes[REFERENCE]["metrics"]["auc_macro"]["value"]
    return interval(draws[name]["auc_macro"] / draws[REFERENCE]["auc_macro"], value).as_dict()
