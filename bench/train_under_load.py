"""Training speed on a busy machine: images/s of one training step loop alone and beside CPU hogs,
for each OpenMP wait policy and torch thread count. Each measurement is a fresh process (OpenMP
reads its settings once, when torch loads it). Training should slow down in proportion to the
load (ratio about cores / (cores + hogs) at most), not collapse as spinning threads make it.

    .venv/bin/python bench/train_under_load.py --config configs/train/pneumoniamnist32.yaml --size 32 --hogs 2
    .venv/bin/python bench/train_under_load.py --threads 2 --rounds 3 --waits PASSIVE,GOMP_SPINCOUNT=1000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

STEP_LOOP = """
import sys, time, torch
from synthgen.model.config_files import load_train_config
from synthgen.model.diffusion import training_loss
from synthgen.model.network import build_unet, network_conditions
config = load_train_config(sys.argv[1]); size, steps = int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
unet = build_unet(config.network, 2)
diffusion = config.diffusion if config.diffusion.sigma_data else type(config.diffusion)(sigma_data=0.5)
loss_fn = training_loss(unet, diffusion)
optimizer = torch.optim.AdamW(unet.parameters(), lr=1e-4, fused=True)
g = torch.Generator().manual_seed(0)
batch = config.training.batch_size
images = torch.rand(batch, 1, size, size) * 2 - 1
labels = network_conditions(torch.eye(2)[torch.randint(0, 2, (batch,))], config.network)
def step():
    loss = loss_fn(images, labels, g); optimizer.zero_grad(); loss.backward(); optimizer.step()
step()
start = time.perf_counter()
for _ in range(steps):
    step()
print(steps * batch / (time.perf_counter() - start))
"""


def hog(stop_after: float) -> None:
    end = time.monotonic() + stop_after
    while time.monotonic() < end:
        pass


# How idle OpenMP threads wait: spin (libgomp's default), sleep at once (PASSIVE), or spin briefly, then sleep.
WAIT_VARIANTS = {
    "default (active)": {},
    "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "GOMP_SPINCOUNT=1000": {"GOMP_SPINCOUNT": "1000"},
    "GOMP_SPINCOUNT=3000": {"GOMP_SPINCOUNT": "3000"},
    "GOMP_SPINCOUNT=10000": {"GOMP_SPINCOUNT": "10000"},
}


def rate(config: str, size: int, steps: int, threads: int, wait: dict) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    for key in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        env.pop(key, None)
    env.update(wait)
    out = subprocess.run([sys.executable, "-c", STEP_LOOP, config, str(size), str(steps)], env=env, check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/train/pneumoniamnist32.yaml")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2, help="busy-loop processes for the load")
    parser.add_argument("--threads", default=f"1,{os.cpu_count() or 2}", help="torch thread counts to measure")
    parser.add_argument("--waits", default=",".join(WAIT_VARIANTS), help="wait settings to measure (names above)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeats, interleaved across settings so drift hits each alike; median (min-max)")
    args = parser.parse_args()
    waits = [name.strip() for name in args.waits.split(",")]
    unknown = [name for name in waits if name not in WAIT_VARIANTS]
    if unknown:
        parser.error(f"--waits {', '.join(unknown)}: choose from {', '.join(WAIT_VARIANTS)}")
    cases = [(int(t), name) for t in args.threads.split(",") for name in waits]
    measured: dict = {case: ([], []) for case in cases}
    for _ in range(args.rounds):
        for threads, name in cases:
            alone, loaded = measured[threads, name]
            alone.append(rate(args.config, args.size, args.steps, threads, WAIT_VARIANTS[name]))
            loaded.append(_loaded_rate(args, threads, WAIT_VARIANTS[name]))
    print(f"| threads | OpenMP wait | alone img/s | beside {args.hogs} busy processes | ratio |")
    print("|---|---|---|---|---|")
    for (threads, name), (alone, loaded) in measured.items():
        print(f"| {threads} | {name} | {_summary(alone)} | {_summary(loaded)} | "
              f"{statistics.median(loaded) / statistics.median(alone):.2f} |", flush=True)


def _loaded_rate(args: argparse.Namespace, threads: int, wait: dict) -> float:
    hogs = [multiprocessing.Process(target=hog, args=(3600,)) for _ in range(args.hogs)]
    for h in hogs:
        h.start()
    try:
        return rate(args.config, args.size, args.steps, threads, wait)
    finally:
        for h in hogs:
            h.terminate()


def _summary(values: list[float]) -> str:
    middle = f"{statistics.median(values):.1f}"
    return middle if len(values) == 1 else f"{middle} ({min(values):.1f}–{max(values):.1f})"


if __name__ == "__main__":
    main()
