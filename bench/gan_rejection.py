"""Does critic-weighted rejection sampling make a GAN's images harder to tell from real ones?

Likelihood-free importance weighting (Grover et al. 2019) and discriminator rejection sampling
(Azadi et al. 2019): a classifier trained to tell real training images from the GAN's estimates
p_real(x) / p_gan(x) by its odds; accepting a sample with probability min(1, ratio / M) turns the
GAN's distribution towards the real one where the classifier is right. Here the classifier ("critic")
is validation's resnet-tiny trained on the train split against as many generated images; each
output image draws up to --candidates candidates (the first accepted is kept, else the critic's
favourite) and M is the --caps quantile of the candidates' ratios (higher: more rejection).

    OMP_NUM_THREADS=1 python bench/gan_rejection.py runs/pm32/data runs/gan/model --out runs/rejection.json \\
        --critic-width 16 --critic-steps 1500 --candidates 8 --caps 0.5,0.8,0.95

Each set (plain = every image's first candidate) is scored by the classifier two-sample test of
`synthgen validate` (--seeds runs) twice: against the train split (as validate does) and against the
test split (other patients, which neither the GAN nor the critic saw). With --sets DIR each set is
also written as an image set (DIR/<set>) and, with --audit, audited by `synthgen audit`'s engine
against the training images (does the critic favour near-copies?). One JSON line per set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.two_sample_seeds import labelled_pixels  # noqa: E402
from synthgen.imageset import ImageSet  # noqa: E402
from synthgen.model.gan.pipeline import GanPipeline  # noqa: E402
from synthgen.model.pipeline import to_pixels  # noqa: E402
from validation.classifier import Recipe, predict, train_classifier  # noqa: E402
from validation.stats import weighted_auc  # noqa: E402
from validation.two_sample import TwoSampleOptions, two_sample_test  # noqa: E402

CRITIC_SEED, VAL_SEED, POOL_SEED, ACCEPT_SEED = 10_000_000, 20_000_000, 30_000_000, 5


def split_side(image_set: ImageSet, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, class indices, patient ids) of one split: the real side of a two-sample test."""
    rows = image_set.indices(split)
    images, labels = labelled_pixels(image_set, rows, list(image_set.classes))
    return images, labels, np.array([image_set.rows[i]["patient_id"] for i in rows])


def generated(pipeline: GanPipeline, labels: np.ndarray, first_seed: int) -> np.ndarray:
    """Uint8 (N, H, W): the pixels `synthgen sample` would write for these labels and seeds."""
    chunks = []
    for start in range(0, len(labels), 512):
        chunk = labels[start : start + 512]
        images = pipeline(pipeline.labels.encode(chunk), [first_seed + start + j for j in range(len(chunk))])
        chunks.append(to_pixels(images, 8))
    return np.concatenate(chunks)


def unit(pixels: np.ndarray) -> np.ndarray:
    """Uint8 pixels as the float32 [0, 1] images the classifiers take (as ImageSet.load_pixels gives)."""
    return pixels.astype(np.float32) / 255.0


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    return float(weighted_auc(scores, positive, np.ones((1, len(positive))))[0])


def write_set(folder: Path, synthetic: tuple[np.ndarray, np.ndarray], classes: list[str], name: str) -> None:
    from synthgen.imageset.writer import ImageSetWriter

    images, labels = synthetic
    with ImageSetWriter(folder, name=f"rejection {name}", kind="synthetic", classes=classes,
                        image_size=images.shape[-1], overwrite=True, allow_empty_classes=True) as writer:
        for i, (pixels, label) in enumerate(zip(images, labels)):
            writer.add(pixels, label=classes[label], patient_id=f"SYN-{i:06d}",
                       split="train", source=f"bench/gan_rejection.py#{i}")
        writer.finish({"source": "bench/gan_rejection.py", "set": name})


def audited_share(data: Path, folder: Path) -> dict:
    """The audit's flagged counts of the set and of the held-out real images, and its verdict."""
    from privacy.audit import audit

    document = audit(data, folder, folder.with_name(folder.name + "-audit"), overwrite=True)
    counts = document.counts
    return {"flagged": counts.flagged, "of": counts.synthetic, "holdout_flagged": counts.holdout_flagged,
            "holdout": counts.holdout, "verdict": document.verdict}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="prepared real set the GAN was trained on")
    parser.add_argument("model", type=Path, help="the GAN's model folder (RUN/model)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of all results")
    parser.add_argument("--critic-width", type=int, default=16)
    parser.add_argument("--critic-steps", type=int, default=1500)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--caps", default="0.5,0.8,0.95", help="quantiles of the ratio used as M")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sets", type=Path, help="write each set as an image set under this folder")
    parser.add_argument("--audit", action="store_true", help="audit each written set (needs --sets)")
    args = parser.parse_args()

    real, pipeline = ImageSet.open(args.data), GanPipeline.load(args.model)
    n_classes = len(real.classes)
    train, val, test = (split_side(real, split) for split in ("train", "val", "test"))
    n = len(train[1])
    recipe = Recipe(width=args.critic_width, steps=args.critic_steps, batch_size=64, intensity_jitter=0.0)
    critic = train_classifier(np.concatenate([train[0], unit(generated(pipeline, train[1], CRITIC_SEED))]),
                              np.r_[np.zeros(n), np.ones(n)].astype(np.int64), 2, recipe, 7)
    held_out = np.concatenate([val[0], unit(generated(pipeline, val[1], VAL_SEED))])
    critic_auc = auc(predict(critic, held_out)[:, 1], np.r_[np.zeros(len(val[1]), bool), np.ones(len(val[1]), bool)])

    k = args.candidates
    pool_labels = np.repeat(train[1], k)  # candidate j of output image i is row i * k + j
    pool = generated(pipeline, pool_labels, POOL_SEED)
    p_gan = predict(critic, unit(pool))[:, 1].clip(1e-6, 1 - 1e-6)
    log_ratio = np.log1p(-p_gan) - np.log(p_gan)  # log p_real / p_gan by the critic's odds
    log_u = np.log(np.random.default_rng(ACCEPT_SEED).random(len(pool)))
    results: dict = {"critic": {"width": args.critic_width, "steps": args.critic_steps,
                                "val_auc": round(critic_auc, 4)},
                     "log_ratio_quantiles": [round(v, 3) for v in np.quantile(log_ratio, [0.05, 0.25, 0.5, 0.75, 0.95])]}
    print(json.dumps(results), flush=True)

    sets = {"plain": (np.arange(n) * k, 1.0, 1.0)}
    for cap in (float(c) for c in args.caps.split(",")):
        accepted = (log_u <= np.minimum(0.0, log_ratio - np.quantile(log_ratio, cap))).reshape(n, k)
        first = np.where(accepted.any(axis=1), accepted.argmax(axis=1), log_ratio.reshape(n, k).argmax(axis=1))
        sets[f"cap {cap}"] = (np.arange(n) * k + first, float(accepted.mean()), float(accepted.any(axis=1).mean()))
    for name, (rows, acceptance, any_accepted) in sets.items():
        synthetic = (unit(pool[rows]), pool_labels[rows])
        row = {"set": name, "acceptance": round(acceptance, 3), "images_with_an_accepted_candidate": round(any_accepted, 3)}
        for reference, side in (("train", train), ("test", test)):
            summary = two_sample_test(side, synthetic, n_classes, TwoSampleOptions(), 200, 0, repeats=args.seeds).summary
            row[f"vs_{reference}"] = {test: {"mean": round(summary[test]["auc"]["value"], 4),
                                             "std": summary[test]["auc"]["seed_std"]}
                                      for test in ("real_vs_synthetic", "real_vs_real")}
        if args.sets:
            folder = args.sets / name.replace(" ", "-")
            write_set(folder, (pool[rows], pool_labels[rows]), list(real.classes), name)
            if args.audit:
                row["audit"] = audited_share(args.data, folder)
        results[name] = row
        print(json.dumps(row), flush=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
