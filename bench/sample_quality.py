"""Sampler speed at equal quality: images/s and realism of each sampler on one trained run.

Every sampler draws the same N images (same seeds, same labels, classes in the real training
set's mix) from one trained run; each set is embedded with one downstream classifier trained on the real train split (the
encoder `synthgen validate` uses by default) and compared with the real train features: Fréchet
distance and KID. A real reference of the same size (the real test split) is scored the same way,
so the numbers say how far each sampler is from real at this N (FD is biased upwards at small N;
compare rows, not absolute values across N). Coverage and recall (k = 5, validate's definition, against
all real training images) compare equal-sized queries: the real test split and as many synthetic images.

    OMP_NUM_THREADS=1 .venv/bin/python bench/sample_quality.py --run runs/pm32/model --data runs/pm32/data --n 128
    ... --samplers dpm++-10,heun-50 --weights raw   (raw vs EMA weights; heun-50, 99 passes, is the reference)
    ... --samplers heun-12,heun-18 --churn 0,10,40   (EDM's stochastic churn: fresh noise at each Heun step)
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import torch

from synthgen.imageset import ImageSet
from synthgen.model.checkpoint import load_checkpoint
from synthgen.model.config import Sampler
from synthgen.model.pipeline import DiffusionPipeline, to_pixels
from validation.classifier import Recipe, train_classifier
from validation.features import classifier_encoder
from validation.image_statistics import laplacian_variance
from validation.realism import frechet_distance, kernel_inception_distance, precision_recall_density_coverage

from sample_speed import usable_settings  # bench/ script beside this one: the same (sampler, steps) rows


def sample(pipeline: DiffusionPipeline, classes: np.ndarray, sampler: Sampler, steps: int, guidance: float,
           batch: int, device: str = "cpu", churn: float = 0.0) -> tuple[np.ndarray, float]:
    """One image per class index (seed = its position) in [0, 1], and the seconds they took."""
    n = len(classes)
    findings = np.zeros((n, len(pipeline.labels.findings)), dtype=np.uint8) if pipeline.labels.findings else None
    conditions = pipeline.labels.encode(classes, findings)
    start, images = time.perf_counter(), []
    for first in range(0, n, batch):
        chunk = slice(first, min(first + batch, n))
        images.append(pipeline(conditions[chunk], list(range(chunk.start, chunk.stop)), sampler, steps, guidance,
                               device, churn))
    seconds = time.perf_counter() - start
    pixels = to_pixels(torch.cat(images), pipeline.bit_depth)  # quantized as `synthgen sample` stores them
    return pixels.astype(np.float32) / np.float32(np.iinfo(pixels.dtype).max), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a trained run's model folder (weights + config.json)")
    parser.add_argument("--data", type=Path, required=True, help="the real image set it was trained on")
    parser.add_argument("--n", type=int, default=128, help="images per sampler")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default="cpu", help="where to sample (cpu, cuda)")
    parser.add_argument("--guidance", default="1.0", help="comma-separated guidance scales, each with every sampler")
    parser.add_argument("--churn", default="0", help="comma-separated EDM S_churn values, each with the heun rows")
    parser.add_argument("--samplers", default="all", help="comma-separated sampler-steps, e.g. dpm++-20,ddpm-1000")
    parser.add_argument("--weights", choices=["ema", "raw"], default="ema",
                        help="ema: the saved model (the chosen EMA profile); raw: the last checkpoint's trained weights")
    args = parser.parse_args()
    pipeline = DiffusionPipeline.load(args.run)
    if args.weights == "raw":  # the run folder keeps the un-averaged network in its last checkpoint
        pipeline.unet.load_state_dict(load_checkpoint(args.run.parent / "checkpoints" / "last.pt")["model"])
    real = ImageSet.open(args.data)
    train, test = real.indices("train"), real.indices("test")
    labels = real.labels()
    encoder = classifier_encoder(
        train_classifier(real.load_pixels(train), labels[train], len(real.classes), Recipe(), seed=0), "bench"
    )
    reference = encoder.embed(real.load_pixels(train))
    # Synthetic classes in the real training mix (FD in a classifier's feature space is sensitive to it).
    shares = np.bincount(labels[train], minlength=len(real.classes)) * args.n / len(train)
    counts = np.floor(shares).astype(int)
    counts[np.argsort(counts - shares)[: args.n - counts.sum()]] += 1
    classes = np.repeat(np.arange(len(real.classes)), counts)
    rng = np.random.default_rng(0)
    test_pixels = real.load_pixels(rng.choice(test, size=min(args.n, len(test)), replace=False))
    real_test = encoder.embed(test_pixels)
    # High-frequency energy relative to the real test images (validate's Laplacian ratio, unweighted).
    real_laplacian = float(laplacian_variance(test_pixels).mean())
    # Coverage depends on the query's size: the real test split and an equal draw of each synthetic set,
    # both against all real training images (validate's reference).
    synthetic_draw = rng.choice(args.n, size=min(len(real_test), args.n), replace=False)

    def coverage_recall(features: np.ndarray) -> str:
        scores = precision_recall_density_coverage(reference, features, k=5)
        return f"{scores['coverage']:>10.3f}{scores['recall']:>8.3f}"

    print(f"{'set':<26}{'images':>7}{'images/s':>10}{'FD':>9}{'KID':>10}{'Laplacian':>11}{'coverage':>10}{'recall':>8}")
    print(f"{'real test':<26}{len(real_test):>7}{'':>10}{frechet_distance(reference, real_test):>9.3f}"
          f"{kernel_inception_distance(reference, real_test):>10.4f}{1.0:>11.2f}{coverage_recall(real_test)}")
    wanted = None if args.samplers == "all" else set(args.samplers.split(","))
    guidances, churns = ([float(v) for v in text.split(",")] for text in (args.guidance, args.churn))
    for (sampler, steps), guidance, churn in itertools.product(usable_settings(pipeline), guidances, churns):
        name = f"{sampler.value}-{steps}"
        if (wanted is not None and name not in wanted) or (churn and sampler is not Sampler.HEUN):
            continue
        images, seconds = sample(pipeline, classes, sampler, steps, guidance, args.batch, args.device, churn)
        features = encoder.embed(images)
        name += f" w={guidance:g}" + (f" churn={churn:g}" if churn else "")
        print(f"{name:<26}{args.n:>7}{args.n / seconds:>10.2f}{frechet_distance(reference, features):>9.3f}"
              f"{kernel_inception_distance(reference, features):>10.4f}"
              f"{laplacian_variance(images).mean() / real_laplacian:>11.2f}{coverage_recall(features[synthetic_draw])}",
              flush=True)


if __name__ == "__main__":
    main()
