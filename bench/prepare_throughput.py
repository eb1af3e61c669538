"""Throughput of `synthgen prepare` (files/s) against a hand-written baseline in the same process.

The baseline is the loop a user would write without synthgen: Pillow open -> grayscale -> resize
-> save PNG, single-threaded, with no checks, splits or manifest. Run:

    .venv/bin/python bench/prepare_throughput.py [--source ../shared/data/kermany/train] [--size 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image

from synthgen.prepare import prepare
from synthgen.sources.image_files import list_image_files

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "kermany" / "train"
KERMANY_PATIENT = r"^(person\d+_(?:bacteria|virus)|(?:NORMAL2-)?IM-\d+)"


def baseline(files: list[Path], out: Path, size: int) -> float:
    start = time.perf_counter()
    for i, path in enumerate(files):
        with Image.open(path) as image:
            image.convert("L").resize((size, size), Image.Resampling.BOX).save(out / f"{i:06d}.png")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    if not args.source.is_dir():
        raise SystemExit(f"{args.source} is absent: pass --source (a folder of class subfolders)")
    files = list_image_files(args.source)
    with tempfile.TemporaryDirectory() as tmp:
        base_dir = Path(tmp) / "baseline"
        base_dir.mkdir()
        base_s = baseline(files, base_dir, args.size)
        start = time.perf_counter()
        prepare(args.source, Path(tmp) / "set", size=args.size, patient_pattern=KERMANY_PATIENT, salt="bench",
                dedupe=True, workers=args.workers, progress=False)  # Kermany holds 26 exact duplicates
        prep_s = time.perf_counter() - start
    n = len(files)
    print(f"files: {n} from {args.source} -> {args.size}x{args.size}")
    print(f"{'run':<34}{'seconds':>9}{'files/s':>10}")
    print(f"{'baseline (Pillow loop, 1 thread)':<34}{base_s:>9.2f}{n / base_s:>10.0f}")
    print(f"{'synthgen prepare':<34}{prep_s:>9.2f}{n / prep_s:>10.0f}")
    print(f"ratio prepare/baseline throughput: {base_s / prep_s:.2f}")


if __name__ == "__main__":
    main()
