"""Embedding benchmark: latency per batch and throughput for several batch sizes."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from cybermesh_cli.shards.corpus import load_corpus
from cybermesh_cli.shards.embedders import Embedder


@dataclass(frozen=True)
class EmbedRow:
    """Latency and throughput at one batch size."""

    batch_size: int
    batches: int
    median_ms: float
    p95_ms: float
    texts_per_s: float


def bench_embedder(embedder: Embedder, batch_sizes: tuple[int, ...] = (1, 16, 64),
                   batches: int = 20) -> list[EmbedRow]:
    """Time fresh (uncached) batches of corpus shard texts; one warm-up batch first."""
    texts = [s for topic in load_corpus() for s in topic.shard_texts]
    embedder.embed(texts[:4], "query")
    rows = []
    for size in batch_sizes:
        embedder.batch_size = size
        times = []
        for index in range(batches):
            batch = [f"{texts[(index * size + j) % len(texts)]} [{size}.{index}.{j}]"
                     for j in range(size)]
            start = time.perf_counter()
            embedder.embed(batch, "query")
            times.append(time.perf_counter() - start)
        median = float(np.median(times))
        rows.append(EmbedRow(size, batches, 1000 * median, 1000 * float(np.percentile(times, 95)),
                             size / median))
    return rows
