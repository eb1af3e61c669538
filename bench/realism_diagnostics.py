"""Where does a trained edm model lose realism? Real test images are noised to a level sigma and
denoised back by the model's Heun sampler (the grid truncated at sigma); the Fréchet distance of the
reconstructions to the real training images (validate's classifier feature space) shows at which
noise levels the model departs from real data: a small sigma tests fine detail and texture, a large
one the global structure, sigma_max is plain sampling. Printed beside the real test images' own FD.

    OMP_NUM_THREADS=1 .venv/bin/python bench/realism_diagnostics.py --run runs/x/run --data runs/pm32-data --n 256
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch

from synthgen.imageset import ImageSet
from synthgen.model.config import Parametrization
from synthgen.model.edm import HeunLoop
from synthgen.model.pipeline import DiffusionPipeline
from validation.classifier import Recipe, train_classifier
from validation.features import classifier_encoder
from validation.image_statistics import laplacian_variance
from validation.realism import frechet_distance


@torch.no_grad()
def reconstruct(pipeline: DiffusionPipeline, images: np.ndarray, conditions: torch.Tensor, sigma: float,
                steps: int, seed: int, device: str = "cpu") -> np.ndarray:
    """Noise [0, 1] images to `sigma` (in the model's [-1, 1] space) and run Heun from there to 0."""
    config = dataclasses.replace(pipeline.diffusion, sigma_max=sigma)
    x = torch.from_numpy(images).unsqueeze(1).float() * 2 - 1
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    x, noise, conditions = x.to(device), noise.to(device), conditions.to(device)
    pipeline.unet.to(device)
    loop = HeunLoop(config, steps)
    # HeunLoop starts from noise * sigma_max: pass (x + sigma * noise) / sigma as its "noise".
    out = loop.run(lambda z, t: pipeline._guided_output(z, t, conditions, 1.0), (x + sigma * noise) / sigma, [])
    return ((out.clamp(-1, 1)[:, 0] + 1) / 2).cpu().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a trained edm run folder")
    parser.add_argument("--data", type=Path, required=True, help="the real image set it was trained on")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--steps", type=int, default=12, help="Heun steps from sigma_max (fewer below)")
    parser.add_argument("--sigmas", default="0.05,0.2,0.5,1,2,5,80")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    pipeline = DiffusionPipeline.load(args.run / "model")
    if pipeline.diffusion.parametrization is not Parametrization.EDM:
        raise SystemExit("realism_diagnostics needs an edm model")
    real = ImageSet.open(args.data)
    train, test, labels = real.indices("train"), real.indices("test"), real.labels()
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(test, size=min(args.n, len(test)), replace=False))
    train_pixels = real.load_pixels(train)
    encoder = classifier_encoder(train_classifier(train_pixels, labels[train], len(real.classes), Recipe(), 0), "bench")
    reference = encoder.embed(train_pixels)
    test_pixels = real.load_pixels(rows)
    conditions = pipeline.labels.encode(labels[rows], None)
    print(f"real test images: FD {frechet_distance(reference, encoder.embed(test_pixels)):.3f}, "
          f"Laplacian variance {laplacian_variance(test_pixels).mean():.5f}")
    print("| sigma | Heun steps | FD to real train | Laplacian variance | mean abs change |")
    print("|---:|---:|---:|---:|---:|")
    full = HeunLoop(pipeline.diffusion, args.steps).sigmas[:-1].numpy()
    for sigma in (float(s) for s in args.sigmas.split(",")):
        steps = max(2, int(np.sum(full <= sigma)))  # the grid's own density below sigma
        out = reconstruct(pipeline, test_pixels, conditions, min(sigma, pipeline.diffusion.sigma_max), steps, 1,
                          args.device)
        print(f"| {sigma:g} | {steps} | {frechet_distance(reference, encoder.embed(out)):.3f} | "
              f"{laplacian_variance(out).mean():.5f} | {np.abs(out - test_pixels).mean():.4f} |", flush=True)


if __name__ == "__main__":
    main()
