"""The labelled shard corpus: topics with a key text and shard texts (experiments/data)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cybermesh_cli.errors import UserError
from cybermesh_cli.paths import EXPERIMENTS_DIR, SCHEMAS_DIR
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
            raise UserError(f"{path}: {topic.name}.shards repeats a topic text: {reused.pop()!r}")
    return topics
