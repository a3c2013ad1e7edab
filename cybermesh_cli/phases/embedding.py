"""Embedding the shard corpus for a run: pick the embedder, record it, store the vectors.

The vectors go into the run folder as safetensors, so replay never needs an embedder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from safetensors.numpy import save_file

from cybermesh_cli.paths import PROJECT_ROOT
from cybermesh_cli.phases.base import RunContext
from cybermesh_cli.shards.corpus import load_corpus
from cybermesh_cli.shards.embedders import Embedder, EmbedderChoice, Vectors, make_embedder

VECTORS_FILE = "vectors.safetensors"


@dataclass(frozen=True)
class EmbeddedCorpus:
    """Topic keys, shard vectors, each shard's topic index, and the embedder used."""

    keys: Vectors
    shards: Vectors
    labels: NDArray[np.int64]
    texts: list[str]
    embedder: Embedder


def embed_topics(block: Mapping[str, Any],
                 console: Console) -> tuple[EmbeddedCorpus, EmbedderChoice]:
    """Embed the corpus a spec block names with its embedder; also return the embedder choice."""
    topics = load_corpus(PROJECT_ROOT / block["corpus"])
    config = block["embedder"]
    with console.status(f"loading the {config['backend']} embedder ..."):
        choice = make_embedder(config["backend"], config.get("host"),
                               float(config["timeout_s"]),
                               batch_size=int(config.get("batch_size", 32)))
    if choice.requested == "auto":
        console.print(f"[yellow]embedder:[/] {choice.reason}", highlight=False)
    texts = [s for t in topics for s in t.shard_texts]
    labels = np.repeat(np.arange(len(topics)), [len(t.shard_texts) for t in topics])
    keys = choice.embedder.embed([t.key_text for t in topics], "document")
    shards = choice.embedder.embed(texts, "query")
    return EmbeddedCorpus(keys, shards, labels.astype(np.int64), texts, choice.embedder), choice


def embed_corpus(ctx: RunContext, block: Mapping[str, Any]) -> EmbeddedCorpus:
    """Embed the spec's corpus with the spec's embedder; save the vectors with the run."""
    corpus, choice = embed_topics(block, ctx.console)
    ctx.manifest_notes["embedder"] = {**choice.embedder.describe(),
                                      "requested": choice.requested, "reason": choice.reason}
    save_file({"keys": corpus.keys, "shards": corpus.shards, "labels": corpus.labels},
              str(ctx.dir / VECTORS_FILE))
    return corpus
