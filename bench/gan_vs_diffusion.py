"""GAN vs diffusion: sampling speed, the GAN trainer's overhead, and quality at the same wall budget.

    # images/s of the GAN generator at 32² and 64² (configs/train/gan-*.yaml networks), end to end
    # through `synthgen sample` (PNG files + manifest) and the network alone; 2 cores = 2 shards (--start/--count)
    python bench/gan_vs_diffusion.py speed --threads 1
    # within-class MS-SSIM (synthetic / real) of a config variant after a short run
    python bench/gan_vs_diffusion.py diversity --data runs/demo/data --override '{"training": {"d_steps": 1}}' --out /tmp/d1
    # one GAN training step of our trainer vs a bare PyTorch loop (same networks, batch, losses), same process
    python bench/gan_vs_diffusion.py step-ratio --data runs/pm32/data --config configs/train/gan-pneumoniamnist32.yaml
    # both families trained for the same minutes on one thread each, sampled, scored by `synthgen validate`
    python bench/gan_vs_diffusion.py train --data runs/pm32/data --minutes 80 --n 4166 --out runs/gan-vs-diffusion-pm32 \\
        --gan configs/train/gan-pneumoniamnist32.yaml --diffusion configs/train/pneumoniamnist32.yaml
    python bench/gan_vs_diffusion.py score --data runs/pm32/data --out runs/gan-vs-diffusion-pm32 --seeds 3 --audit
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


# -- sampling speed -----------------------------------------------------------------------------
def speed(args: argparse.Namespace) -> None:
    import torch

    from synthgen.model.config_files import load_train_config
    from synthgen.model.gan.networks import Generator
    from synthgen.model.gan.pipeline import GanPipeline
    from synthgen.model.labels import LabelSpace
    from synthgen.model.sample import sample

    torch.set_num_threads(args.threads)
    labels = LabelSpace(("normal", "pneumonia"))
    prior = {"class_counts": [1, 3], "findings_by_class": [[], []]}
    rows = []
    for size, config_path in ((32, REPO / "configs/train/gan-pneumoniamnist32.yaml"),
                              (64, REPO / "configs/train/gan-kermany64.yaml")):
        config = load_train_config(config_path)
        torch.manual_seed(0)  # speed does not depend on the weights: a freshly initialised generator
        pipeline = GanPipeline(Generator(config.generator, labels.dim, size).eval(), labels, size, 8, prior)
        conditions = labels.encode(torch.arange(args.n) % 2)
        seeds = list(range(args.n))
        pipeline(conditions[:64], seeds[:64])  # warm-up
        batch = config.sampling.batch_size
        wall, cpu = time.perf_counter(), time.process_time()
        for first in range(0, args.n, batch):
            pipeline(conditions[first:first + batch], seeds[first:first + batch])
        network = (args.n / (time.perf_counter() - wall), args.n / (time.process_time() - cpu))
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp) / "run"
            pipeline.save(run / "model")
            wall, cpu = time.perf_counter(), time.process_time()
            sample(run, Path(tmp) / "set", n=args.n, progress=False)
            end_to_end = (args.n / (time.perf_counter() - wall), args.n / (time.process_time() - cpu))
        # CPU-time rates: what the process gets done per second of CPU it was given, i.e. its speed on
        # cores nobody else uses (wall rates on a shared machine measure the other jobs too).
        rows.append({"size": f"{size}²", "config": config_path.name, "threads": args.threads,
                     "generator img/s (wall)": round(network[0]), "generator img/s (per CPU-s)": round(network[1]),
                     "synthgen sample img/s (wall)": round(end_to_end[0]),
                     "synthgen sample img/s (per CPU-s)": round(end_to_end[1])})
    print(json.dumps(rows, indent=2))


# -- training-step overhead ---------------------------------------------------------------------
def bare_loop(models, config, images, conditions, steps: int) -> float:
    """The same networks, batch, losses, augmentation, lazy R1 and EMA written as a plain loop:
    global RNG, no per-step generators, no checks, no logging. Seconds per step."""
    import torch

    from synthgen.model.gan.augment import diff_augment

    G, D, g_opt, d_opt = models
    ema = copy.deepcopy(G).requires_grad_(False)
    aug, batch = config.augmentation, config.training.batch_size
    p = aug.probability
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for step in range(steps):
        rows = torch.randint(0, len(images), (batch,))
        reals, labels = images[rows], conditions[rows]
        for update in range(config.training.d_steps):
            z, noise = G.draw_batch(batch, generator)
            with torch.no_grad():
                fakes = G(z, labels, noise)
            real_in = diff_augment(reals, aug, p, generator).detach()
            r1_step = update == 0 and step % config.loss.r1_every == 0
            real_in.requires_grad_(r1_step)
            real_scores = D(real_in, labels)
            fake_scores = D(diff_augment(fakes, aug, p, generator), labels)
            loss = torch.relu(1 - real_scores).mean() + torch.relu(1 + fake_scores).mean()
            if r1_step:
                (grad,) = torch.autograd.grad(real_scores.sum(), real_in, create_graph=True)
                loss = loss + grad.square().sum(dim=(1, 2, 3)).mean() * (config.loss.r1_gamma / 2 * config.loss.r1_every)
            d_opt.zero_grad(set_to_none=True)
            loss.backward()
            d_opt.step()
        z, noise = G.draw_batch(batch, generator)
        D.requires_grad_(False)
        g_loss = -D(diff_augment(G(z, labels, noise), aug, p, generator), labels).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        D.requires_grad_(True)
        with torch.no_grad():
            torch._foreach_lerp_(list(ema.parameters()), list(G.parameters()), 1 - config.training.ema_decay)
    return (time.perf_counter() - started) / steps


def step_ratio(args: argparse.Namespace) -> None:
    import torch

    from synthgen.imageset import ImageSet
    from synthgen.model.config_files import load_train_config, with_overrides
    from synthgen.model.data import load_training_data
    from synthgen.model.gan.step import build_optimizers
    from synthgen.model.gan.train import GanTrainer, build_models
    from synthgen.model.run_folder import RunFolder

    torch.set_num_threads(args.threads)
    config = with_overrides(load_train_config(args.config), training={"grid_per_class": 0})
    image_set = ImageSet.open(args.data)
    data = load_training_data(image_set, "train", config.conditioning.use_findings)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = GanTrainer(config, data, image_set, RunFolder(Path(tmp)), torch.device("cpu"), 0, 1, False)
        G, D = build_models(config, data)
        bare = (G, D, *build_optimizers(G, D, config))
        ours, theirs = [], []
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            started = time.perf_counter()
            for step in range(args.steps):
                trainer._step(step, 0)
            ours.append((time.perf_counter() - started) / args.steps)
            theirs.append(bare_loop(bare, config, data.images, data.conditions, args.steps))
    best_ours, best_bare = min(ours), min(theirs)
    print(json.dumps({"config": str(args.config), "batch": config.training.batch_size, "threads": args.threads,
                      "synthgen s/step": round(best_ours, 4), "bare loop s/step": round(best_bare, 4),
                      "ratio (bare / synthgen, >= 0.9 wanted)": round(best_bare / best_ours, 3)}, indent=2))


# -- quick diversity check of one config variant -------------------------------------------------
def diversity(args: argparse.Namespace) -> None:
    """Train --config with --override sections (JSON) for --steps, sample --n images, and print the
    mean within-class MS-SSIM of synthetic and real images (validate's pair measure; ratio > 1: less varied)."""
    import numpy as np
    import torch

    from synthgen.imageset import ImageSet
    from synthgen.model.config_files import config_from_dict, config_to_dict, load_train_config
    from synthgen.model.sample import sample
    from synthgen.model.train import train
    from validation.image_statistics import pair_ms_ssim

    torch.set_num_threads(1)
    data = config_to_dict(load_train_config(args.config))
    for section, values in json.loads(args.override).items():
        data[section].update(values)
    data["training"].update({"steps": args.steps, "minutes": None, "checkpoint_every": args.steps})
    started = time.perf_counter()
    result = train(args.data, args.out / "run", config_from_dict(data), overwrite=True, progress=False)
    trained = time.perf_counter() - started
    synthetic, real = sample(args.out / "run", args.out / "synthetic", n=args.n, overwrite=True, progress=False), \
        ImageSet.open(args.data)
    rng = np.random.default_rng(0)
    per_class = {}
    for c, name in enumerate(real.classes):
        pair = [float(pair_ms_ssim(s.load_pixels(list(np.flatnonzero(s.labels() == c))), 100, rng).mean())
                for s in (synthetic, real)]
        per_class[name] = {"synthetic": round(pair[0], 3), "real": round(pair[1], 3)}
    ratio = float(np.mean([v["synthetic"] / v["real"] for v in per_class.values()]))
    print(json.dumps({"override": json.loads(args.override), "steps": result.steps, "train_s": round(trained, 1),
                      "final_d_loss": round(result.final_loss, 3), "ms_ssim": per_class,
                      "ms_ssim_ratio": round(ratio, 3)}, indent=2))


# -- quality at the same wall budget ------------------------------------------------------------
def train_family(args: argparse.Namespace) -> None:
    """One family (a subprocess of `train`): train for --minutes on one thread, then sample --n images."""
    import torch

    from synthgen.model.config_files import config_from_dict, config_to_dict, load_train_config
    from synthgen.model.sample import sample
    from synthgen.model.train import train

    torch.set_num_threads(1)
    data = config_to_dict(load_train_config(args.config))
    data["training"].update({"steps": None, "minutes": args.minutes, "device": "cpu", "grid_per_class": 0,
                             "seed": args.seed})
    if data["training"].get("lr_schedule") == "cosine":
        data["training"]["lr_schedule"] = "rsqrt"
    folder = args.out / args.family
    started = time.perf_counter()
    result = train(args.data, folder / "run", config_from_dict(data, str(args.config)), overwrite=True, progress=False)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    sample(folder / "run", folder / "synthetic", n=args.n, seed=0, overwrite=True, progress=False, device="cpu")
    (folder / "train.json").write_text(json.dumps({
        "arm": args.family, "config": str(args.config), "steps": result.steps, "train_s": round(trained, 1),
        "sample_s": round(time.perf_counter() - started, 1)}, indent=2))


def train_both(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{REPO}:{os.environ.get('PYTHONPATH', '')}"}
    processes = []
    for family, config in (("gan", args.gan), ("diffusion", args.diffusion)):
        command = [sys.executable, __file__, "family", "--family", family, "--config", str(config),
                   "--data", str(args.data), "--out", str(args.out), "--minutes", str(args.minutes), "--n", str(args.n),
                   "--seed", str(args.seed)]
        log = open(args.out / f"{family}.log", "w")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        if args.parallel:
            processes.append((family, process))
        else:
            print(f"{family}: exit {process.wait()}", flush=True)
    for family, process in processes:
        print(f"{family}: exit {process.wait()}", flush=True)


def score(args: argparse.Namespace) -> None:
    from realism_budget import headline, markdown, validate_folder

    from synthgen.imageset import ImageSet

    rows = []
    for family in ("gan", "diffusion"):
        folder = args.out / family
        if not (folder / "train.json").is_file():
            continue
        report = validate_folder(args.data, folder, args.seeds, args.audit)
        trained = json.loads((folder / "train.json").read_text())
        row = headline(trained, report / "metrics.json")
        row["sample img/s"] = round(len(ImageSet.open(folder / "synthetic")) / max(trained["sample_s"], 1e-9))
        rows.append(row)
    table = markdown(rows)
    (args.out / "summary.md").write_text(table + "\n")
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("speed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n", type=int, default=4096)
    p = sub.add_parser("step-ratio")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--config", type=Path, default=REPO / "configs/train/gan-pneumoniamnist32.yaml")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p = sub.add_parser("diversity")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--config", type=Path, default=REPO / "configs/train/gan-demo.yaml")
    p.add_argument("--override", default="{}", help='config sections as JSON, e.g. \'{"training": {"d_steps": 1}}\'')
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--out", type=Path, required=True)
    for name in ("train", "family"):
        p = sub.add_parser(name)
        p.add_argument("--data", type=Path, required=True, help="prepared image set (train/val/test splits)")
        p.add_argument("--out", type=Path, required=True)
        p.add_argument("--minutes", type=float, required=True)
        p.add_argument("--n", type=int, default=2000, help="synthetic images per family")
        p.add_argument("--seed", type=int, default=0, help="training.seed of both families (the samples keep seed 0)")
        if name == "train":
            p.add_argument("--gan", type=Path, default=REPO / "configs/train/gan-pneumoniamnist32.yaml")
            p.add_argument("--diffusion", type=Path, default=REPO / "configs/train/pneumoniamnist32.yaml")
            p.add_argument("--parallel", action="store_true", help="both at once (one thread each)")
        else:
            p.add_argument("--family", required=True, choices=("gan", "diffusion"))
            p.add_argument("--config", type=Path, required=True)
    p = sub.add_parser("score")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--audit", action="store_true", help="`synthgen audit` each set first (its share in the table)")
    args = parser.parse_args()
    commands = {"speed": speed, "step-ratio": step_ratio, "diversity": diversity, "train": train_both,
                "family": train_family, "score": score}
    commands[args.command](args)


if __name__ == "__main__":
    main()
