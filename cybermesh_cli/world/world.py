"""The CyberMesh world: one torus of cells shared by a mesh of bots, and the layers on it.

A tick: pulses begin or end (the wave moves) -> shards are injected -> noise -> the substrate
steps (pulsed tiles under their adapter) -> carriers are tracked and shards hop, are caught,
delivered and launched -> energy -> a digest of the state. :meth:`World.step` returns that
tick's events; observers see every tick and measure from outside, as Mesa's DataCollector
does, so the world does not know what an experiment measures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.events import Event
from cybermesh_cli.seeds import SeedLike, Seeds
from cybermesh_cli.substrate.noise import Noise
from cybermesh_cli.world.config import ShardConfig, WorldConfig
from cybermesh_cli.world.memory import MemoryLayer
from cybermesh_cli.world.state import ShardState

if TYPE_CHECKING:  # the Numba, SciPy and torch layers load when a World is built
    from cybermesh_cli.pulses.adapters import PulseEngine
    from cybermesh_cli.shards.embedders import Vectors
    from cybermesh_cli.shards.memory import Recall
    from cybermesh_cli.substrate.grid import Grid
    from cybermesh_cli.substrate.shapes import Cells
    from cybermesh_cli.world.pulses import PulseLayer
    from cybermesh_cli.world.shards import ShardLayer

Observer = Callable[["World", list[Event]], None]


@dataclass(frozen=True)
class Snapshot:
    """The world at one tick, for frames, pictures and notebooks (copies, safe to keep)."""

    tick: int
    cells: Cells
    tile: int
    rows: int
    cols: int
    carriers: list[tuple[float, float]]  # centroids of live carriers with riders
    shards: list[ShardState]
    pulsing: list[int]


class World:
    """The integrated system; build it from a :class:`WorldConfig` and one seed."""

    def __init__(self, config: WorldConfig, seed: SeedLike, *, keys: Vectors | None = None,
                 vectors: Vectors | None = None, labels: NDArray[np.int64] | None = None,
                 cells: Cells | None = None, engine: PulseEngine | None = None) -> None:
        """Lay out the torus, soups and bots' keys from ``seed`` (an int or a seed tree).

        ``keys`` (one a topic) and ``vectors`` (shard texts) are needed when the config has
        shards, and ``labels`` (each text's topic) when shards are drawn only from texts of the
        topics bots hold (``shards.texts: held``); ``engine`` when it has a wave; ``cells``
        replaces the empty starting torus. Each random consumer draws from its own named
        child of ``seed``.
        """
        from cybermesh_cli.shards.layout import bisection_layout, semantic_layout
        from cybermesh_cli.substrate.grid import Grid
        from cybermesh_cli.world.energy import EnergyLayer
        from cybermesh_cli.world.shards import ShardLayer, bot_keys

        self.config = config
        self.tiling = config.tiling
        self.mesh = self.tiling.mesh
        self.tick = -1
        self.seeds = Seeds.of(seed)
        self._noise_rng = self.seeds.child("noise").rng()
        self.observers: list[Observer] = []
        self.bot_topics: NDArray[np.int64] | None = None
        self.shards: ShardLayer | None = None
        shard_keys: Vectors | None = None
        if config.shards is not None:
            if keys is None or vectors is None or not len(keys) or not len(vectors):
                raise InputError("world: a world with shards needs topic keys and shard vectors")
            shard_keys, self.bot_topics = bot_keys(keys, config.bots,
                                                   self.seeds.child("placement").rng(),
                                                   self.seeds.child("jitter").rng())
            if config.shards.layout != "random":
                order = bisection_layout(self.mesh, shard_keys) \
                    if config.shards.layout == "bisection" else \
                    semantic_layout(self.mesh, shard_keys, self.seeds.child("layout").rng())
                shard_keys, self.bot_topics = shard_keys[order], self.bot_topics[order]
        start = np.zeros(self.tiling.shape, np.uint8) if cells is None else cells.copy()
        if start.shape != self.tiling.shape:
            raise InputError(f"world: cells of shape {start.shape} do not fit the "
                             f"{self.tiling.shape} torus")
        self._plant_soups(start)
        # one generation a tick: a hand-off to a second thread costs more than the step itself
        # (1024x1024: 21 us on one thread, 166 us on two; docs/performance.md)
        self.grid = Grid(start, config.rule, torus=True, threads=1)
        if config.shards is not None and shard_keys is not None and vectors is not None:
            self.shards = ShardLayer(config.shards, self.tiling, config.rule, shard_keys,
                                     vectors, self.seeds.child("injections").rng(),
                                     self._shard_texts(config.shards, labels))
        self.pulses: PulseLayer | None = None
        if config.wave is not None or engine is not None:
            if engine is None:
                raise InputError("world: a world with a wave needs a pulse engine")
            from cybermesh_cli.world.pulses import PulseLayer

            self.pulses = PulseLayer(self.tiling, engine, config.wave)
        self.noise = Noise(config.noise.mode, config.noise.rate) if config.noise else None
        self.energy = EnergyLayer(config.energy, self.tiling) if config.energy else None
        self.memory = MemoryLayer(self.shards, config.memory.capacity) \
            if config.memory is not None and self.shards is not None else None
        self._cells: tuple[int, Cells] | None = None  # (tick, unpacked cells) once unpacked
        # with observers: this tick's torus before carriers were launched or absorbed
        self.substrate: Grid | None = None

    @property
    def cells(self) -> Cells:
        """Return this tick's cells, 0/1 (H, W); unpacked once a tick, so treat as read-only."""
        if self._cells is None or self._cells[0] != self.tick:
            self._cells = (self.tick, self.grid.cells)
        return self._cells[1]

    def _plant_soups(self, cells: Cells) -> None:
        soup = self.config.soup
        if soup is None:
            return
        tile, rng = self.tiling.tile, self.seeds.child("soups").rng()
        for bot in rng.choice(self.mesh.size, self.config.soup_tiles(), replace=False).tolist():
            top, left = self.tiling.origin(bot)
            top, left = top + (tile - soup.size) // 2, left + (tile - soup.size) // 2
            patch = rng.random((soup.size, soup.size)) < soup.density
            cells[top:top + soup.size, left:left + soup.size] = patch

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(world, events)`` after every tick."""
        self.observers.append(observer)

    def step(self) -> list[Event]:
        """Advance one tick and return its events (the last one is ``state.digest``)."""
        self.tick += 1
        tick = self.tick
        events = self.pulses.begin(tick) if self.pulses is not None else []
        shards, config = self.shards, self.config.shards
        if shards is not None and config is not None and tick % config.every == 0:
            events += shards.inject(tick, self.config.shards_per_wave())
        self._step_substrate(tick)
        if shards is not None:
            if self.observers:
                self.substrate = self.grid.copy()
            events += shards.advance(tick, self.grid)
        self._cells = None
        if self.energy is not None:
            self.energy.update(self.cells)
        events += self._deliveries(tick)
        events.append(Event(tick, "state.digest", self._digest(tick)))
        for observer in self.observers:
            observer(self, events)
        return events

    def _deliveries(self, tick: int) -> list[Event]:
        """Energy trails and the bots' memories take this tick's delivered shards."""
        events: list[Event] = []
        for shard in self.shards.finished if self.shards is not None else ():
            if shard.status != "delivered":
                continue
            if self.energy is not None:
                self.energy.deliver(shard.path())
            if self.memory is not None:
                events.append(self.memory.keep(tick, shard.text_index, shard.bot))
        return events

    def _memory(self) -> MemoryLayer:
        if self.memory is None:
            raise InputError("world: a memory needs a world with shards and a memory block")
        return self.memory

    def remember(self, entry: int, origin: int) -> Event:
        """Route shard ``entry`` from ``origin`` and store it (:meth:`MemoryLayer.remember`)."""
        return self._memory().remember(self.tick, entry, origin)

    def consolidate(self) -> Event:
        """Let the memory settle one round (:meth:`MemoryLayer.consolidate`)."""
        return self._memory().consolidate(self.tick)

    def recall(self, query: Vectors, origin: int, k: int, probe: int, max_hops: int) -> Recall:
        """Query the bots' memory from ``origin`` (:meth:`MemoryLayer.recall`)."""
        return self._memory().recall(query, origin, k, probe, max_hops)

    def _step_substrate(self, tick: int) -> None:
        """Noise, one generation, pulsed tiles."""
        if self.noise is not None:
            noisy = self.grid.cells
            self.grid.cells = self.noise.apply(noisy, self.noise.mask(self._noise_rng,
                                                                      noisy.shape))
        active = self.pulses is not None and bool(self.pulses.active(tick))
        before = self.grid.cells if active else None
        self.grid.step(1)
        if self.pulses is not None and before is not None:
            cells = self.grid.cells
            if self.pulses.apply(tick, before, cells) > 0:
                self.grid.cells = cells

    def _digest(self, tick: int) -> dict[str, Any]:
        digest: dict[str, Any] = {"grid": self.grid.digest(), "population": self.grid.population}
        if self.shards is not None:
            digest["carriers"] = len(self.shards.tracker.carriers)
        if self.pulses is not None:
            digest["pulsing"] = len(self.pulses.pulsing(tick))
        return digest

    def run(self, ticks: int) -> list[Event]:
        """Advance ``ticks`` ticks; return all their events."""
        events: list[Event] = []
        for _ in range(ticks):
            events += self.step()
        return events

    def _shard_texts(self, config: ShardConfig, labels: NDArray[np.int64] | None
                     ) -> NDArray[np.int64] | None:
        """Return the texts shards are drawn from: those of held topics, or None for all.

        ``held`` keeps a shard's right bot well defined on a mesh that holds only some of
        the corpus's topics (a text of a topic no bot holds has only near-ties).
        """
        if config.texts == "all" or self.bot_topics is None:
            return None
        if labels is None:
            raise InputError("shards.texts: 'held' needs each text's topic (labels)")
        return np.flatnonzero(np.isin(labels, self.bot_topics)).astype(np.int64)

    def snapshot(self) -> Snapshot:
        """Copy out what a picture or a frame of this tick needs."""
        carriers: list[tuple[float, float]] = []
        shards: list[ShardState] = []
        if self.shards is not None:
            carriers = [c.centroid for c in self.shards.tracker.carriers.values() if c.shards]
            shards = [replace(s, legs=[replace(leg) for leg in s.legs])
                      for s in self.shards.shards]
        pulsing = self.pulses.pulsing(self.tick) if self.pulses is not None else []
        return Snapshot(self.tick, self.cells.copy(), self.tiling.tile, self.mesh.rows,
                        self.mesh.cols, carriers, shards, pulsing)
