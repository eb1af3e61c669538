"""Wall time of `synthgen validate` on 5 000 real + 5 000 synthetic 64² images with 3 seeds.

    .venv/bin/python bench/validate_speed.py                     # target: <= 15 min on 2 CPU cores
    .venv/bin/python bench/validate_speed.py --n-real 1000 --n-synthetic 1000 --seeds 1   # quick look

Both sets are built-in phantoms (5 classes; no shared data needed): the real one with a 10 %
patient-level test split and the rest for training, the synthetic one from another seed and
relabelled `synthetic`. Prints the stage times recorded in metrics.json and the training rate of
the downstream classifiers, next to a bare loop of the same network, batch and steps (the
baseline: what the recipe's sampling and augmentation cost on top of the network itself).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from synthgen.chest_phantom import phantom
from synthgen.imageset import ImageSet, ImageSetWriter
from validation.api import validate
from validation.classifier import Recipe, build_network

TARGET_S = 15 * 60


def as_synthetic(source: Path, out: Path) -> Path:
    """Copy a phantom set as kind `synthetic` (same pixels, labels and patients)."""
    image_set = ImageSet.open(source)
    pixels = (image_set.load_pixels() * 255).round().astype(np.uint8)
    with ImageSetWriter(out, name="phantom-synthetic", kind="synthetic", classes=image_set.classes,
                        image_size=image_set.image_size) as writer:
        for row, image in zip(image_set.rows, pixels):
            writer.add(image, label=row["label"], patient_id="SYN-" + row["patient_id"], split="train",
                       source=row["source"])
        writer.finish({"generator": "phantom stand-in for a synthetic set", "source": str(source)})
    return out


def bare_loop_rate(recipe: Recipe, size: int, n_classes: int, steps: int) -> float:
    """Images/s of a plain training loop of the same network and batch on random data."""
    model = build_network(recipe, n_classes, seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate)
    x = torch.rand(recipe.batch_size, 1, size, size)
    y = torch.randint(0, n_classes, (recipe.batch_size,))
    start = time.perf_counter()
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return steps * recipe.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-real", type=int, default=5500, help="real images (10 %% become the test split)")
    parser.add_argument("--n-synthetic", type=int, default=5000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=Recipe().steps)
    parser.add_argument("--dir", type=Path, help="where to write the sets (default: a temp folder)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice; 1 is faster "
                        "when other processes load the cores)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="validate-bench-", dir=args.dir) as tmp:
        tmp = Path(tmp)
        phantom(tmp / "real", n=args.n_real, size=args.size, seed=0, val_fraction=0.0, test_fraction=0.1)
        phantom(tmp / "synthetic-source", n=args.n_synthetic, size=args.size, seed=1)
        synthetic = as_synthetic(tmp / "synthetic-source", tmp / "synthetic")
        recipe = Recipe(steps=args.steps)
        start, cpu_start = time.perf_counter(), time.process_time()
        result = validate(tmp / "real", tmp / "real", synthetic, tmp / "out", seeds=args.seeds, recipe=recipe)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        trainings = 7 * args.seeds
        rate = trainings * recipe.steps * recipe.batch_size / result.metrics["timings"]["downstream_s"]
        baseline = bare_loop_rate(recipe, args.size, len(result.metrics["data"]["classes"]), steps=50)
        print(json.dumps(result.metrics["data"]["real_train"]["images"]), "real train,",
              result.metrics["data"]["real_test"]["images"], "real test,",
              result.metrics["data"]["synthetic"]["images"], "synthetic")
        print("timings:", json.dumps(result.metrics["timings"]))
        print(f"wall {wall:.0f} s, CPU {cpu:.0f} s, for {args.seeds} seed(s), {trainings} classifiers x "
              f"{recipe.steps} steps ({'within' if wall <= TARGET_S else 'OVER'} the {TARGET_S // 60} min target; "
              "CPU time / threads is the wall time on idle cores)")
        print(f"downstream training {rate:.0f} images/s vs bare loop {baseline:.0f} images/s "
              f"(ratio {rate / baseline:.2f}); torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
