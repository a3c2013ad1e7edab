"""The corpora: the generated corpus is its generator's; large corpora's vectors are kept."""

import subprocess
import sys

import numpy as np

from cybermesh_cli.paths import EXPERIMENTS_DIR
from cybermesh_cli.shards.corpus import CACHE_MIN_TEXTS, cached_embed, load_corpus
from cybermesh_cli.shards.embedders import HashEmbedder
from tests.conftest import REPO


def test_the_generated_corpus_is_its_generators_and_every_text_is_distinct():
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "generate_corpus.py"),
                           "--check"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    topics = load_corpus(EXPERIMENTS_DIR / "data" / "topics-4096.yaml")
    texts = [t.key_text for t in topics] + [s for t in topics for s in t.shard_texts]
    assert len(topics) == 4096 and len(set(texts)) == len(texts) == 4096 * 5


class CountingLocal(HashEmbedder):
    """A stand-in for the local model: same name, counts the texts it embeds."""

    name = "local"

    def __init__(self) -> None:
        """Start at zero texts embedded."""
        super().__init__()
        self.embedded = 0

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        return super()._embed_batch(texts)


def test_a_large_corpus_is_embedded_once_and_read_back_unchanged(tmp_path, monkeypatch):
    monkeypatch.setenv("CYBERMESH_CACHE", str(tmp_path))
    texts = [f"text number {i} about topic {i % 37}" for i in range(CACHE_MIN_TEXTS + 5)]
    first = CountingLocal()
    vectors = cached_embed(first, texts, "query")
    assert first.embedded == len(texts)
    (stored,) = (tmp_path / "embeddings").iterdir()
    again = CountingLocal()
    assert np.array_equal(cached_embed(again, texts, "query"), vectors) and again.embedded == 0
    other = CountingLocal()  # another kind (prefix) or other texts miss
    cached_embed(other, texts, "document")
    cached_embed(other, texts[:-1], "query")
    assert other.embedded == 2 * len(texts) - 1
    stored.write_bytes(b"damaged")  # a damaged file is computed again, and replaced
    fresh = CountingLocal()
    assert np.array_equal(cached_embed(fresh, texts, "query"), vectors)
    assert fresh.embedded == len(texts)
    small = CountingLocal()  # a small corpus is not worth a file
    cached_embed(small, texts[:10], "query")
    assert len(list((tmp_path / "embeddings").iterdir())) == 3
