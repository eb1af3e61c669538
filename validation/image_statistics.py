"""Pixel-space checks: diversity (MS-SSIM between random pairs), intensity histograms per class and
high-frequency energy (variance of the Laplacian).

Diversity: the mean MS-SSIM of random pairs of different images of one class (MONAI's
MultiScaleSSIMMetric). Higher than real means less varied images (mode collapse); far lower
can mean noise. Intensity: the Wasserstein-1 distance between the grey-level histograms of a
class in a set and in the real training set, in units of the full intensity range (0.01 = a
shift of 1 % of the range); the real test set gives the real-versus-real reference.
High-frequency energy: the variance of each image's 4-neighbour Laplacian (pixels in [0, 1]),
averaged per class and weighted by the real training set's class mix, so a set is compared for
its grain and sharpness, not its class mix; the ratio to real train is the headline (1 = as sharp
and as grainy as real; the real test set's ratio is the reference).
"""

from __future__ import annotations

import numpy as np
import torch

from validation.stats import interval

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003
HISTOGRAM_BINS = 64


def ms_ssim_settings(size: int) -> tuple[int, tuple[float, ...]]:
    """Kernel size and scale weights that fit an image side: each scale halves the image, and the
    coarsest must still be larger than the kernel."""
    kernel = 7 if size >= 64 else 3
    scales = max(1, min(5, max(n for n in range(1, 6) if (kernel - 1) * 2 ** (n - 1) < size)))
    weights = np.array(MS_SSIM_WEIGHTS[:scales])
    return kernel, tuple(float(w) for w in weights / weights.sum())


def pair_ms_ssim(images: np.ndarray, pairs: int, rng: np.random.Generator) -> np.ndarray:
    """MS-SSIM of `pairs` random pairs of different images (N >= 2), as a 1-D array."""
    from monai.metrics import MultiScaleSSIMMetric

    kernel, weights = ms_ssim_settings(images.shape[-1])
    metric = MultiScaleSSIMMetric(spatial_dims=2, data_range=1.0, kernel_size=kernel, weights=weights,
                                  reduction="none")
    first = rng.integers(len(images), size=pairs)
    second = (first + rng.integers(1, len(images), size=pairs)) % len(images)  # never the same image
    a = torch.from_numpy(np.ascontiguousarray(images[first], dtype=np.float32)).unsqueeze(1)
    b = torch.from_numpy(np.ascontiguousarray(images[second], dtype=np.float32)).unsqueeze(1)
    with torch.no_grad():
        return metric(a, b).double().numpy().ravel()


def diversity(
    sets: dict[str, tuple[np.ndarray, np.ndarray]], classes: list[str], pairs: int, resamples: int, seed: int
) -> dict:
    """{class: {set name: Estimate dict of the mean pair MS-SSIM}} for sets {name: (images, labels)}."""
    rng = np.random.default_rng([seed, 11])
    result: dict = {}
    for c, name in enumerate(classes):
        result[name] = {}
        for set_name, (images, labels) in sets.items():
            members = images[labels == c]
            if len(members) < 2:
                continue
            scores = pair_ms_ssim(members, pairs, rng)
            draws = scores[rng.integers(len(scores), size=(resamples, len(scores)))].mean(axis=1)
            result[name][set_name] = interval(draws, float(scores.mean())).as_dict()
    return result


def image_histograms(images: np.ndarray, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """(N, bins) grey-level counts of each image over [0, 1]."""
    index = np.minimum((images.reshape(len(images), -1) * bins).astype(np.int64), bins - 1)
    index += bins * np.arange(len(images))[:, None]
    return np.bincount(index.ravel(), minlength=bins * len(images)).reshape(len(images), bins).astype(np.float64)


def histogram_wasserstein(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """W1 between histograms on equal bins over [0, 1] (rows are histograms; broadcasts)."""
    a = a / a.sum(axis=-1, keepdims=True)
    b = b / b.sum(axis=-1, keepdims=True)
    return np.abs(np.cumsum(a, axis=-1) - np.cumsum(b, axis=-1)).sum(axis=-1) / a.shape[-1]


def intensity(
    reference: tuple[np.ndarray, np.ndarray],
    queries: dict[str, tuple[np.ndarray, np.ndarray]],
    classes: list[str],
    resamples: int,
    seed: int,
) -> dict:
    """Per class: W1 of each query set's histogram to the reference's (Estimate dicts), and the
    normalised histograms themselves (for the report's figure)."""
    rng = np.random.default_rng([seed, 13])
    ref_images, ref_labels = reference
    result: dict = {"bins": HISTOGRAM_BINS, "distance": {}, "histograms": {}}
    for c, name in enumerate(classes):
        ref_hist = image_histograms(ref_images[ref_labels == c])
        ref_total = ref_hist.sum(axis=0)
        result["histograms"][name] = {"real_train": (ref_total / ref_total.sum()).round(6).tolist()}
        result["distance"][name] = {}
        for set_name, (images, labels) in queries.items():
            hist = image_histograms(images[labels == c])
            total = hist.sum(axis=0)
            result["histograms"][name][set_name] = (total / total.sum()).round(6).tolist()
            weights_q = rng.multinomial(len(hist), np.full(len(hist), 1 / len(hist)), size=resamples)
            weights_r = rng.multinomial(len(ref_hist), np.full(len(ref_hist), 1 / len(ref_hist)), size=resamples)
            draws = histogram_wasserstein(weights_q @ hist, weights_r @ ref_hist)
            value = float(histogram_wasserstein(total, ref_total))
            result["distance"][name][set_name] = interval(draws, value).as_dict()
    return result


def laplacian_variance(images: np.ndarray) -> np.ndarray:
    """Variance of the 4-neighbour Laplacian of each (N, H, W) image, edges mirrored (equals
    scipy.ndimage.laplace with mode="reflect", image by image)."""
    x = np.pad(np.asarray(images, dtype=np.float64), ((0, 0), (1, 1), (1, 1)), mode="symmetric")
    laplacian = x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:] - 4 * x[:, 1:-1, 1:-1]
    return laplacian.reshape(len(images), -1).var(axis=1)


def high_frequency(
    reference: tuple[np.ndarray, np.ndarray],
    queries: dict[str, tuple[np.ndarray, np.ndarray]],
    classes: list[str],
    resamples: int,
    seed: int,
) -> dict:
    """Class-weighted mean Laplacian variance of the reference (real train) and each query set,
    each query's ratio to the reference (Estimate dicts; bootstrap within classes), per-class
    means, and log10 histograms of the per-image values for the report's figure."""
    rng = np.random.default_rng([seed, 19])
    ref_images, ref_labels = reference
    class_weights = np.bincount(ref_labels, minlength=len(classes)) / len(ref_labels)
    sets = {"real_train": reference, **queries}
    values = {name: laplacian_variance(images) for name, (images, _) in sets.items()}
    means, draws = {}, {}
    for name, (_, labels) in sets.items():
        present = [c for c in range(len(classes)) if np.any(labels == c) and class_weights[c] > 0]
        weights = class_weights[present] / class_weights[present].sum()
        per_class = [values[name][labels == c] for c in present]
        means[name] = float(sum(w * v.mean() for w, v in zip(weights, per_class)))
        draws[name] = sum(w * v[rng.integers(len(v), size=(resamples, len(v)))].mean(axis=1)
                          for w, v in zip(weights, per_class))
    all_values = np.log10(np.concatenate(list(values.values())) + 1e-12)
    edges = np.linspace(all_values.min(), all_values.max() + 1e-9, 41)
    return {
        "measure": "variance of the 4-neighbour Laplacian per image (pixels in [0, 1]), mean per class weighted "
                   "by the real training set's class mix",
        "mean": {name: interval(draws[name], means[name]).as_dict() for name in sets},
        "ratio_to_real_train": {name: interval(draws[name] / draws["real_train"],
                                               means[name] / means["real_train"]).as_dict() for name in queries},
        "by_class": {classes[c]: {name: round(float(values[name][labels == c].mean()), 8)
                                  for name, (_, labels) in sets.items() if np.any(labels == c)}
                     for c in range(len(classes))},
        "log10_histogram": {"edges": edges.round(5).tolist(),
                            **{name: (np.histogram(np.log10(v + 1e-12), edges)[0] / len(v)).round(6).tolist()
                               for name, v in values.items()}},
    }
