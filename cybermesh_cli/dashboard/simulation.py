"""What the dashboard shows: the phase-3 world with the adapter wave and its pulses.

The world is the phase-3 integration world (shards riding spaceships across a 5x5 mesh),
built from a phase-3 spec (live, embedding the corpus) or from a phase-3 run (replay, from its
stored vectors). Beside it the adapter's weights spread in chunks (`pulses/wave.py`); a bot
holding them all runs its tile under the adapter for ``pulse_ticks``. Each call to
:meth:`Simulation.advance` runs some ticks and returns the events they produced.
"""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cybermesh_cli.phases.base import Expected
from cybermesh_cli.phases.phase3 import Tally, World
from cybermesh_cli.pulses.adapters import WEIGHTS, PulseEngine, Registry
from cybermesh_cli.pulses.nca import NeuralCA
from cybermesh_cli.pulses.wave import WaveTick, spread
from cybermesh_cli.pulses.world import apply_pulses
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.spec import Spec
from cybermesh_cli.substrate.detect import detect
from cybermesh_cli.substrate.grid import Grid

BOT_STATES = ("idle", "routing", "holding", "pulsing", "overloaded")
TRAIL_POINTS = 8
MAX_OBJECTS = 60
KINDS = {"spaceship": 0, "oscillator": 1, "still": 2}


def pack_cells(cells: np.ndarray[Any, Any]) -> str:
    """Row-major bits, most significant first (numpy's packbits), as base64."""
    return base64.b64encode(np.packbits(cells.astype(np.uint8), axis=None).tobytes()).decode()


class Simulation:
    """The world, the wave, and what a frame needs to draw them."""

    def __init__(self, world: World, wave: Mapping[str, Any], registry: Registry) -> None:
        """Wrap ``world``; the wave carries ``wave['adapter']`` from the registry."""
        self.world = world
        self.tally = Tally()
        self.tick = -1
        self.settings = wave
        info = registry.info(wave["adapter"])
        self.engine = PulseEngine(NeuralCA(world.grid.rule, info.training["hidden"]), registry)
        mesh = world.mesh
        source = mesh.size // 2 if wave["source"] < 0 else wave["source"]
        self._fronts: Iterator[WaveTick] | None = spread(
            mesh, source, (info.path / WEIGHTS).read_bytes(), wave["chunks"],
            wave["link_capacity"], wave["max_ticks"])
        self.front: WaveTick | None = None
        self.pulse_until: dict[int, int] = {}
        self.recent: dict[int, int] = {}  # bot -> last tick it routed (launch, hop, hand over)
        self.trails: dict[int, deque[tuple[float, float]]] = {}
        self.delay = int(wave["start_tick"])
        world.after_step = self._pulse

    def _pulse(self, before: np.ndarray[Any, Any], grid: Grid) -> None:
        bots = [b for b, end in self.pulse_until.items() if self.tick < end]
        apply_pulses(before, grid, self.engine, self.world.mesh, self.world.tile,
                     {self.settings["adapter"]: bots})

    def advance(self, ticks: int) -> list[Expected]:
        """Run ``ticks`` ticks; return their events (world, wave and pulses)."""
        events: list[Expected] = []
        block = self.world.block
        for _ in range(ticks):
            self.tick += 1
            tick = self.tick
            events += self._wave(tick)
            if tick % block["shards"]["every"] == 0:
                events += self.world.inject(tick, block["shards"]["per_wave"])
            for event in self.world.tick(tick, self.tally):
                if event.type != "state.digest":
                    events.append(event)
                if event.type in ("carrier.launched", "shard.handed", "shard.hop"):
                    self.recent[int(event.payload.get("bot", event.payload.get("to", -1)))] = tick
            self._follow_shards()
        return events

    def _wave(self, tick: int) -> list[Expected]:
        if self._fronts is None or tick < self.delay:
            return []
        front = next(self._fronts, None)
        if front is None:
            self._fronts = None
            return []
        self.front = front
        events = [Expected(tick, "wave.front", {"complete": len(front.complete),
                                                "newly_complete": list(front.newly_complete)})]
        for bot in front.newly_complete:
            self.pulse_until[bot] = tick + self.settings["pulse_ticks"]
            events.append(Expected(tick, "pulse.start", {"bot": bot,
                                                         "until": self.pulse_until[bot]}))
        return events

    def _follow_shards(self) -> None:
        carriers = self.world.tracker.carriers
        alive = set()
        for shard in self.world.shards:
            alive.add(shard.id)
            if shard.carrier is not None and shard.carrier in carriers:
                point = carriers[shard.carrier].centroid
                self.trails.setdefault(shard.id, deque(maxlen=TRAIL_POINTS)).append(
                    (round(point[0], 1), round(point[1], 1)))
        for gone in set(self.trails) - alive:
            del self.trails[gone]

    def bot_states(self) -> list[int]:
        """Each bot's state as an index into :data:`BOT_STATES` (the most pressing one)."""
        held = np.zeros(self.world.mesh.size, int)
        for shard in self.world.shards:
            if shard.status == "held":
                held[shard.bot] += 1
        states = []
        for bot in range(self.world.mesh.size):
            if held[bot] >= self.settings["overloaded_at"]:
                states.append(4)
            elif self.pulse_until.get(bot, -1) > self.tick:
                states.append(3)
            elif held[bot]:
                states.append(2)
            elif self.tick - self.recent.get(bot, -10**9) <= self.settings["routing_ticks"]:
                states.append(1)
            else:
                states.append(0)
        return states

    def frame(self) -> dict[str, Any]:
        """Everything the page draws for the current tick (not yet numbered or timed)."""
        cells = self.world.grid.cells
        found = sorted((d for d in detect(cells) if d.apgcode != "unknown"),
                       key=lambda d: KINDS.get(d.kind, 3))  # spaceships first: a cap keeps them
        objects = [[*d.bbox, d.heading or "", KINDS.get(d.kind, 3)] for d in found]
        carriers = self.world.tracker.carriers
        shards = []
        for shard in self.world.shards:
            if shard.carrier is not None and shard.carrier in carriers:
                y, x = carriers[shard.carrier].centroid
            else:
                row, col = self.world.mesh.position(shard.bot)
                y, x = (row + 0.5) * self.world.tile, (col + 0.5) * self.world.tile
            shards.append([shard.id, round(y, 1), round(x, 1), shard.status == "aboard"])
        front = self.front
        return {
            "tick": self.tick,
            "grid": {"h": cells.shape[0], "w": cells.shape[1], "bits": pack_cells(cells)},
            "mesh": {"rows": self.world.mesh.rows, "cols": self.world.mesh.cols,
                     "tile": self.world.tile},
            "bots": self.bot_states(),
            "objects": objects[:MAX_OBJECTS],
            "shards": shards,
            "trails": [[i, [list(p) for p in t]] for i, t in self.trails.items()],
            "wave": {"complete": list(front.complete) if front else [],
                     "chunks": list(front.chunks_held) if front else [],
                     "total": self.settings["chunks"]},
        }

    def frame_counts(self) -> dict[str, int]:
        """Shard outcomes so far, for the page's counters."""
        outcomes = self.tally.outcomes
        return {"delivered": outcomes["delivered"], "dropped": outcomes["dropped"],
                "in_flight": len(self.world.shards)}


def build_live(spec_path: Path, wave: Mapping[str, Any], registry: Registry,
               console: Any) -> Simulation:
    """Embed the corpus of a phase-3 spec and build its world (live mode)."""
    from cybermesh_cli.phases.embedding import embed_topics
    from cybermesh_cli.spec import load_spec

    spec = load_spec(spec_path)
    corpus, _ = embed_topics(spec.block("phase3"), console)
    return simulation_for(spec, corpus.keys, corpus.shards, wave, registry)


def simulation_for(spec: Spec, keys: Vectors, vectors: Vectors, wave: Mapping[str, Any],
                   registry: Registry) -> Simulation:
    """Build a phase-3 spec's world from its embedded keys and shard vectors, with the wave."""
    world = World(spec.block("phase3"), keys, vectors,
                  np.random.SeedSequence(spec.seed).spawn(1)[0])
    return Simulation(world, wave, registry)


def build_replay(run_dir: Path, wave: Mapping[str, Any], registry: Registry) -> Simulation:
    """Rebuild a logged phase-3 run's world from its spec and stored vectors (replay mode)."""
    from safetensors.numpy import load_file

    from cybermesh_cli.errors import UserError
    from cybermesh_cli.phases.embedding import VECTORS_FILE
    from cybermesh_cli.runs.record import SPEC_FILE
    from cybermesh_cli.spec import load_spec

    spec = load_spec(run_dir / SPEC_FILE)
    if spec.phase != 3:
        raise UserError(f"{run_dir}: the dashboard replays phase 3 runs (this is phase "
                        f"{spec.phase})")
    if not (run_dir / VECTORS_FILE).is_file():
        raise UserError(f"{run_dir}: {VECTORS_FILE} is missing; cannot rebuild the world")
    stored = load_file(str(run_dir / VECTORS_FILE))
    return simulation_for(spec, stored["keys"], stored["shards"], wave, registry)
