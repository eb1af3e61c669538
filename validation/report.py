"""report.html: one self-contained file (figures embedded as base64 PNG) from metrics.json's numbers."""

from __future__ import annotations

import base64
import math
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from validation import figures
from validation.data import ValidationData
from validation.regimes import RegimeResult
from validation.verdict import VERDICTS

TEMPLATES = Path(__file__).parent / "templates"
SAMPLES_PER_CLASS = 12
REALISM_ROWS = [
    ("fd", "Fréchet distance (FD)", "lower"),
    ("kid", "kernel inception distance (KID)", "lower"),
    ("precision", "precision (realistic share)", "higher"),
    ("recall", "recall (real variety covered)", "higher"),
    ("density", "density", "≈ 1"),
    ("coverage", "coverage", "higher"),
]


def format_ci(estimate: dict | None, digits: int = 3, show_std: bool = True) -> str:
    """'0.912 [0.890, 0.931] ±0.004' for an Estimate dict; '—' when missing."""
    if not estimate or estimate.get("value") is None:
        return "—"
    text = f"{estimate['value']:.{digits}f}"
    if estimate.get("low") is not None:
        text += f" [{estimate['low']:.{digits}f}, {estimate['high']:.{digits}f}]"
    if show_std and estimate.get("seed_std"):
        text += f" ±{estimate['seed_std']:.{digits}f}"
    return text


def format_p(p: float | None, resamples: int) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    return f"< {1 / resamples:.3g}" if p == 0 else f"{p:.3f}"


def sample_grids(data: ValidationData, seed: int) -> list[dict]:
    rng = np.random.default_rng([seed, 17])
    grids = []
    for c, name in enumerate(data.classes):
        picks = []
        for images, labels in ((data.train_images, data.train_labels), (data.synthetic_images, data.synthetic_labels)):
            members = np.flatnonzero(labels == c)
            picks.append(images[np.sort(rng.choice(members, size=min(SAMPLES_PER_CLASS, len(members)), replace=False))])
        grids.append({"name": name, "png": figures.sample_grid(*picks)})
    return grids


def roc_inputs(results: dict[str, RegimeResult]) -> dict:
    return {name: (r.probs.mean(axis=0), r.labels) for name, r in results.items()}


def report_environment() -> Environment:
    """The report's templates (validation/templates), strict: a missing key is an error, not a blank."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined
    )
    environment.filters["ci"] = format_ci
    environment.filters["pvalue"] = format_p
    return environment


def render_report(metrics: dict, data: ValidationData, results: dict[str, RegimeResult], seed: int,
                  most_synthetic: np.ndarray) -> str:
    """`most_synthetic`: pixels of the images listed in metrics["two_sample"]["most_synthetic"]."""
    environment = report_environment()
    audit, training = metrics.get("audit"), metrics.get("training_curves")
    drawn = {
        "regime_auc": figures.regime_auc_figure(metrics["utility"]["regimes"]),
        "roc": figures.roc_figure(roc_inputs(results), data.classes),
        "histograms": figures.histogram_figure(metrics["intensity"]["histograms"], metrics["intensity"]["bins"]),
        "training": figures.training_curve_figure(training) if training else None,
        "laplacian": figures.laplacian_figure(metrics["high_frequency"]["log10_histogram"]),
        "most_synthetic": figures.most_synthetic_figure(
            most_synthetic, [row["probability_synthetic"] for row in metrics["two_sample"]["most_synthetic"]]
        ) if len(most_synthetic) else None,
    }
    montages = [base64.b64encode(Path(p).read_bytes()).decode("ascii") for p in (audit or {}).get("montages", [])]
    space_columns = sorted({k for row in (audit or {}).get("spaces", []) for k in row}, key=lambda k: (k != "name", k))
    thresholds = metrics["thresholds"]
    return environment.get_template("report.html.j2").render(
        version=metrics["synthgen_version"],
        created=metrics["created"],
        data=metrics["data"],
        verdicts=metrics["verdicts"],
        verdict_cards=VERDICTS,
        warnings=metrics["warnings"],
        sample_grids=sample_grids(data, seed),
        utility=metrics["utility"],
        findings=metrics.get("findings"),  # validation/findings.py; None for sets without findings
        recipe_text=_recipe_text(metrics["recipe"]),
        seeds=metrics["seeds"],
        figures=drawn,
        realism=metrics["realism"],
        realism_rows=REALISM_ROWS,
        realism_resamples=metrics["options"]["realism_resamples"],
        realism_k=metrics["options"]["realism_k"],
        encoder=metrics["encoder"],
        diversity=metrics["diversity"],
        intensity=metrics["intensity"],
        high_frequency=metrics["high_frequency"],
        two_sample=metrics["two_sample"],
        external_tests=metrics["external_tests"],
        audit=audit,
        audit_space_columns=space_columns,
        audit_montages=montages,
        training=training,
        weights=metrics.get("generator_weights"),
        thresholds_text=(
            f"utility and label fidelity good at an AUC ratio ≥ {thresholds['auc_ratio_good']}, moderate ≥ "
            f"{thresholds['auc_ratio_moderate']}; realism good at an FD ratio (synthetic / upper 95 % bound of real-vs-real) ≤ "
            f"{thresholds['fd_ratio_good']}, moderate ≤ {thresholds['fd_ratio_moderate']}, and by the two-sample CNN: "
            f"good at an AUC ≤ {thresholds['two_sample_auc_good']} (or ≤ the real-vs-real upper bound), low above "
            f"{thresholds['two_sample_auc_low']}, the worse of the two counting; ratios are not judged "
            f"when TRTR AUC < {thresholds['trtr_auc_min']}"
        ),
    )


def _recipe_text(recipe: dict) -> str:
    return (
        f"Every regime trains the same MONAI network ({recipe['network']}) with the same recipe: "
        f"{recipe['steps']} AdamW steps of {recipe['batch_size']} class-balanced images (one-cycle learning rate, "
        f"peak {recipe['learning_rate']}), small shifts and brightness/contrast changes, no flips."
        + _mixing_text(recipe.get("real_share"))  # absent from the metrics of earlier versions: by count
    )


def _mixing_text(real_share: float | None) -> str:
    if real_share is None:
        return " Where real and synthetic images are pooled, each image of a class is drawn equally often."
    return (f" Where real and synthetic images are pooled, {real_share * 100:g} % of each class's draws are real "
            f"images (real_share), whatever the two sets' sizes.")
