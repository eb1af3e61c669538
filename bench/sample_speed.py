"""Sampling speed: images/s of each sampler for one trained run (or an untrained network of a config).

Runs every sampler on the same label vectors and seeds in the same process, so the ratios hold
under any machine load. Speed only: the quality of each sampler's images is measured by sampling a
set with it and running `synthgen validate` (see docs/PERFORMANCE.md).

    .venv/bin/python bench/sample_speed.py --run runs/pm32/run --n 64
    .venv/bin/python bench/sample_speed.py --config configs/train/pneumoniamnist32.yaml --size 32
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from synthgen.model.config import SAMPLERS_OF, Sampler
from synthgen.model.config_files import load_train_config
from synthgen.model.labels import LabelSpace
from synthgen.model.network import build_unet
from synthgen.model.pipeline import DiffusionPipeline

# (sampler, steps): the fast defaults against slow references (vp: 1000-step ancestral; edm: Heun-50);
# a model is run with the rows its parametrization supports (usable_settings).
SETTINGS = [(Sampler.HEUN, 8), (Sampler.HEUN, 10), (Sampler.HEUN, 12), (Sampler.HEUN, 18), (Sampler.HEUN, 50),
            (Sampler.DPM_SOLVER, 10), (Sampler.DPM_SOLVER, 20), (Sampler.DPM_SOLVER, 40), (Sampler.DDIM, 20),
            (Sampler.DDIM, 50),
            (Sampler.DDPM, 1000)]


def usable_settings(pipeline: DiffusionPipeline) -> list[tuple[Sampler, int]]:
    return [(s, n) for s, n in SETTINGS if s in SAMPLERS_OF[pipeline.diffusion.parametrization]]


def load_pipeline(args: argparse.Namespace) -> DiffusionPipeline:
    if args.run:
        return DiffusionPipeline.load(args.run / "model")
    config = load_train_config(args.config)
    labels = LabelSpace(("a", "b"))
    return DiffusionPipeline(build_unet(config.network, labels.dim).eval(), config.network, config.diffusion,
                             labels, args.size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a trained run folder")
    parser.add_argument("--config", type=Path, default=Path("configs/train/pneumoniamnist32.yaml"))
    parser.add_argument("--size", type=int, default=32, help="image side when no --run is given")
    parser.add_argument("--n", type=int, default=64, help="images per sampler (one batch)")
    parser.add_argument("--ddpm-n", type=int, default=16, help="images for the slow ddpm reference")
    args = parser.parse_args()
    pipeline = load_pipeline(args)
    classes = len(pipeline.labels.classes)
    print(f"{'sampler':<10}{'steps':>6}{'images':>8}{'seconds':>9}{'images/s':>10}")
    rates = {}
    for sampler, steps in usable_settings(pipeline):
        n = args.ddpm_n if sampler is Sampler.DDPM else args.n
        class_indices = np.arange(n) % classes
        findings = np.zeros((n, len(pipeline.labels.findings)), dtype=np.uint8)
        conditions = pipeline.labels.encode(class_indices, findings if pipeline.labels.findings else None)
        pipeline(conditions[:2], [0, 1], sampler, min(steps, 2))  # warm-up
        start = time.perf_counter()
        pipeline(conditions, list(range(n)), sampler, steps)
        seconds = time.perf_counter() - start
        rates[(sampler, steps)] = n / seconds
        print(f"{sampler.value:<10}{steps:>6}{n:>8}{seconds:>9.2f}{n / seconds:>10.2f}")
    slowest = min(rates, key=rates.get)
    for (sampler, steps), rate in rates.items():
        print(f"{sampler.value}-{steps}: {rate / rates[slowest]:.1f}x the images/s of {slowest[0].value}-{slowest[1]}")
    print(f"threads: {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
