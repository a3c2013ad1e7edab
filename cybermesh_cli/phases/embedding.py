"""Embedding the shard corpus for a run: pick the embedder, record it, store the vectors.

The vectors go into the run folder as safetensors, so replay never needs an embedder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from safetensors.numpy import save_file

from cybermesh_cli.phases.base import RunContext
from cybermesh_cli.runs.record import VECTORS_FILE
from cybermesh_cli.shards.corpus import EmbeddedCorpus, embed_topics

__all__ = ["VECTORS_FILE", "EmbeddedCorpus", "embed_corpus"]


def embed_corpus(ctx: RunContext, block: Mapping[str, Any]) -> EmbeddedCorpus:
    """Embed the spec's corpus with the spec's embedder; save the vectors with the run."""
    corpus, choice = embed_topics(block, ctx.console)
    ctx.manifest_notes["embedder"] = {**choice.embedder.describe(),
                                      "requested": choice.requested, "reason": choice.reason}
    save_file({"keys": corpus.keys, "shards": corpus.shards, "labels": corpus.labels},
              str(ctx.dir / VECTORS_FILE))
    return corpus
