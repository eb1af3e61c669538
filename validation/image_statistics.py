"""Pixel-space checks per class: diversity (MS-SSIM between random pairs) and intensity histograms.

Diversity: the mean MS-SSIM of random pairs of different images of one class (MONAI's
MultiScaleSSIMMetric). Higher than real means less varied images (mode collapse); far lower
can mean noise. Intensity: the Wasserstein-1 distance between the grey-level histograms of a
class in a set and in the real training set, in units of the full intensity range (0.01 = a
shift of 1 % of the range); the real test set gives the real-versus-real reference.
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
