"""Realism ablation at one training budget: every arm is the same base config with a few keys changed,
trained on the same image set for the same wall time (or steps), sampled with the same seeds and
scored by `synthgen validate` (TRTR/TSTR, class-matched FD, coverage, precision, two-sample test).

The base config may be of either family (`model.kind`); an arm's keys must belong to it (the gan-* arms
to a GAN config). Arms run as parallel processes (one torch thread each on the CPU); give them the same hardware for a
fair comparison, e.g. `--parallel 1` on a quiet 2-core machine, or all at once on a GPU.

    python bench/realism_budget.py train --data runs/pm32-data --base configs/train/pneumoniamnist32.yaml \\
        --minutes 30 --arms vp-minsnr,edm,edm-ema --out runs/realism-pm32 --n 2000
    python bench/realism_budget.py score --data runs/pm32-data --out runs/realism-pm32   # --audit: audit each set too

The same `train` command with `--resume` continues arms a session's end killed, from their last checkpoints.
`snapshots --run RUN --name NAME --out OUT` turns a GAN run's EMA snapshots into arms (matched steps).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NO_AUGMENTATION = {"shift": 0.0, "scale": 0.0, "rotate": 0.0, "contrast": 0.0, "brightness": 0.0}
VP = {"parametrization": "vp", "prediction": "v_prediction", "schedule": "cosine"}
# Each arm: config sections overriding the base config.
ARMS = {
    "vp-minsnr": {"diffusion": {**VP, "loss_weighting": "min_snr"}, "sampling": {"sampler": "ddim", "steps": 20}},
    "vp-uniform": {"diffusion": {**VP, "loss_weighting": "uniform"}, "sampling": {"sampler": "ddim", "steps": 20}},
    "edm": {"diffusion": {"parametrization": "edm"}, "sampling": {"sampler": "heun", "steps": 12},
            "training": {"ema_profiles": []}},
    "edm-ema": {"diffusion": {"parametrization": "edm"}, "sampling": {"sampler": "heun", "steps": 12},
                "training": {"ema_profiles": [0.05, 0.1]}},
    "edm-ema-noaug": {"diffusion": {"parametrization": "edm"}, "sampling": {"sampler": "heun", "steps": 12},
                      "training": {"ema_profiles": [0.05, 0.1]}, "augmentation": NO_AUGMENTATION},
    "edm-ema-wide": {"diffusion": {"parametrization": "edm"}, "sampling": {"sampler": "heun", "steps": 12},
                     "training": {"ema_profiles": [0.05, 0.1]}, "network": {"channels": [64, 128, 128]}},
    "base": {},
    # Noise-level shift for larger images (more training weight on structure-forming sigmas).
    "pmean-0.5": {"diffusion": {"p_mean": -0.5}},
    "pmean0": {"diffusion": {"p_mean": 0.0}},
    # Capacity at full resolution (Kermany 64² stays too smooth at the shipped 32-64-96-128, one block per level).
    "deep": {"network": {"num_res_blocks": 2}},
    "big": {"network": {"channels": [64, 128, 192, 256], "num_res_blocks": 2}},
    # Augmentation without interpolation blur: whole-pixel shifts only, or intensity only.
    "whole-pixel": {"augmentation": {"scale": 0.0, "rotate": 0.0}},
    "no-geometry": {"augmentation": {"shift": 0.0, "scale": 0.0, "rotate": 0.0}},
    # The warp's regularisation with less (or none) of its blur learned: warp half the images (ADA's p),
    # and/or condition the network on the augmentation and sample with it off (EDM's non-leaky augmentation).
    "warp-half": {"augmentation": {"warp_probability": 0.5}},
    "warp-labelled": {"network": {"augment_conditioning": True}},
    "warp-half-labelled": {"network": {"augment_conditioning": True}, "augmentation": {"warp_probability": 0.5}},
    # GAN arms (--base a `model.kind: gan` config; `base` is its shipped recipe): the levers against the
    # narrowing modes of the 80-minute run (within-class MS-SSIM 1.14x real, audit pairs on a few images),
    # where D ended near chance (hinge loss 1.8 of 2.0) and ADA at p = 0: a weak D, so capacity first.
    "gan-no-noise": {"generator": {"noise": False}},
    "gan-no-sn": {"discriminator": {"spectral_norm": False}},
    "gan-no-sn-no-noise": {"discriminator": {"spectral_norm": False}, "generator": {"noise": False}},
    "gan-r1": {"loss": {"r1_gamma": 0.5}},
    "gan-wide-d": {"discriminator": {"channels": [32, 64, 128, 256]}},
    "gan-no-noise-r1": {"generator": {"noise": False}, "loss": {"r1_gamma": 0.5}},
    # With D unconstrained (spectral_norm: false, shipped) G's normal chests were still framed alike
    # (within-class MS-SSIM 1.09x real): reward G for mapping two latents of a class apart (MSGAN), or
    # loosen R1 so D can see more. Neither costs time per step, so `--steps` compares them exactly.
    "gan-mode-seeking": {"loss": {"mode_seeking": 1.0}},
    "gan-r1-low": {"loss": {"r1_gamma": 0.01}},
    # The eighth session's follow-ups: a gentler mode-seeking weight; G's capacity (costs time per step, so
    # compare these at equal --minutes); a second training seed of the base and of R1 γ 0.01 (FD 0.50 at one seed).
    "gan-mode-seeking-low": {"loss": {"mode_seeking": 0.1}},
    "gan-wide-g": {"generator": {"channels": [256, 128, 64, 32]}},
    "gan-two-convs": {"generator": {"convs_per_level": 2}},
    "gan-seed1": {"training": {"seed": 1}},
    "gan-r1-low-seed1": {"loss": {"r1_gamma": 0.01}, "training": {"seed": 1}},
    # ADA's p stayed at 0 for the whole 80-minute run, which copied a few training images (audit 1.4 %):
    # DiffAugment's own recipe, every operation on every image. Measured: not the cause (1.42 % flagged at
    # 4 020 steps against 0.79 % for base; docs/PERFORMANCE.md, "GAN vs diffusion").
    "gan-diffaugment": {"augmentation": {"adaptive": False, "probability": 1.0}},
    # Every arm's normal chests were framed alike (eleventh session's grids): D's sum pooling cannot tell
    # where a feature sits, so a dense head over its last map (StyleGAN2's epilogue) lets it score the layout.
    "gan-d-flatten": {"discriminator": {"head": "flatten"}},
    "gan-d-flatten-seed1": {"discriminator": {"head": "flatten"}, "training": {"seed": 1}},
    # (base = flatten head from here on.)
    # The 80-minute run's normal chests (the minority class, 26 %) were near copies of one template while its
    # pneumonia chests varied: minibatch-stddev groups of mixed classes show D the spread between the
    # classes, which hides a class that collapsed. Groups of one label vector show D each class's variety.
    "gan-mbstd-labels": {"discriminator": {"mbstd_groups": "labels"}},
    "gan-mbstd-labels-seed1": {"discriminator": {"mbstd_groups": "labels"}, "training": {"seed": 1}},
    # (base = mbstd_groups labels from here on.) Both classes still told from real (two-sample AUC 0.70 on
    # normal chests alone, 0.67 on pneumonia) and truncation makes it worse (psi 0.9: 0.71, 0.75: 0.82):
    # G's variety within a class is short. Transitional conditioning (Shahbazi et al. 2022) lets G and D
    # learn every image's variety unconditionally first, then ramps the labels in over 1 000 steps.
    "gan-transition": {"conditioning": {"transition_start": 0, "transition_end": 1000}},
    "gan-transition-seed1": {"conditioning": {"transition_start": 0, "transition_end": 1000}, "training": {"seed": 1}},
    # Masking the top or side sixth of the images brings the GAN level with diffusion (bench/two_sample_cues.py):
    # the rare, small features of the film's edges (markers, collimation, neck) that D's 16 channels at 32² may
    # not resolve. Twice the channels at the two finest levels of D.
    "gan-wide-d-fine": {"discriminator": {"channels": [32, 64, 64, 128]}},
    # The 32² config's discriminator (dense head over the last map, minibatch-stddev groups by label) on a
    # base that has neither, e.g. gan-kermany64.yaml: does the 32² A/B carry over to 64²?
    "gan-d-flatten-mbstd-labels": {"discriminator": {"head": "flatten", "mbstd_groups": "labels"}},
    # StyleGAN's eight-layer mapping network instead of two: a deeper map from the Gaussian latent to the
    # style gives global factors (framing, exposure) room to separate (Karras et al. 2019, section 4); the
    # 32² normal chests were framed alike in every arm. Costs a few 128x128 matrix products per image.
    "gan-mapping8": {"generator": {"mapping_layers": 8}},
    # Post-hoc EMA of G: the raw generator's images are told from real ones far more easily than its EMA's
    # (two-sample AUC 0.91 against 0.60 at 3 000 steps), so how long G is averaged may matter more than
    # D's design. Power-function profiles from short to as long as EDM2 allows; all of them are kept.
    "gan-ema-profiles": {"training": {"ema_profiles": [0.05, 0.1, 0.2, 0.28]}},
    "gan-ema-profiles-seed1": {"training": {"ema_profiles": [0.05, 0.1, 0.2, 0.28], "seed": 1}},
    # NoisyTwins (Rangwani et al. 2023, CVPR): class-conditional StyleGANs on small or long-tailed sets
    # collapse within a class (the 32² normal chests: one template at every EMA length); noise on G's label
    # embedding makes each class a region of style inputs, and a Barlow Twins loss between the styles of
    # one latent under two noise draws keeps the style dimensions decorrelated. The paper's values.
    "gan-embedding-noise": {"conditioning": {"embedding_noise": 0.75}},
    "gan-noisy-twins": {"conditioning": {"embedding_noise": 0.75}, "loss": {"noisy_twins": 0.01}},
    # A stronger D against the within-class template: at 32² ADA's p stays at 0 (D is never sure of the
    # training images, r_t < 0.6), so D is weak rather than overfitting. Twice D's learning rate, or
    # minibatch-stddev groups of 8 same-label images instead of 4 (a steadier estimate of a class's spread).
    "gan-d-lr2x": {"training": {"d_lr": 0.0008}},
    "gan-mbstd-group8": {"discriminator": {"mbstd_group": 8}},
    # PacGAN (Lin et al. 2018): D scores packs of same-label images stacked as channels, so a class drawn
    # from one template is told apart by the pack's sameness, not only by minibatch-stddev's one number.
    "gan-pack2": {"discriminator": {"pack": 2}},
    "gan-pack2-seed1": {"discriminator": {"pack": 2}, "training": {"seed": 1}},
    "gan-pack4": {"discriminator": {"pack": 4}},
    # Inclusive GAN's IMLE term (Yu et al. 2020): every real image pulls its nearest generated image of the
    # same class (8x8 layout), so the rare films the grids lack (dark borders, zoomed out) get covered. At
    # 3 000 steps a real normal chest's nearest generated one is 0.023 (median) to 0.11 away in this distance.
    "gan-coverage10": {"loss": {"coverage": 10.0}},
    "gan-coverage30": {"loss": {"coverage": 30.0}},
    # StyleGAN's slow mapping network (its lr multiplier 0.01): the style space moves slowly under the
    # synthesis layers; gan-mapping8 hinted that the mapping learning at full rate is part of the collapse.
    "gan-mapping-lr0.01": {"training": {"mapping_lr_ratio": 0.01}},
    "gan-mapping-lr0.1": {"training": {"mapping_lr_ratio": 0.1}},
    "gan-mapping-lr0.01-seed1": {"training": {"mapping_lr_ratio": 0.01, "seed": 1}},
    "gan-mapping-lr0.1-seed1": {"training": {"mapping_lr_ratio": 0.1, "seed": 1}},
}


def arm_config(base: Path, arm: str, steps: int | None, minutes: float | None, device: str,
               final_weights: bool = False):
    from synthgen.model.config_files import config_to_dict, load_train_config, config_from_dict

    data = config_to_dict(load_train_config(base))
    for section, values in ARMS[arm].items():
        if section not in data:
            sys.exit(f"arm {arm} sets {section}, a section {base} has not (another model.kind); valid sections: "
                     f"{', '.join(data)}")
        data[section].update(values)
    data["training"].update({"device": device, "grid_per_class": 0})
    if final_weights and "snapshot_every" in data["training"]:
        data["training"]["snapshot_every"] = None  # a GAN arm keeps its final EMA (no snapshot choice)
    if steps is not None or minutes is not None:
        data["training"].update({"steps": steps, "minutes": minutes})
        if steps is None and data["training"].get("lr_schedule") == "cosine":
            data["training"]["lr_schedule"] = "rsqrt"
    if data.get("diffusion", {}).get("parametrization") == "vp":
        data["diffusion"]["sigma_data"] = None
    return config_from_dict(data, f"arm {arm}")


def train_arm(args: argparse.Namespace) -> None:
    """One arm: train, then sample --n images with the arm's sampler (seed 0)."""
    import torch

    from synthgen.model.sample import sample
    from synthgen.model.train import train

    torch.set_num_threads(1)
    folder = args.out / args.arm
    config = arm_config(args.base, args.arm, args.steps, args.minutes, args.device, args.final_weights)
    started = time.perf_counter()
    # --resume continues an arm a session's end killed (from its last checkpoint, bit for bit)
    resume = args.resume and (folder / "run" / "checkpoints" / "last.pt").is_file()
    result = train(args.data, folder / "run", config, resume=resume, overwrite=not resume, progress=False)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    sample(folder / "run", folder / "synthetic", n=args.n, seed=0, overwrite=True, progress=False,
           device=args.device, batch_size=512 if args.device != "cpu" else None)
    card = json.loads((folder / "run" / "model" / "model_card.json").read_text())
    (folder / "train.json").write_text(json.dumps({
        "arm": args.arm, "overrides": ARMS[args.arm], "steps": result.steps, "train_s": round(trained, 1),
        "sample_s": round(time.perf_counter() - started, 1), "final_loss": result.final_loss,
        "ema": card.get("ema"), "parameters": card.get("parameters"), "device": card.get("device"),
    }, indent=2))


def train_all(args: argparse.Namespace) -> None:
    arms = args.arms.split(",")
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        sys.exit(f"unknown arm(s) {unknown}; valid: {', '.join(ARMS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{REPO}:{os.environ.get('PYTHONPATH', '')}"}
    pending, running = list(arms), []
    while pending or running:
        while pending and len(running) < args.parallel:
            arm = pending.pop(0)
            command = [sys.executable, __file__, "arm", "--arm", arm, "--data", str(args.data), "--base", str(args.base),
                       "--out", str(args.out), "--n", str(args.n), "--device", args.device]
            command += ["--steps", str(args.steps)] if args.steps else []
            command += ["--minutes", str(args.minutes)] if args.minutes else []
            command += ["--resume"] if args.resume else []
            command += ["--final-weights"] if args.final_weights else []
            log = open(args.out / f"{arm}.log", "a" if args.resume else "w")
            running.append((arm, subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)))
        time.sleep(2)
        for arm, process in list(running):
            if process.poll() is not None:
                running.remove((arm, process))
                print(f"{arm}: exit {process.returncode}", flush=True)


def snapshot_arms(args: argparse.Namespace) -> None:
    """A trained GAN run's EMA snapshots (training.snapshot_every) as arms OUT/<name>-step-N: sampled like
    an arm's final weights, so two recipes compare at matched steps without retraining either."""
    from synthgen.model.run_folder import RunFolder, load_state_dict

    run = RunFolder(args.run)
    for step in run.snapshot_steps():
        weights_arm(run, f"{args.name}-step-{step}", lambda: load_state_dict(run.snapshot(step)), step, args)


def ema_arms(args: argparse.Namespace) -> None:
    """A trained GAN run's final weights of every kind as arms OUT/<name>-<kind>: the raw generator, the
    classic EMA and each power-function profile (training.ema_profiles), from checkpoints/last.pt."""
    from synthgen.model.ema import averaged_state, profile_name
    from synthgen.model.gan.train import GAN_CHECKPOINT_KEYS
    from synthgen.model.checkpoint import load_checkpoint
    from synthgen.model.config_files import load_train_config
    from synthgen.model.run_folder import RunFolder

    run = RunFolder(args.run)
    state = load_checkpoint(run.checkpoint, GAN_CHECKPOINT_KEYS)
    weights = {"raw": state["generator"], "classic": averaged_state(state["ema"])}
    sigma_rels = load_train_config(run.root / "config.yaml").training.ema_profiles
    weights.update({profile_name(s): profile for s, profile in zip(sigma_rels, state.get("ema_profiles", []))})
    for kind, state_dict in weights.items():
        weights_arm(run, f"{args.name}-{kind}", lambda: state_dict, int(state["step"]), args)


def weights_arm(run, name: str, state_dict, steps: int, args: argparse.Namespace) -> None:
    """OUT/<name>: the run's model folder with other weights (`state_dict()`), sampled with --n images."""
    import shutil

    import torch

    from synthgen.model.sample import sample

    folder = args.out / name
    if (folder / "train.json").is_file():
        return
    model = folder / "run" / "model"
    shutil.copytree(run.model_dir, model, dirs_exist_ok=True)
    torch.save(state_dict(), model / "weights.pt")
    started = time.perf_counter()
    sample(folder / "run", folder / "synthetic", n=args.n, seed=0, overwrite=True, progress=False, device="cpu")
    (folder / "train.json").write_text(json.dumps({
        "arm": name, "run": str(args.run), "steps": steps, "train_s": None,
        "sample_s": round(time.perf_counter() - started, 1)}, indent=2))


def score_all(args: argparse.Namespace) -> None:
    """`synthgen validate` (one seed) for every trained arm; a markdown table of the headline numbers."""
    from synthgen.imageset import ImageSet

    rows = []
    for folder in sorted(p for p in args.out.iterdir() if (p / "train.json").is_file()):
        report = validate_folder(args.data, folder, args.seeds, args.audit)
        row = headline(json.loads((folder / "train.json").read_text()), report / "metrics.json")
        row["dark bottom row %"] = dark_bottom_share(ImageSet.open(folder / "synthetic").load_pixels())
        rows.append(row)
    real = ImageSet.open(args.data)
    rows.append({"arm": "real test", "dark bottom row %": dark_bottom_share(real.load_pixels(real.indices("test")))})
    table = markdown(rows)
    (args.out / "summary.md").write_text(table + "\n")
    print(table)


def validate_folder(data: Path, folder: Path, seeds: int, audit: bool) -> Path:
    """`synthgen validate` of FOLDER/synthetic into FOLDER/validate (kept when there), with `audit` after
    `synthgen audit` of the unfiltered set into FOLDER/audit, so the report and the table carry its share."""
    from privacy.audit import audit as run_audit
    from validation.api import validate

    report = folder / "validate"
    if audit and not (folder / "audit" / "audit.json").is_file():
        run_audit(data, folder / "synthetic", folder / "audit", overwrite=True)
    if not (report / "metrics.json").is_file():
        validate(data, data, folder / "synthetic", report, audit=folder / "audit" if audit else None, seeds=seeds,
                 overwrite=True, progress=False)
    return report


def dark_bottom_share(pixels) -> float:
    """% of images whose bottom row is nearly black (mean < 0.08): the fill a zero-padded shift leaves."""
    return round(100.0 * float((pixels[:, -1, :].mean(axis=1) < 0.08).mean()), 2)


def headline(trained: dict, metrics_file: Path) -> dict:
    """The arm's training numbers and `synthgen compare`'s measures (each with real data's value)."""
    from validation.compare import MEASURES, headline as headline_measures
    from validation.metrics_document import ValidationMetrics

    minutes = round(trained["train_s"] / 60, 1) if trained.get("train_s") is not None else None
    row = {"arm": trained["arm"], "steps": trained["steps"], "train min": minutes}
    for measure, (value, real) in zip(MEASURES, headline_measures(ValidationMetrics.read(metrics_file), metrics_file)):
        row[measure.label] = value
        if measure.real is not None:
            row[f"{measure.label}, real"] = real
    return row


def markdown(rows: list[dict]) -> str:
    if not rows:
        return "(no trained arms)"
    keys = list(dict.fromkeys(k for row in rows for k in row))
    cell = lambda v: f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v))  # noqa: E731
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(row.get(k)) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, function in (("snapshots", snapshot_arms), ("ema", ema_arms)):
        p = sub.add_parser(name, help=function.__doc__.splitlines()[0])
        p.add_argument("--run", type=Path, required=True, help="a GAN run folder")
        p.add_argument("--name", required=True, help="arm name prefix, e.g. the recipe and seed")
        p.add_argument("--out", type=Path, required=True)
        p.add_argument("--n", type=int, default=2000, help="synthetic images per arm")
    for name in ("train", "arm", "score"):
        p = sub.add_parser(name)
        p.add_argument("--data", type=Path, required=True, help="prepared image set (train/val/test splits)")
        p.add_argument("--out", type=Path, required=True)
        if name == "score":
            p.add_argument("--seeds", type=int, default=1)
            p.add_argument("--audit", action="store_true", help="`synthgen audit` each set first (its share in the table)")
            continue
        p.add_argument("--base", type=Path, required=True, help="base training config")
        p.add_argument("--steps", type=int)
        p.add_argument("--minutes", type=float)
        p.add_argument("--n", type=int, default=2000, help="synthetic images per arm")
        p.add_argument("--device", default="cpu")
        p.add_argument("--resume", action="store_true", help="continue arms from their last checkpoints")
        p.add_argument("--final-weights", action="store_true",
                       help="GAN arms keep their final EMA weights (no snapshot choice: compares recipes, not choices)")
        if name == "train":
            p.add_argument("--arms", default="vp-minsnr,vp-uniform,edm,edm-ema")
            p.add_argument("--parallel", type=int, default=1)
        else:
            p.add_argument("--arm", required=True)
    args = parser.parse_args()
    {"train": train_all, "arm": train_arm, "score": score_all, "snapshots": snapshot_arms, "ema": ema_arms}[args.command](args)


if __name__ == "__main__":
    main()
