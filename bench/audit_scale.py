"""Audit search at scale: 100k synthetic x 100k training embeddings (dim 128), and embedding throughput.

    .venv/bin/python bench/audit_scale.py [--n 100000] [--dim 128] [--threads 2] [--baseline-queries 10000]

Times `privacy.search.nearest` (FAISS exact, and IVF with its measured recall) against a plain
torch brute-force baseline (one matrix product per chunk + topk) in the same process. The baseline
runs on `--baseline-queries` queries and is extrapolated linearly to all queries (its cost is
exactly linear in the number of queries); pass `--baseline-queries` = `--n` to run it fully.
Peak memory is the process's maximum resident set size. Then embeds phantom images in each space
and times the registered space (each query aligned with 20 candidates, 3 angles, at 64²).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def clustered_embeddings(n: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around 1000 centres, like encoder outputs of many patients."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def torch_brute_force(train: np.ndarray, queries: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    import torch

    t = torch.from_numpy(train)
    t_norm = (t * t).sum(1)
    out_d, out_i = [], []
    for start in range(0, len(queries), chunk):
        q = torch.from_numpy(queries[start : start + chunk])
        squared = (q * q).sum(1, keepdim=True) - 2 * q @ t.T + t_norm
        d, i = torch.topk(squared, 2, dim=1, largest=False)
        out_d.append(d.clamp_min(0).sqrt().numpy())
        out_i.append(i.numpy())
    return np.concatenate(out_d), np.concatenate(out_i)


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def search_bench(n: int, dim: int, threads: int, baseline_queries: int) -> None:
    import faiss
    import torch

    from privacy.search import SearchOptions, nearest

    faiss.omp_set_num_threads(threads)
    torch.set_num_threads(threads)
    train, queries = clustered_embeddings(n, dim, 0), clustered_embeddings(n, dim, 1)
    print(f"search: {n:,} queries x {n:,} training vectors, dim {dim}, {threads} threads")
    start = time.perf_counter()
    exact = nearest(train, queries, SearchOptions(threads=threads))
    exact_s = time.perf_counter() - start
    print(f"  faiss exact (IndexFlatL2, chunked): {exact_s:.1f} s, peak RSS {peak_gib():.2f} GiB")

    start = time.perf_counter()
    approx = nearest(train, queries, SearchOptions(threads=threads, exact_limit=n - 1))
    approx_s = time.perf_counter() - start
    print(f"  faiss IVF (nprobe 32): {approx_s:.1f} s incl. training the index and measuring recall; "
          f"recall@1 {approx.recall_at_1:.4f}; agreement with exact on all queries "
          f"{np.mean(approx.positions[:, 0] == exact.positions[:, 0]):.4f}")

    m = min(baseline_queries, n)
    start = time.perf_counter()
    base_d, base_i = torch_brute_force(train, queries[:m])
    base_s = (time.perf_counter() - start) * n / m
    same = np.mean(np.isclose(base_d[:, 0], exact.distances[:m, 0], atol=1e-3))
    label = "measured" if m == n else f"measured on {m:,} queries, extrapolated x{n / m:.0f}"
    print(f"  torch brute force (matmul + topk): {base_s:.1f} s ({label}); same nearest distance {same:.4f}")
    print(f"  speed-up exact vs brute force: {base_s / exact_s:.2f}x; peak RSS {peak_gib():.2f} GiB")


def embedding_bench(images: int, threads: int) -> None:
    import torch

    from privacy.embed_pixels import PixelSpace
    from privacy.encoder import EncoderConfig, EncoderSpace, build_network
    from privacy.images import AuditImages
    from synthgen.chest_phantom import phantom

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as scratch:
        image_set = phantom(Path(scratch) / "p", n=images, size=64, seed=0)
        group = AuditImages.from_image_set(image_set, image_set.indices())
        image_set.load_pixels()  # build the pixel cache outside the timing
        config = EncoderConfig()
        spaces = [PixelSpace(), EncoderSpace(build_network(config).eval(), config)]
        print(f"embedding: {images:,} phantom images of 64², {threads} threads")
        for space in spaces:
            start = time.perf_counter()
            space.embed(group)
            print(f"  {space.name}: {images / (time.perf_counter() - start):,.0f} images/s")
        from privacy.registered import RegisteredConfig, RegisteredSpace

        registered = RegisteredSpace(RegisteredConfig())
        candidates = np.random.default_rng(0).integers(0, images, size=(images, 20))
        start = time.perf_counter()
        registered.compare(group, group, candidates)
        print(f"  registered: {images / (time.perf_counter() - start):,.0f} queries/s "
              f"(20 candidates x {len(registered.config.angles)} angles each, at {registered.config.size}²)")
        from privacy.encoder import train_encoder

        steps = 20
        start = time.perf_counter()
        train_encoder(group, replace(config, steps=steps))
        print(f"  encoder training: {(time.perf_counter() - start) / steps:.2f} s/step "
              f"(batch {config.batch} patients x 2 views at {config.input_size}²)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--baseline-queries", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=2000, help="phantom images for the embedding throughput")
    args = parser.parse_args()
    search_bench(args.n, args.dim, args.threads, args.baseline_queries)
    embedding_bench(args.images, args.threads)


if __name__ == "__main__":
    main()
