"""Sanity controls for `synthgen validate` on a prepared real image set (docs/VALIDATION.md).

    .venv/bin/synthgen prepare ../shared/data/pneumoniamnist/pneumoniamnist.npz --out /tmp/pm32 --size 32 \\
        --resplit --val-fraction 0.45
    .venv/bin/python bench/validate_sanity.py /tmp/pm32 --out /tmp/pm32-sanity

The set's `val` split stands in for the synthetic set in three ways, each validated against its
`train` split (real train) and `test` split (real test):

    disjoint-real   the val images as they are: a perfect generator; expect TSTR/TRTR ~ 1, FD ~ reference
    shuffled-labels the val images with their labels permuted: realistic images, wrong labels;
                    expect low utility and low label fidelity, realism still good
    phantom         built-in phantom images (normal -> the set's first class, any finding -> the
                    others), as many as val: expect low realism and low utility
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from synthgen.chest_phantom import NORMAL, phantom
from synthgen.imageset import ImageSet, ImageSetWriter
from validation.api import validate

CONTROLS = ("disjoint-real", "shuffled-labels", "phantom")


def write_synthetic(out: Path, classes: list[str], size: int, pixels: np.ndarray, labels: list[str], note: str) -> Path:
    with ImageSetWriter(out, name=out.name, kind="synthetic", classes=classes, image_size=size, overwrite=True) as w:
        for i, (image, label) in enumerate(zip(pixels, labels)):
            w.add(image, label=label, patient_id=f"SYN-{i:06d}", split="train", source=f"{note}#{i}")
        w.finish({"generator": note})
    return out


def control_set(real: ImageSet, control: str, out: Path, seed: int) -> Path:
    val = real.indices("val")
    top = 255 if real.info["bit_depth"] == 8 else 65535
    dtype = np.uint8 if top == 255 else np.uint16
    if control == "disjoint-real":
        return write_synthetic(out, real.classes, real.image_size,
                               (real.load_pixels(val) * top).round().astype(dtype),
                               [real.rows[i]["label"] for i in val], "val split of " + str(real.root))
    if control == "shuffled-labels":
        labels = [real.rows[i]["label"] for i in np.random.default_rng(seed).permutation(val)]
        return write_synthetic(out, real.classes, real.image_size,
                               (real.load_pixels(val) * top).round().astype(dtype), labels,
                               "val split with permuted labels")
    source = phantom(out.with_name(out.name + "-source"), n=len(val), size=real.image_size, seed=seed, overwrite=True)
    others = real.classes[1:] or real.classes
    labels = [real.classes[0] if row["label"] == NORMAL else others[i % len(others)]
              for i, row in enumerate(source.rows)]
    pixels = (source.load_pixels() * 255).round().astype(np.uint8)
    return write_synthetic(out, real.classes, real.image_size, pixels, labels, "built-in phantom")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image_set", type=Path, help="prepared real set with train, val and test splits")
    parser.add_argument("--out", type=Path, required=True, help="folder for the control sets and reports")
    parser.add_argument("--control", action="append", choices=CONTROLS, help="repeatable; default all")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice; 1 is faster "
                        "when other processes load the cores)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    real = ImageSet.open(args.image_set)
    rows = []
    for control in args.control or CONTROLS:
        synthetic = control_set(real, control, args.out / control, seed=0)
        result = validate(real.root, real.root, synthetic, args.out / f"{control}-report", seeds=args.seeds,
                          overwrite=True)
        m = result.metrics
        regimes, realism = m["utility"]["regimes"], m["realism"]
        rows.append({
            "control": control,
            "TRTR_auc": regimes["TRTR"]["metrics"]["auc_macro"],
            "TSTR_auc": regimes["TSTR"]["metrics"]["auc_macro"],
            "TSTR/TRTR": m["utility"]["tstr_trtr_auc_ratio"],
            "TRTS/TRTR": m["utility"]["trts_trtr_auc_ratio"],
            "FD_synthetic": realism["synthetic"]["fd"],
            "FD_real_vs_real": realism["real_test"]["fd"],
            "precision": realism["synthetic"]["precision"],
            "coverage": realism["synthetic"]["coverage"],
            "two_sample_auc": (m["two_sample"]["real_vs_synthetic"] or {}).get("auc"),
            "two_sample_auc_real_vs_real": (m["two_sample"]["real_vs_real"] or {}).get("auc"),
            "laplacian_ratio": m["high_frequency"]["ratio_to_real_train"]["synthetic"],
            "verdicts": {k: v["level"] for k, v in m["verdicts"].items()},
            "wall_s": m["timings"]["total_s"],
        })
        print(json.dumps(rows[-1]), flush=True)
    (args.out / "sanity.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
