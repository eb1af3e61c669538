"""Where the classifier two-sample test finds its cue: the test of `synthgen validate` (mean over
--seeds) on real and synthetic images both passed through the same probe — a band of the image
masked, a blur, per-image standardisation, 2× downsampling, dark or bright pixels clipped — or on
one class only. A probe that brings the AUC toward the real-vs-real reference removes what tells
the synthetic images apart; one that raises it exposes a difference the raw pixels hid.

    OMP_NUM_THREADS=1 python bench/two_sample_cues.py runs/pm32/data runs/gan/synthetic --seeds 3 \\
        --probes identity,no_top,no_sides,center [--only normal]

One JSON line per probe: mean AUC (real vs synthetic, real vs real), the seeds' standard deviation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.two_sample_seeds import labelled_pixels  # noqa: E402
from synthgen.imageset import ImageSet  # noqa: E402
from validation.two_sample import TwoSampleOptions, two_sample_test  # noqa: E402

BAND = 6  # a masked band is 1/BAND of the side


def _band_mask(*edges: str):
    """A probe that sets to 0 the bands of width side/BAND along the named edges ("border": all but them)."""
    def probe(x: np.ndarray) -> np.ndarray:
        side = x.shape[-1]
        b = side // BAND
        band = np.zeros((side, side), dtype=bool)
        for edge in ("top", "bottom", "left", "right") if "border" in edges else edges:
            band[{"top": np.s_[:b, :], "bottom": np.s_[-b:, :], "left": np.s_[:, :b], "right": np.s_[:, -b:]}[edge]] = True
        masked = ~band if "border" in edges else band
        return np.where(masked, 0.0, x).astype(x.dtype)
    return probe


def _standardised(x: np.ndarray) -> np.ndarray:
    mean, std = x.mean(axis=(1, 2), keepdims=True), x.std(axis=(1, 2), keepdims=True) + 1e-6
    return (x - mean) / std * 0.2 + 0.5


def _downsampled(x: np.ndarray) -> np.ndarray:
    n, h, w = x.shape
    return np.repeat(np.repeat(x.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4)), 2, axis=1), 2, axis=2)


PROBES = {
    "identity": lambda x: x,
    "no_top": _band_mask("top"),
    "no_bottom": _band_mask("bottom"),
    "no_sides": _band_mask("left", "right"),
    "center": _band_mask("top", "bottom", "left", "right"),  # the middle only
    "border": _band_mask("border"),  # the four bands only
    "blur": lambda x: ndimage.gaussian_filter(x, sigma=(0, 1, 1)),
    "standardize": _standardised,
    "down2": _downsampled,
    "dark_clip": lambda x: np.maximum(x, 0.08),
    "bright_clip": lambda x: np.minimum(x, 0.92),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", type=Path, help="prepared real set (its train split is the real side, as in validate)")
    parser.add_argument("synthetic", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--probes", default="identity,no_top,no_bottom,no_sides,center")
    parser.add_argument("--only", help="one class: both sides restricted to it")
    args = parser.parse_args()
    unknown = [p for p in args.probes.split(",") if p not in PROBES]
    if unknown:
        sys.exit(f"unknown probe(s) {unknown}; valid: {', '.join(PROBES)}")
    real, synthetic = ImageSet.open(args.real), ImageSet.open(args.synthetic)
    classes = list(real.classes)
    train = real.indices("train")
    real_pixels, real_labels = labelled_pixels(real, train, classes)
    patients = np.array([real.rows[i]["patient_id"] for i in train])
    synthetic_pixels, synthetic_labels = labelled_pixels(synthetic, np.arange(len(synthetic.rows)), classes)
    if args.only:
        if args.only not in classes:
            sys.exit(f"--only {args.only!r} is not a class of {args.real}; valid: {', '.join(classes)}")
        keep_real, keep_synthetic = real_labels == classes.index(args.only), synthetic_labels == classes.index(args.only)
        real_pixels, real_labels, patients = real_pixels[keep_real], real_labels[keep_real], patients[keep_real]
        synthetic_pixels, synthetic_labels = synthetic_pixels[keep_synthetic], synthetic_labels[keep_synthetic]
    for name in args.probes.split(","):
        probe = PROBES[name]
        summary = two_sample_test((probe(real_pixels), real_labels, patients), (probe(synthetic_pixels), synthetic_labels),
                                  len(classes), TwoSampleOptions(), 200, 0, repeats=args.seeds).summary
        print(json.dumps({"probe": name, "only": args.only, **{
            side: {"mean": round(summary[side]["auc"]["value"], 4), "std": summary[side]["auc"]["seed_std"]}
            for side in ("real_vs_synthetic", "real_vs_real")}}), flush=True)


if __name__ == "__main__":
    main()
