"""The memory layer: bots keep the shards delivered to them; store, settle, recall.

The layer sits on the shard layer (its gossip tables and vectors): a shard is stored where
routing leaves it, the memory settles as a k-means step done with local knowledge, and a query
walks the mesh probing bots (``shards.memory.recall``). A finished run keeps its memory in the
run folder (:func:`save_memory`), so ``cybermesh recall`` needs no world.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.events import Event
from cybermesh_cli.files import read_regular
from cybermesh_cli.paths import SCHEMAS_DIR
from cybermesh_cli.spec import validate_mapping
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.shards.memory import Memory, Recall, recall
from cybermesh_cli.shards.routing import RoutingTables, route
from cybermesh_cli.topology import Mesh

if TYPE_CHECKING:
    from cybermesh_cli.world.shards import ShardLayer

MEMORY_FILE = "memory.safetensors"
MEMORY_META = "memory.json"
MAX_MEMORY_META_BYTES = 1 << 26  # the mesh, the embedder and every stored text
MEMORY_SCHEMA = SCHEMAS_DIR / "memory.yaml"


class MemoryLayer:
    """Each bot's memory (``store``) over the shard layer's tables and vectors."""

    def __init__(self, shards: ShardLayer, capacity: int) -> None:
        """Keep at most ``capacity`` shards a bot, oldest out first."""
        self.shards = shards
        self.store = Memory(shards.mesh.size, capacity)

    def keep(self, tick: int, entry: int, bot: int) -> Event:
        """Store shard ``entry`` at ``bot``: a ``memory.stored`` event."""
        evicted = self.store.store(bot, entry)
        return Event(tick, "memory.stored", {"entry": entry, "bot": bot, "evicted": evicted})

    def _home(self, entry: int, origin: int) -> tuple[int, int, str]:
        """Where routing from ``origin`` leaves shard ``entry``: bot, hops and outcome."""
        found = route(self.shards.tables, self.shards.vectors[entry], origin,
                      4 * int(self.shards.mesh.hops.max()))
        return found.at, found.hops, found.outcome

    def remember(self, tick: int, entry: int, origin: int) -> Event:
        """Route shard vector ``entry`` from ``origin`` over the gossip tables and store it.

        The same hops a carried shard makes, without the carriers: it is delivered where its bot
        is the best it knows. A shard whose route ends early (every way on visited, or out of
        hops) is kept where it stopped; the event's ``outcome`` says which.
        """
        home, hops, outcome = self._home(entry, origin)
        event = self.keep(tick, entry, home)
        return Event(event.tick, event.type, {**event.payload, "hops": hops, "outcome": outcome})

    def consolidate(self, tick: int) -> Event:
        """One round of the memory settling, as a k-means step done with local knowledge.

        Each bot's key moves to the mean of the shards it holds (a bot holding none keeps its
        key), the keys are gossiped again, and every held shard is routed anew from the bot
        that holds it. Returns a ``memory.consolidated`` event: shards moved and evicted.
        """
        shards, memory = self.shards, self.store
        held, owners = memory.owners()
        keys = shards.keys.copy()
        for bot in np.unique(owners).tolist():
            mean = shards.vectors[held[owners == bot]].mean(axis=0)
            keys[bot] = mean / np.linalg.norm(mean)
        shards.rekey(keys.astype(np.float32))
        settled = Memory(shards.mesh.size, memory.capacity)
        moved = 0
        for entry, bot in zip(held.tolist(), owners.tolist(), strict=True):
            home = self._home(entry, bot)[0]
            moved += home != bot
            settled.store(home, entry)
        settled.stored = memory.stored
        evicted, settled.evicted = settled.evicted, memory.evicted + settled.evicted
        self.store = settled
        return Event(tick, "memory.consolidated", {"moved": moved, "evicted": evicted,
                                                   "held": len(settled)})

    def recall(self, query: Vectors, origin: int, k: int, probe: int, max_hops: int) -> Recall:
        """Query the bots' memory from ``origin`` (see :mod:`cybermesh_cli.shards.memory`)."""
        return recall(self.shards.tables, self.store, self.shards.vectors, query, origin, k,
                      probe, max_hops)


def save_memory(folder: Path, layer: MemoryLayer, vectors: Vectors, texts: list[str],
                queries: Vectors, topic_keys: Vectors, meta: dict[str, Any]) -> None:
    """Keep what `cybermesh recall` and replay need: vectors, keys, who holds what, texts.

    ``meta`` adds the query settings (k, max hops, judged probe, embedder, query texts).
    """
    from safetensors.numpy import save_file

    memory, shards = layer.store, layer.shards
    held, owners = memory.owners()
    save_file({"vectors": vectors, "keys": shards.keys, "held": held, "owners": owners,
               "queries": queries, "topic_keys": topic_keys}, str(folder / MEMORY_FILE))
    mesh = shards.mesh
    (folder / MEMORY_META).write_text(json.dumps({
        "rows": mesh.rows, "cols": mesh.cols, "neighbourhood": mesh.neighbourhood,
        "torus": mesh.torus, "horizon": shards.tables.horizon,
        "fewest_tiles": shards.tables.fewest_tiles, "capacity": memory.capacity,
        **meta, "texts": texts}, indent=1))


@dataclass(frozen=True)
class RunMemory:
    """A finished run's memory, ready to query: tables, who holds what, vectors, texts."""

    tables: RoutingTables
    memory: Memory
    vectors: Vectors
    texts: list[str]
    meta: dict[str, Any]

    def query(self, vector: Vectors, origin: int, k: int, probe: int) -> Recall:
        """Route one query vector through the run's mesh (see :func:`shards.memory.recall`)."""
        if not 0 <= origin < self.tables.mesh.size:
            raise InputError(f"--origin {origin}: the mesh has bots 0 to "
                             f"{self.tables.mesh.size - 1}")
        return recall(self.tables, self.memory, self.vectors, vector, origin, k, probe,
                      int(self.meta["max_hops"]))


def open_memory(folder: Path) -> RunMemory:
    """Load what :func:`save_memory` kept in a run folder; one line if it is not there.

    memory.json is checked against ``schemas/memory.yaml`` and the tensors against it (shapes,
    ranges, finite keys) before anything is built from them.
    """
    if not (folder / MEMORY_FILE).is_file() or not (folder / MEMORY_META).is_file():
        raise InputError(f"{folder}: not a memory run (it needs {MEMORY_FILE} and "
                         f"{MEMORY_META}; run experiments/memory.yaml)")
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    meta_path, tensors_path = folder / MEMORY_META, folder / MEMORY_FILE
    try:
        meta = json.loads(read_regular(meta_path, MAX_MEMORY_META_BYTES))
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{meta_path}: unreadable ({exc})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{meta_path}: expected a JSON object")
    validate_mapping(meta, MEMORY_SCHEMA, meta_path)
    try:
        kept = load_file(str(tensors_path))
    except (OSError, ValueError, SafetensorError) as exc:
        raise InputError(f"{tensors_path}: unreadable ({exc})") from None
    _check_tensors(kept, meta, tensors_path)
    mesh = Mesh(meta["rows"], meta["cols"], meta["neighbourhood"], meta["torus"])
    tables = RoutingTables(mesh, kept["keys"], meta["horizon"], meta.get("fewest_tiles", False))
    memory = Memory.from_owners(mesh.size, meta["capacity"], kept["held"], kept["owners"])
    return RunMemory(tables, memory, kept["vectors"], list(meta["texts"]), meta)


def _check_tensors(kept: dict[str, NDArray[Any]], meta: dict[str, Any], path: Path) -> None:
    """Check the saved tensors against memory.json and each other; one line says what is off."""
    def refuse(why: str) -> None:
        raise InputError(f"{path}: {why}")

    missing = {"vectors", "keys", "held", "owners"} - set(kept)
    if missing:
        refuse(f"no {', '.join(sorted(missing))} tensor")
    vectors, keys, held, owners = (kept[n] for n in ("vectors", "keys", "held", "owners"))
    bots, texts = meta["rows"] * meta["cols"], len(meta["texts"])
    if vectors.ndim != 2 or len(vectors) != texts or vectors.dtype.kind != "f":
        refuse(f"vectors must be {texts} float rows, one a text in {MEMORY_META}")
    if keys.shape != (bots, vectors.shape[1]) or not np.isfinite(keys).all():
        refuse(f"keys must be {bots} finite rows of {vectors.shape[1]} (a bot each)")
    integer = held.dtype.kind in "iu" and owners.dtype.kind in "iu"
    if held.ndim != 1 or owners.shape != held.shape or not integer:
        refuse("held and owners must be integer lists of one length (an entry and its bot)")
    if len(held) and (held.min() < 0 or held.max() >= texts or owners.min() < 0
                      or owners.max() >= bots):
        refuse(f"held entries must be texts 0 to {texts - 1} and owners bots 0 to {bots - 1}")
