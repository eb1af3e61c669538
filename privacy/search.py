"""Nearest training images of each query image, with FAISS.

Exact search (`IndexFlatL2`) by default. When the training side has more than `exact_limit`
vectors an inverted-file index (`IndexIVFFlat`) is used instead, and its recall@1 is measured on
a seeded sample of queries against exact search, so a report never hides an approximation.
Queries are searched `chunk` at a time, so memory is the index plus one chunk of results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from privacy.defaults import EXACT_LIMIT

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 8192
RECALL_SAMPLE = 1000


@dataclass
class Neighbours:
    """The `k` nearest training vectors of each query: L2 distances (N, k) and positions (N, k),
    nearest first. Where there are fewer than k training vectors the last columns are inf / -1.
    """

    distances: np.ndarray
    positions: np.ndarray
    method: str  # "exact" or "ivf"
    recall_at_1: float | None = None  # measured for "ivf", None for exact


@dataclass(frozen=True)
class SearchOptions:
    exact_limit: int = EXACT_LIMIT  # exact search up to this many training vectors (privacy.defaults)
    chunk: int = DEFAULT_CHUNK
    nprobe: int = 32
    threads: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("exact_limit", "chunk", "nprobe"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"search option {name} must be a positive integer, got {value!r}")


def nearest(
    train: np.ndarray,
    queries: np.ndarray,
    options: SearchOptions = SearchOptions(),
    on_chunk: Callable[[int], None] | None = None,
    k: int = 2,
) -> Neighbours:
    """The `k` (at least 2) nearest rows of `train` for every row of `queries` (float32, same dimension)."""
    import faiss

    if not isinstance(k, int) or k < 2:
        raise ValueError(f"nearest: k must be an integer of at least 2, got {k!r}")

    if options.threads:
        faiss.omp_set_num_threads(options.threads)
    train = np.ascontiguousarray(train, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if train.ndim != 2 or queries.ndim != 2 or train.shape[1] != queries.shape[1]:
        raise ValueError(f"embedding shapes do not match: train {train.shape}, queries {queries.shape}")
    exact = faiss.IndexFlatL2(train.shape[1])
    exact.add(train)
    index, method = exact, "exact"
    if len(train) > options.exact_limit:
        index, method = _ivf_index(train, options), "ivf"
    distances, positions = _search_chunked(index, queries, options.chunk, on_chunk, k)
    recall = _recall_at_1(exact, queries, positions, options.seed) if method == "ivf" else None
    if recall is not None:
        log.info("approximate search (IVF, nprobe %d): recall@1 %.4f", options.nprobe, recall)
    return Neighbours(distances, positions, method, recall)


def _ivf_index(train: np.ndarray, options: SearchOptions):
    import faiss

    nlist = int(max(16, min(4 * np.sqrt(len(train)), len(train) // 39)))
    quantizer = faiss.IndexFlatL2(train.shape[1])
    index = faiss.IndexIVFFlat(quantizer, train.shape[1], nlist, faiss.METRIC_L2)
    rng = np.random.default_rng(options.seed)
    sample = train[rng.choice(len(train), size=min(len(train), 64 * nlist), replace=False)]
    index.train(sample)
    index.add(train)
    index.nprobe = min(options.nprobe, nlist)
    return index


def _search_chunked(index, queries: np.ndarray, chunk: int, on_chunk, k: int) -> tuple[np.ndarray, np.ndarray]:
    distances = np.empty((len(queries), k), dtype=np.float32)
    positions = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        block = queries[start : start + chunk]
        squared, found = index.search(block, k)
        distances[start : start + len(block)] = np.sqrt(np.maximum(squared, 0.0))
        positions[start : start + len(block)] = found
        if on_chunk is not None:
            on_chunk(len(block))
    # FAISS marks a missing neighbour with -1 and a huge distance.
    distances[positions < 0] = np.inf
    return distances, positions


def _recall_at_1(exact, queries: np.ndarray, approx_positions: np.ndarray, seed: int) -> float:
    """Share of sampled queries whose approximate nearest neighbour is at the exact distance."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(queries), size=min(RECALL_SAMPLE, len(queries)), replace=False)
    squared, _ = exact.search(queries[sample], 1)
    true_distance = np.sqrt(np.maximum(squared[:, 0], 0.0))
    found = approx_positions[sample, 0]
    # Compare distances, not positions, so ties between equally near vectors count as found.
    vectors = exact.reconstruct_n(0, exact.ntotal)
    found_distance = np.where(
        found >= 0, np.linalg.norm(vectors[np.maximum(found, 0)] - queries[sample], axis=1), np.inf
    )
    return float(np.mean(found_distance <= true_distance * (1 + 1e-5) + 1e-6))
