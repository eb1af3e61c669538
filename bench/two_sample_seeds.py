"""How much the classifier two-sample AUC moves with its own seed: the test of `synthgen validate`,
repeated with seeds 0..N-1 (each seed deals other real patients to the quarters, draws other
synthetic halves and trains the CNN from another start), on each synthetic set against one real set.

    OMP_NUM_THREADS=1 python bench/two_sample_seeds.py runs/pm32/data runs/gan/synthetic runs/diffusion/synthetic \\
        --seeds 5

One run's interval bootstraps the held-out images only, so two sets whose single-run AUCs differ by
less than this spread are not told apart by one run (`synthgen validate` now runs it once per `--seeds`).
One JSON line per set: per-seed AUCs (real vs synthetic, real vs real), their mean and standard deviation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synthgen.imageset import ImageSet  # noqa: E402
from validation.two_sample import TwoSampleOptions, two_sample_test  # noqa: E402


def labelled_pixels(image_set: ImageSet, rows: np.ndarray, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([classes.index(image_set.rows[i]["label"]) for i in rows])
    return image_set.load_pixels(rows).astype(np.float32), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", type=Path, help="prepared real set (its train split is the real side, as in validate)")
    parser.add_argument("synthetic", type=Path, nargs="+", help="synthetic image sets")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    real = ImageSet.open(args.real)
    classes = list(real.classes)
    train = real.indices("train")
    real_side = (*labelled_pixels(real, train, classes), np.array([real.rows[i]["patient_id"] for i in train]))
    for path in args.synthetic:
        synthetic = ImageSet.open(path)
        other = labelled_pixels(synthetic, np.arange(len(synthetic.rows)), classes)
        summary = two_sample_test(real_side, other, len(classes), TwoSampleOptions(), 200, 0,
                                  repeats=args.seeds).summary
        print(json.dumps({"set": str(path), **{
            name: {"per_seed": [round(v, 4) for v in summary[name].get("per_seed", [summary[name]["auc"]["value"]])],
                   "mean": round(summary[name]["auc"]["value"], 4), "std": summary[name]["auc"]["seed_std"]}
            for name in ("real_vs_synthetic", "real_vs_real")}}), flush=True)


if __name__ == "__main__":
    main()
