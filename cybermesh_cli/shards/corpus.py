"""The labelled shard corpus: topics with a key text and shard texts (experiments/data)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.markup import escape

from cybermesh_cli.errors import InputError
from cybermesh_cli.paths import EXPERIMENTS_DIR, SCHEMAS_DIR, cache_dir, resource
from cybermesh_cli.shards.embedders import Embedder, EmbedderChoice, Kind, Vectors, make_embedder
from cybermesh_cli.spec import MAX_CORPUS_BYTES, load_yaml_file
from cybermesh_cli.progress import waiting

DEFAULT_CORPUS = EXPERIMENTS_DIR / "data" / "topics.yaml"
CACHE_MIN_TEXTS = 1000  # smaller corpora embed in seconds: not worth a file


@dataclass(frozen=True)
class Topic:
    """One topic: the text a bot's key is built from, and shard texts about it."""

    name: str
    key_text: str
    shard_texts: tuple[str, ...]


def load_corpus(path: Path = DEFAULT_CORPUS) -> list[Topic]:
    """Load and validate a corpus; shard texts must differ from every key text."""
    data = load_yaml_file(path, SCHEMAS_DIR / "corpus.yaml", MAX_CORPUS_BYTES)
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
    with waiting(console, f"loading the {config['backend']} embedder ..."):
        choice = make_embedder(config["backend"], config.get("host"),
                               float(config["timeout_s"]),
                               batch_size=int(config.get("batch_size", 32)))
    if choice.requested == "auto":
        console.print(f"[yellow]embedder:[/] {escape(choice.reason)}", highlight=False)
    texts = [s for t in topics for s in t.shard_texts]
    labels = np.repeat(np.arange(len(topics)), [len(t.shard_texts) for t in topics])
    keys = cached_embed(choice.embedder, [t.key_text for t in topics], "document")
    shards = cached_embed(choice.embedder, texts, "query", console)
    return EmbeddedCorpus(keys, shards, labels.astype(np.int64), texts, choice.embedder), choice


def cached_embed(embedder: Embedder, texts: list[str], kind: Kind,
                 console: Console | None = None) -> Vectors:
    """Embed ``texts``, keeping the local model's vectors on disk (:func:`paths.cache_dir`).

    The file is named by a hash of the model, the kind and every text, so a changed corpus or
    model misses; the model's weights ship in a pinned package, so a hit is what it would
    compute. Other backends (a hash needs no cache; a server's model may change) embed anew.
    """
    if embedder.name != "local" or len(texts) < CACHE_MIN_TEXTS:
        return embedder.embed(texts, kind)
    from safetensors import SafetensorError
    from safetensors.numpy import load_file, save_file

    digest = hashlib.sha256(json.dumps([embedder.name, embedder.model, kind, texts]).encode())
    path = cache_dir() / "embeddings" / f"{digest.hexdigest()[:32]}.safetensors"
    if path.is_file():
        try:
            vectors = load_file(str(path))["vectors"]
            if vectors.shape[0] == len(texts) and vectors.shape[1] == (embedder.dim or
                                                                        vectors.shape[1]):
                return vectors
        except (OSError, KeyError, ValueError, SafetensorError):
            pass  # a damaged cache file is computed again
    if console is not None:
        console.print(f"embedding {len(texts):,} texts with the {embedder.name} model (kept "
                      f"in {path.parent} for the next run) ...", highlight=False, markup=False)
    vectors = embedder.embed(texts, kind)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        save_file({"vectors": vectors}, str(partial))
        partial.replace(path)
    except OSError:
        pass  # a read-only home: no cache, same vectors
    return vectors
