"""Throughput of `synthgen export --format dicom` (files/s) against a bare pydicom loop, same run.

The baseline writes the same pixel arrays (already decoded, in memory) as minimal Secondary
Capture datasets with `dcmwrite`, one file each: no PNG reading or checking, labels, provenance,
manifest or RO-Crate. The export reads, verifies and decodes each PNG itself. Run:

    .venv/bin/python bench/export_speed.py [--n 2000] [--size 256] [--bit-depth 16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from synthgen.chest_phantom import phantom
from synthgen.export import export
from synthgen.imageset.cache import decode_all


def baseline(pixels: np.ndarray, out: Path) -> float:
    start = time.perf_counter()
    for i, image in enumerate(pixels):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = SecondaryCaptureImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
        ds.Modality = "OT"
        ds.Rows, ds.Columns = image.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        bits = image.dtype.itemsize * 8
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
        ds.PixelData = image.tobytes()
        dcmwrite(out / f"{i:06d}.dcm", ds, enforce_file_format=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--bit-depth", type=int, default=16, choices=(8, 16))
    parser.add_argument("--repeat", type=int, default=3, help="Best of this many runs each (alternating).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image_set = phantom(root / "set", n=args.n, size=args.size, seed=0, bit_depth=args.bit_depth)
        pixels = decode_all(image_set.root, image_set.rows, args.size)
        base_s, export_s = [], []
        for run in range(args.repeat):
            (root / f"base{run}").mkdir()
            base_s.append(baseline(pixels, root / f"base{run}"))
            start = time.perf_counter()
            export(image_set.root, root / f"export{run}", progress=False)
            export_s.append(time.perf_counter() - start)
    n, best_base, best_export = args.n, min(base_s), min(export_s)
    print(f"images: {n} phantom {args.size}x{args.size} {args.bit_depth}-bit, best of {args.repeat}")
    print(f"{'run':<40}{'seconds':>9}{'files/s':>10}")
    print(f"{'baseline (bare pydicom loop, in memory)':<40}{best_base:>9.2f}{n / best_base:>10.0f}")
    print(f"{'synthgen export --format dicom':<40}{best_export:>9.2f}{n / best_export:>10.0f}")
    print(f"ratio export/baseline throughput: {best_base / best_export:.2f}")


if __name__ == "__main__":
    main()
