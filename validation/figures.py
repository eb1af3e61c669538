"""The report's figures, drawn with matplotlib's Agg backend and returned as base64 PNG strings."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # headless; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

REGIME_COLORS = {"TRTR": "#1f77b4", "TSTR": "#d62728", "TRTS": "#9467bd", "R+S": "#2ca02c"}
SET_COLORS = {"real_train": "#1f77b4", "real_test": "#7f7f7f", "synthetic": "#d62728"}
SET_NAMES = {"real_train": "real train", "real_test": "real test", "synthetic": "synthetic"}


def to_base64_png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def mosaic(images: np.ndarray, columns: int) -> np.ndarray:
    """Tile (N, H, W) images into one array, `columns` wide, with a 1-pixel white gap."""
    n, h, w = images.shape
    rows = max(1, -(-n // columns))
    canvas = np.ones((rows * (h + 1) - 1, columns * (w + 1) - 1), dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = image
    return canvas


def sample_grid(real: np.ndarray, synthetic: np.ndarray, columns: int = 6) -> str:
    """Real images beside synthetic ones for one class."""
    figure, axes = plt.subplots(1, 2, figsize=(8, 8 * max(1, -(-len(real) // columns)) / columns / 2 + 0.6))
    for axis, images, title in ((axes[0], real, "real (train)"), (axes[1], synthetic, "synthetic")):
        axis.imshow(mosaic(images, columns), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axis.set_title(title)
        axis.axis("off")
    return to_base64_png(figure)


def roc_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], classes: list[str]) -> str:
    """ROC per class (one panel each; binary sets show the second class only), a line per regime.
    `curves` maps regime -> (seed-averaged probabilities (N, K), labels (N,))."""
    shown = classes[1:] if len(classes) == 2 else classes
    figure, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 4), squeeze=False)
    for axis, name in zip(axes[0], shown):
        c = classes.index(name)
        for regime, (probs, labels) in curves.items():
            fpr, tpr, _ = roc_curve(labels == c, probs[:, c])
            style = "--" if regime == "TRTS" else "-"
            axis.plot(fpr, tpr, style, color=REGIME_COLORS.get(regime), label=regime, linewidth=1.4)
        axis.plot([0, 1], [0, 1], ":", color="#999999", linewidth=1)
        axis.set(title=f"{name} vs rest" if len(classes) > 2 else name, xlabel="false positive rate",
                 ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01))
        axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return to_base64_png(figure)


def regime_auc_figure(regimes: dict) -> str:
    """Macro ROC-AUC of every regime with its 95 % CI; the TRTR value as a reference line."""
    names = list(regimes)
    values = np.array([regimes[n]["metrics"]["auc_macro"]["value"] for n in names])
    lows = np.array([regimes[n]["metrics"]["auc_macro"]["low"] or v for n, v in zip(names, values)])
    highs = np.array([regimes[n]["metrics"]["auc_macro"]["high"] or v for n, v in zip(names, values)])
    figure, axis = plt.subplots(figsize=(1.0 + 0.9 * len(names), 3.4))
    colors = [REGIME_COLORS.get(n, "#8c8c8c") for n in names]
    axis.bar(names, values, color=colors, yerr=[values - lows, highs - values], capsize=4)
    axis.axhline(regimes["TRTR"]["metrics"]["auc_macro"]["value"], color="#1f77b4", linestyle="--", linewidth=1)
    axis.set(ylabel="macro ROC-AUC", ylim=(max(0.0, min(lows.min(), 0.5) - 0.05), 1.0))
    axis.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    return to_base64_png(figure)


def histogram_figure(histograms: dict[str, dict[str, list[float]]], bins: int) -> str:
    """Grey-level histograms per class: real train, real test and synthetic."""
    figure, axes = plt.subplots(1, len(histograms), figsize=(3.6 * len(histograms), 3), squeeze=False)
    centers = (np.arange(bins) + 0.5) / bins
    for axis, (name, sets) in zip(axes[0], histograms.items()):
        for set_name, values in sets.items():
            axis.plot(centers, values, color=SET_COLORS.get(set_name), label=SET_NAMES.get(set_name, set_name))
        axis.set(title=name, xlabel="intensity", ylabel="share of pixels")
        axis.legend(fontsize=8)
    figure.tight_layout()
    return to_base64_png(figure)


def training_curve_figure(curves: dict) -> str:
    figure, axis = plt.subplots(figsize=(7, 3.2))
    xs = np.array([np.nan if x is None else x for x in curves["xs"]], dtype=float)
    for name, values in curves["series"].items():
        axis.plot(xs, np.array([np.nan if v is None else v for v in values], dtype=float), label=name, linewidth=1)
    positive = all(v is None or v > 0 for values in curves["series"].values() for v in values)
    axis.set(xlabel=curves["x"], ylabel="loss", yscale="log" if positive else "linear")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return to_base64_png(figure)


def most_synthetic_figure(images: np.ndarray, probabilities: list[float]) -> str:
    """The held-out synthetic images the two-sample CNN was surest about, with its P(synthetic)."""
    figure, axes = plt.subplots(1, len(images), figsize=(1.3 * len(images), 1.7), squeeze=False)
    for axis, image, probability in zip(axes[0], images, probabilities):
        axis.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axis.set_title(f"{probability:.3f}" if probability < 0.999 else f"1−{1 - probability:.0e}", fontsize=8)
        axis.axis("off")
    return to_base64_png(figure)


def laplacian_figure(histogram: dict) -> str:
    """Distribution of log10 Laplacian variance per image: real train, real test, synthetic."""
    edges = np.array(histogram["edges"])
    centers = (edges[:-1] + edges[1:]) / 2
    figure, axis = plt.subplots(figsize=(5, 3))
    for set_name, shares in histogram.items():
        if set_name != "edges":
            axis.plot(centers, shares, color=SET_COLORS.get(set_name), label=SET_NAMES.get(set_name, set_name))
    axis.set(xlabel="log10 variance of the Laplacian (per image)", ylabel="share of images")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return to_base64_png(figure)
