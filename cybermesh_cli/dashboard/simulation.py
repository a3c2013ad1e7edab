"""What the dashboard shows: a world with shards and the adapter wave, and its frames.

The world (`cybermesh_cli/world`) is built from a phase-3 spec (live, embedding the corpus) or
from a phase-3 run (replay, from its stored vectors), with the wave added: the adapter's
weights spread in chunks and a bot holding them all pulses its tile for ``pulse_ticks``.
Each call to :meth:`Simulation.advance` runs some ticks and returns the events they produced.
"""

from __future__ import annotations

import base64
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cybermesh_cli.errors import InputError
from cybermesh_cli.events import Event
from cybermesh_cli.paths import resource
from cybermesh_cli.runs.record import SPEC_FILE
from cybermesh_cli.shards.corpus import embed_topics, load_corpus
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.spec import Spec, load_spec
from cybermesh_cli.substrate.detect import detect
from cybermesh_cli.substrate.rules import parse_rule
from cybermesh_cli.world import World, stored_vectors, world_for
from cybermesh_cli.world.shards import ShardLayer

if TYPE_CHECKING:
    from cybermesh_cli.pulses.registry import Registry
    from cybermesh_cli.world.pulses import PulseLayer

BOT_STATES = ("idle", "routing", "holding", "pulsing", "overloaded")
TRAIL_POINTS = 8
MAX_OBJECTS = 60
MAX_QUERY_CHARS = 500
MAX_HITS = 50
MEMORY = {"capacity": 64}  # a shown world keeps what is delivered, so a page can query it
KINDS = {"spaceship": 0, "oscillator": 1, "still": 2}


def pack_cells(cells: np.ndarray[Any, Any]) -> str:
    """Row-major bits, most significant first (numpy's packbits), as base64."""
    return base64.b64encode(np.packbits(cells.astype(np.uint8), axis=None).tobytes()).decode()


class Simulation:
    """A world with the adapter wave, and what a frame needs to draw it."""

    def __init__(self, world: World, view: Mapping[str, Any], texts: Sequence[str] = (),
                 embed: Callable[[str], Vectors] | None = None) -> None:
        """Show ``world``; ``view`` gives ``overloaded_at`` and ``routing_ticks``.

        ``texts`` (the shard texts) and ``embed`` (a text's query vector) let a page query the
        bots' memory with :meth:`recall`.
        """
        if world.shards is None or world.pulses is None:
            raise InputError("dashboard: the world needs shards and a wave to be shown")
        self.world = world
        self.layer: ShardLayer = world.shards
        self.wave: PulseLayer = world.pulses
        self.settings = view
        self.outcomes: Counter[str] = Counter()
        self.recent: dict[int, int] = {}  # bot -> last tick it routed (launch, hop, hand over)
        self.trails: dict[int, deque[tuple[float, float]]] = {}
        self.texts = list(texts)
        self._embed = embed
        self.route: dict[str, list[int]] | None = None  # the last query's walk, drawn in frames

    @property
    def tick(self) -> int:
        """The world's current tick."""
        return self.world.tick

    def advance(self, ticks: int) -> list[Event]:
        """Run ``ticks`` ticks; return their events (world, wave and pulses)."""
        events: list[Event] = []
        for _ in range(ticks):
            for event in self.world.step():
                if event.type == "state.digest":
                    continue
                events.append(event)
                if event.type in ("carrier.launched", "shard.handed", "shard.hop"):
                    bot = event.payload.get("bot", event.payload.get("to", -1))
                    self.recent[int(bot)] = event.tick
                elif event.type in ("shard.delivered", "shard.dropped"):
                    self.outcomes[event.type.split(".")[1]] += 1
            self._follow_shards()
        return events

    def _follow_shards(self) -> None:
        carriers = self.layer.tracker.carriers
        alive = set()
        for shard in self.layer.shards:
            alive.add(shard.id)
            if shard.carrier is not None and shard.carrier in carriers:
                point = carriers[shard.carrier].centroid
                self.trails.setdefault(shard.id, deque(maxlen=TRAIL_POINTS)).append(
                    (round(point[0], 1), round(point[1], 1)))
        for gone in set(self.trails) - alive:
            del self.trails[gone]

    def bot_states(self) -> list[int]:
        """Each bot's state as an index into :data:`BOT_STATES` (the most pressing one)."""
        mesh = self.world.mesh
        held = np.zeros(mesh.size, int)
        for shard in self.layer.shards:
            if shard.status == "held":
                held[shard.bot] += 1
        pulsing = set(self.wave.pulsing(self.tick))
        states = []
        for bot in range(mesh.size):
            if held[bot] >= self.settings["overloaded_at"]:
                states.append(4)
            elif bot in pulsing:
                states.append(3)
            elif held[bot]:
                states.append(2)
            elif self.tick - self.recent.get(bot, -10**9) <= self.settings["routing_ticks"]:
                states.append(1)
            else:
                states.append(0)
        return states

    def recall(self, text: str, k: int = 10, probe: int | None = None,
               origin: int = 0) -> dict[str, Any]:
        """Query the live world's memory with ``text``; the walk is drawn in the next frames."""
        mesh = self.world.mesh
        if self._embed is None or self.world.memory is None:
            raise InputError("dashboard: this world has no memory to query")
        if not text.strip() or len(text) > MAX_QUERY_CHARS:
            raise InputError(f"recall: the text must have 1 to {MAX_QUERY_CHARS} characters")
        probe = max(1, mesh.size // 10) if probe is None else probe
        if not (1 <= k <= MAX_HITS and 1 <= probe <= mesh.size and 0 <= origin < mesh.size):
            raise InputError(f"recall: k must be 1-{MAX_HITS}, probe 1-{mesh.size} and origin "
                             f"0-{mesh.size - 1}")
        found = self.world.recall(self._embed(text), origin, k, probe, 4 * mesh.size)
        self.route = {"path": list(found.path), "probed": list(found.probed)}
        return {"query": text, "origin": origin, "probe": probe, "hops": found.hops,
                "held": len(self.world.memory.store), **self.route,
                "hits": [{"text": self.texts[h.entry] if h.entry < len(self.texts) else "",
                          "entry": h.entry, "bot": h.bot, "similarity": round(h.similarity, 4),
                          "hops": h.hops} for h in found.hits]}

    def frame(self) -> dict[str, Any]:
        """Everything the page draws for the current tick (not yet numbered or timed)."""
        cells = self.world.cells
        tiling = self.world.tiling
        found = sorted((d for d in detect(cells) if d.apgcode != "unknown"),
                       key=lambda d: KINDS.get(d.kind, 3))  # spaceships first: a cap keeps them
        objects = [[*d.bbox, d.heading or "", KINDS.get(d.kind, 3)] for d in found]
        carriers = self.layer.tracker.carriers
        shards = []
        for shard in self.layer.shards:
            if shard.carrier is not None and shard.carrier in carriers:
                y, x = carriers[shard.carrier].centroid
            else:
                y, x = tiling.centre(shard.bot)
            shards.append([shard.id, round(y, 1), round(x, 1), shard.status == "aboard"])
        front = self.wave.front
        chunks = self.wave.wave.chunks if self.wave.wave is not None else 0
        return {
            "tick": self.tick,
            "grid": {"h": cells.shape[0], "w": cells.shape[1], "bits": pack_cells(cells)},
            "mesh": {"rows": self.world.mesh.rows, "cols": self.world.mesh.cols,
                     "tile": tiling.tile},
            "bots": self.bot_states(),
            "objects": objects[:MAX_OBJECTS],
            "shards": shards,
            "trails": [[i, [list(p) for p in t]] for i, t in self.trails.items()],
            "route": self.route,
            "wave": {"complete": list(front.complete) if front else [],
                     "chunks": list(front.chunks_held) if front else [],
                     "total": chunks},
        }

    def frame_counts(self) -> dict[str, int]:
        """Shard outcomes so far, for the page's counters."""
        return {"delivered": self.outcomes["delivered"], "dropped": self.outcomes["dropped"],
                "in_flight": len(self.layer.shards)}


def shown_world(spec: Spec, keys: Vectors, vectors: Vectors, wave: Mapping[str, Any],
                registry: Registry) -> World:
    """Build a phase-3 spec's world from its embedded keys and shard vectors, with the wave."""
    from cybermesh_cli.pulses.adapters import PulseEngine

    rule = parse_rule(str(spec.block("phase3")["rule"]))
    return world_for(spec, keys, vectors, extra={"memory": MEMORY}, wave=wave,
                     engine=PulseEngine.for_adapter(registry, wave["adapter"], rule))


def simulation_for(spec: Spec, keys: Vectors, vectors: Vectors, wave: Mapping[str, Any],
                   registry: Registry, texts: Sequence[str] = (),
                   embed: Callable[[str], Vectors] | None = None) -> Simulation:
    """Build a phase-3 spec's world with the wave, ready to show (and to query)."""
    return Simulation(shown_world(spec, keys, vectors, wave, registry), wave, texts, embed)


def _query_embedder(block: Mapping[str, Any]) -> Callable[[str], Vectors]:
    """Embed a query as the spec's shards were, loading the embedder on first use."""
    loaded: list[Any] = []

    def embed(text: str) -> Vectors:
        from cybermesh_cli.shards.embedders import make_embedder

        if not loaded:
            config = block["embedder"]
            loaded.append(make_embedder(config["backend"], config.get("host"),
                                        float(config["timeout_s"])).embedder)
        vector: Vectors = loaded[0].embed([text], "query")[0]
        return vector

    return embed


def build_live(spec_path: Path, wave: Mapping[str, Any], registry: Registry,
               console: Any) -> Simulation:
    """Embed the corpus of a phase-3 spec and build its world (live mode)."""
    spec = load_spec(spec_path)
    corpus, _ = embed_topics(spec.block("phase3"), console)
    return simulation_for(spec, corpus.keys, corpus.shards, wave, registry, corpus.texts,
                          lambda text: corpus.embedder.embed([text], "query")[0])


def build_replay(run_dir: Path, wave: Mapping[str, Any], registry: Registry) -> Simulation:
    """Rebuild a logged phase-3 run's world from its spec and stored vectors (replay mode)."""
    spec = load_spec(run_dir / SPEC_FILE)
    if spec.phase != 3:
        raise InputError(f"{run_dir}: the dashboard replays phase 3 runs (this is phase "
                         f"{spec.phase})")
    stored = stored_vectors(run_dir)
    block = spec.block("phase3")
    texts = [t for topic in load_corpus(resource(block["corpus"])) for t in topic.shard_texts]
    return simulation_for(spec, stored["keys"], stored["shards"], wave, registry, texts,
                          _query_embedder(block))
