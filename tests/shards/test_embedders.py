"""Embedders: hash and local backends, and the Ollama client path.

The Ollama path runs against a local server that speaks Ollama's /api/embed protocol (no Ollama
server can run here).
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from cybermesh_cli.shards.embedders import (
    EmbedderError,
    HashEmbedder,
    LocalEmbedder,
    OllamaEmbedder,
    make_embedder,
)
from tests.conftest import needs


class FakeOllama(BaseHTTPRequestHandler):
    """POST /api/embed: a deterministic 8-d vector per input; behaviour set by the model name."""

    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        """Answer one embed request."""
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOllama.requests.append(body)
        model = body["model"]
        if self.path != "/api/embed" or model == "missing":
            self._reply(404, {"error": f'model "{model}" not found, try pulling it first'})
        elif model == "slow":
            time.sleep(1.5)
            self._reply(200, {"model": model, "embeddings": [[1.0]] * len(body["input"])})
        elif model == "broken":
            self._reply(200, {"model": model, "embeddings": [[1.0, 2.0]]})  # one vector short
        else:
            vectors = [[float(len(text)), float(sum(map(ord, text)) % 97), 1, 0, 0, 0, 0, 0]
                       for text in body["input"]]
            self._reply(200, {"model": model, "embeddings": vectors})

    def _reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        """Keep test output quiet."""


@pytest.fixture
def ollama_server():
    needs("ollama")
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOllama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeOllama.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ollama_success_batching_and_prefixes(ollama_server):
    embedder = OllamaEmbedder(ollama_server, model="nomic-embed-text", timeout=5, batch_size=3)
    texts = [f"text number {i}" for i in range(7)]
    vectors = embedder.embed(texts, "query")
    assert vectors.shape == (7, 8) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1)
    assert [len(r["input"]) for r in FakeOllama.requests] == [3, 3, 1]
    assert FakeOllama.requests[0]["input"][0] == "search_query: text number 0"
    embedder.embed(texts[:2], "query")  # cached: no new request
    assert len(FakeOllama.requests) == 3
    embedder.embed(texts[:1], "document")
    assert FakeOllama.requests[-1]["input"] == ["search_document: text number 0"]


def test_ollama_connection_refused():
    needs("ollama")
    embedder = OllamaEmbedder(f"http://127.0.0.1:{_free_port()}", timeout=2)
    with pytest.raises(EmbedderError, match="no server answers"):
        embedder.embed(["x"])


def test_ollama_missing_model(ollama_server):
    with pytest.raises(EmbedderError, match="model 'missing' not found.*ollama pull missing"):
        OllamaEmbedder(ollama_server, model="missing", timeout=5).embed(["x"])


def test_ollama_timeout(ollama_server):
    with pytest.raises(EmbedderError, match="no answer within 0.3 s"):
        OllamaEmbedder(ollama_server, model="slow", timeout=0.3).embed(["x"])


def test_ollama_malformed_answer(ollama_server):
    with pytest.raises(EmbedderError, match="malformed answer"):
        OllamaEmbedder(ollama_server, model="broken", timeout=5).embed(["a", "b"])


def test_auto_prefers_a_live_ollama(ollama_server):
    choice = make_embedder("auto", ollama_server)
    assert choice.embedder.name == "ollama" and "answered" in choice.reason


def test_hash_is_deterministic_normalised_and_cached():
    embedder = HashEmbedder(dim=64)
    a = embedder.embed(["the cat sat", "the dog ran", "the cat sat"])
    assert np.array_equal(a[0], a[2]) and np.allclose(np.linalg.norm(a, axis=1), 1)
    assert np.array_equal(HashEmbedder(dim=64).embed(["the dog ran"])[0], a[1])
    small = HashEmbedder(dim=16)
    small.cache_size = 3
    small.embed([f"t{i}" for i in range(10)])
    assert len(small._cache) == 3


@pytest.fixture(scope="module")
def local():
    needs("ml")
    return LocalEmbedder()


def test_local_minilm_is_offline_384d_and_semantic(local):
    vectors = local.embed(["The cat sat on the mat.", "A cat is sitting on a mat.",
                           "Interest rates rose again."])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.8 > 0.3 > similarity[0, 2]
    assert local.describe()["device"] == "cpu"


def test_auto_falls_back_to_local_when_no_server():
    needs("ml", "ollama")
    choice = make_embedder("auto", f"http://127.0.0.1:{_free_port()}", probe_timeout=0.5)
    assert choice.embedder.name == "local" and "ollama unavailable" in choice.reason
