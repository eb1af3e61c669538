"""Throughput of the chest phantom: images per second, rendering alone and writing a whole set.

    .venv/bin/python bench/phantom_throughput.py                 # 64², 128², 256²
    .venv/bin/python bench/phantom_throughput.py --size 64 --n 5000 --dir /dev/shm

"render" draws patients and their images in memory (PhantomGenerator.images); "set" runs
`phantom()` end to end: planning, splits, rendering, PNG encoding, hashing, manifest, rename;
it also measures the file system (one file per image). Target: >= 500 images/s for a 64² set.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from synthgen.chest_phantom import PhantomGenerator, phantom

DEFAULT_N = {64: 2000, 128: 1000, 256: 400}
TARGET_64 = 500.0


def render_rate(size: int, n: int, seed: int) -> float:
    generator = PhantomGenerator(seed=seed, size=size)
    start = time.perf_counter()
    for patient, count in generator.plan(n):
        generator.images(patient, count)
    return n / (time.perf_counter() - start)


def set_rate(size: int, n: int, seed: int, folder: Path | None) -> float:
    with tempfile.TemporaryDirectory(prefix="phantom-bench-", dir=folder) as tmp:
        start = time.perf_counter()
        phantom(Path(tmp) / "set", n=n, size=size, seed=seed)
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, action="append", help="image size (repeatable); default 64 128 256")
    parser.add_argument("--n", type=int, help="images per size; default 2000 at 64², 1000 at 128², 400 at 256²")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, help="where to write the sets (default: the system temp folder)")
    args = parser.parse_args()
    sizes = args.size or sorted(DEFAULT_N)

    render_rate(64, 50, args.seed)  # warm-up: imports, cached grids
    print(f"{'size':>6} {'n':>6} {'render img/s':>13} {'set img/s':>10} {'ms/img (set)':>13}")
    for size in sizes:
        n = args.n or DEFAULT_N.get(size, 400)
        rendered, written = render_rate(size, n, args.seed), set_rate(size, n, args.seed, args.dir)
        print(f"{size:>5}² {n:>6} {rendered:>13.0f} {written:>10.0f} {1000 / written:>13.2f}")
        if size == 64 and written < TARGET_64:
            print(f"  below the target of {TARGET_64:.0f} images/s at 64²")


if __name__ == "__main__":
    main()
