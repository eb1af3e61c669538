"""`synthgen audit` end to end on image sets on disk, against the previous defaults in the same process.

    nice -n 10 .venv/bin/python bench/audit_end_to_end.py [--size 64] [--train 5000] [--synthetic 5000] \
        [--holdout 500] [--threads 1] [--skip-baseline]

Builds (untimed) a phantom image set of `--train` training and `--holdout` validation images and a
second phantom set of `--synthetic` images (other seed, so other patients, like a generator's output),
then times `privacy.audit.audit()` (reading PNGs, pixel caches, encoder training, every space, the
built-in self-test, membership inference, linkage, report) with the current defaults and with the
previous ones (10 candidates per space aligned in one thread; no self-test, which did not exist). Pixel caches are built before the first timing, so both runs read the same way. Prints
a Markdown table row per run: wall and CPU seconds, wall seconds per stage (from the audit's own
timings.json) and the ratios baseline / current. On a shared machine CPU seconds are the stable
measure: on two free cores the wall time is at least CPU / 2.
"""

from __future__ import annotations

import argparse
import json
import os
import logging
import resource
import tempfile
import time
from pathlib import Path


def build_sets(scratch: Path, size: int, n_train: int, n_holdout: int, n_synthetic: int):
    from synthgen.chest_phantom import phantom

    total = n_train + n_holdout
    train = phantom(scratch / "train", n=total, size=size, seed=0, val_fraction=n_holdout / total, test_fraction=0.0)
    synthetic = phantom(scratch / "synthetic", n=n_synthetic, size=size, seed=1, val_fraction=0.0, test_fraction=0.0)
    train.load_pixels(), synthetic.load_pixels()  # pixel caches, outside the timings
    return train, synthetic


def timed_audit(train, synthetic, out: Path, options) -> dict:
    from privacy.audit import audit

    start, cpu = time.perf_counter(), _cpu_seconds()
    document = audit(train.root, synthetic.root, out, options=options, overwrite=True)
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    stages = json.loads((out / "timings.json").read_text()).get("seconds", {})
    return {"seconds": seconds, "cpu_seconds": cpu, "stages": stages, "flagged": document.counts.flagged,
            "train": document.counts.train, "holdout": document.counts.holdout,
            "selftest_recall": document.selftest.recall if document.selftest is not None else None}


def _cpu_seconds() -> float:
    """CPU time of this process, all threads (a load-independent cost: on 2 free cores wall >= cpu / 2)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def previous_defaults():
    """The audit's settings before issue 16's speed work (the registered alignment itself is unchanged at 64²)."""
    from dataclasses import replace

    from privacy.audit import AuditOptions
    from privacy.encoder import EncoderConfig
    from privacy.registered import RegisteredConfig

    current = AuditOptions()
    return replace(current, encoder=EncoderConfig(steps=400), registered=RegisteredConfig(candidates=10, workers=1),
                   selftest_copies=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--holdout", type=int, default=500)
    parser.add_argument("--synthetic", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (encoder training, embedding)")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import torch

    from privacy.audit import AuditOptions

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="audit-e2e-") as scratch:
        start = time.perf_counter()
        train, synthetic = build_sets(Path(scratch), args.size, args.train, args.holdout, args.synthetic)
        print(f"sets built in {time.perf_counter() - start:.0f} s: {args.size}², {args.threads} torch thread(s), "
              f"load average {os.getloadavg()[0]:.1f}")
        runs = [("current defaults", AuditOptions())]
        if not args.skip_baseline:
            runs.append(("previous defaults (baseline)", previous_defaults()))
        results = {}
        for name, options in runs:
            results[name] = timed_audit(train, synthetic, Path(scratch) / "out", options)
        print("| run | train × synthetic (held-out) | wall s | CPU s | stages, wall s | self-test recall |")
        print("|---|---|---:|---:|---|---:|")
        for name, r in results.items():
            stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
            recall = "—" if r["selftest_recall"] is None else f"{r['selftest_recall']:.3f}"
            print(f"| {name} | {r['train']} × {args.synthetic} ({r['holdout']}) | {r['seconds']:.1f} "
                  f"| {r['cpu_seconds']:.1f} | {stages} | {recall} |")
        if len(results) == 2:
            current, baseline = results["current defaults"], results["previous defaults (baseline)"]
            print(f"ratio baseline / current: wall {baseline['seconds'] / current['seconds']:.2f}, "
                  f"CPU {baseline['cpu_seconds'] / current['cpu_seconds']:.2f}")
        print(f"load average now {os.getloadavg()[0]:.1f}; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
