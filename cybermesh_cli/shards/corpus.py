"""The labelled shard corpus: topics with a key text and shard texts (experiments/data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console

from cybermesh_cli.errors import InputError
from cybermesh_cli.paths import EXPERIMENTS_DIR, SCHEMAS_DIR, resource
from cybermesh_cli.shards.embedders import Embedder, EmbedderChoice, Vectors, make_embedder
from cybermesh_cli.spec import load_yaml_file

DEFAULT_CORPUS = EXPERIMENTS_DIR / "data" / "topics.yaml"


@dataclass(frozen=True)
class Topic:
    """One topic: the text a bot's key is built from, and shard texts about it."""

    name: str
    key_text: str
    shard_texts: tuple[str, ...]


def load_corpus(path: Path = DEFAULT_CORPUS) -> list[Topic]:
    """Load and validate a corpus; shard texts must differ from every key text."""
    data = load_yaml_file(path, SCHEMAS_DIR / "corpus.yaml")
    topics = [Topic(name, entry["topic"], tuple(entry["shards"])) for name, entry in data.items()]
    keys = {t.key_text for t in topics}
    for topic in topics:
        reused = keys.intersection(topic.shard_texts)
        if reused:
            raise InputError(f"{path}: {topic.name}.shards repeats a topic text: {reused.pop()!r}")
    return topics


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
    topics = load_corpus(resource(block["corpus"]))
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
