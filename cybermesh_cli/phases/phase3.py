"""Phase 3, the CA and the shards together: shards ride spaceships across the mesh.

The world is the mesh's torus (5x5 bots of 16x16 cells) with soups in some tiles. Shards are
injected at random bots in waves; each bot routes with its gossip table (phase 2's protocol,
8-neighbourhood) and launches a carrier toward the next hop: a glider for a diagonal hop, a
lightweight spaceship for an orthogonal one. Every tick: step, detect, track; a carrier that
enters another bot's tile makes its shards hop (an event); a shard stays aboard while the
carrier still heads closer to its goal, is caught by the bot otherwise, and is delivered where
its bot's key is the best it knows. A lost carrier (died, collided) hands its shards to the bot
that held them last, which launches again. Tracking is scored against each carrier's ghost.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from safetensors.numpy import load_file

from cybermesh_cli.phases.base import Expected, PhaseResult, RunContext, peak_memory_mb
from cybermesh_cli.phases.embedding import VECTORS_FILE, embed_corpus
from cybermesh_cli.shards.carriers import Carrier, Tracker, carrier_form, torus_distance
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.shards.mesh import Mesh
from cybermesh_cli.shards.routing import RoutingTables, best_known
from cybermesh_cli.spec import Spec
from cybermesh_cli.substrate.detect import detect
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import parse_rule

SECTION = "phase_3_integration"
TRACK_LIMIT = 2.5


@dataclass
class ShardState:
    """One shard's journey."""

    id: int
    text_index: int
    origin: int
    goal_hint: int  # oracle target: for scoring only, never for routing
    bot: int
    injected: int
    carrier: int | None = None
    status: str = "held"  # held, aboard, delivered, dropped
    losses: int = 0
    trajectory: list[tuple[int, int]] = field(default_factory=list)  # (tick, bot) while aboard


@dataclass
class Tally:
    """Everything phase 3 measures while it runs."""

    distance_count: int = 0  # shard-ticks on intact carriers, where the truth is known
    distance_sum: float = 0.0
    distance_max: float = 0.0
    recent_distances: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    tracking_ok: int = 0
    tracking_total: int = 0
    hop_events: int = 0
    mean_distance_by_tick: list[float] = field(default_factory=list)
    memory: list[tuple[int, float]] = field(default_factory=list)
    launches: int = 0
    losses: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    hops_per_shard: Counter[int] = field(default_factory=Counter)
    hops_recomputed: int = 0
    delivered_to_oracle: int = 0

    def retire(self, shard: ShardState) -> None:
        """Fold a finished (or, at the end, unfinished) shard into the totals."""
        hops = trajectory_hops(shard)
        self.outcomes[shard.status] += 1
        self.hops_per_shard[hops] += 1
        self.hops_recomputed += hops
        self.delivered_to_oracle += shard.status == "delivered" and shard.bot == shard.goal_hint


class World:
    """The shared grid, bots, carriers and shards, advanced one tick at a time."""

    def __init__(self, block: Mapping[str, Any], keys: Vectors, vectors: Vectors,
                 seed: np.random.SeedSequence) -> None:
        """Build the torus with soups and the routing tables, from a seed."""
        mesh_block, routing = block["mesh"], block["routing"]
        self.block = block
        self.tile = mesh_block["tile"]
        self.mesh = Mesh(mesh_block["rows"], mesh_block["cols"], 8, True)
        self.shape = (self.mesh.rows * self.tile, self.mesh.cols * self.tile)
        self.rng = np.random.default_rng(seed)
        placement = self.rng.permutation(len(keys))[:self.mesh.size]
        self.keys = keys[placement]
        self.vectors = vectors
        self.tables = RoutingTables(self.mesh, self.keys, routing["horizon"])
        cells = np.zeros(self.shape, np.uint8)
        soup = block["soup"]
        for bot in self.rng.choice(self.mesh.size, soup["tiles"], replace=False).tolist():
            r, c = self.mesh.position(bot)
            size = soup["size"]
            top = r * self.tile + (self.tile - size) // 2
            left = c * self.tile + (self.tile - size) // 2
            patch = self.rng.random((size, size)) < soup["density"]
            cells[top:top + size, left:left + size] = patch
        self.grid = Grid(cells, parse_rule(block["rule"]), torus=True)
        self.tracker = Tracker(self.shape)
        self.shards: list[ShardState] = []  # in flight; finished ones are folded into a Tally
        self.injected = 0
        self._goals: dict[tuple[int, int], int] = {}  # (text, bot) -> best key that bot knows
        # called after each step with the cells before it (the dashboard's pulses use it)
        self.after_step: Callable[[np.ndarray[Any, Any], Grid], None] | None = None

    def bot_of(self, point: tuple[float, float]) -> int:
        """Return the bot whose tile holds a (y, x) position."""
        return self.mesh.bot_at(int(point[0] // self.tile), int(point[1] // self.tile))

    def direction(self, a: int, b: int) -> tuple[int, int]:
        """Return the unit step (dy, dx) from bot a to its neighbour b on the torus."""
        (ra, ca), (rb, cb) = self.mesh.position(a), self.mesh.position(b)
        dr = (rb - ra + self.mesh.rows // 2) % self.mesh.rows - self.mesh.rows // 2
        dc = (cb - ca + self.mesh.cols // 2) % self.mesh.cols - self.mesh.cols // 2
        return int(np.sign(dr)), int(np.sign(dc))

    def inject(self, tick: int, count: int) -> Iterator[Expected]:
        """Inject ``count`` new shards at random bots."""
        for index in self.rng.integers(0, len(self.vectors), count).tolist():
            origin = int(self.rng.integers(0, self.mesh.size))
            hint = int(np.argmax(self.keys @ self.vectors[index]))
            shard = ShardState(self.injected, index, origin, hint, origin, tick)
            self.injected += 1
            self.shards.append(shard)
            yield Expected(tick, "shard.injected", {"shard": shard.id, "text": index,
                                                    "bot": origin})

    def _goal(self, shard: ShardState) -> int:
        key = (shard.text_index, shard.bot)
        if key not in self._goals:
            self._goals[key] = best_known(self.tables, self.vectors[shard.text_index], shard.bot)
        return self._goals[key]

    def _arrive(self, shard: ShardState, tick: int, carrier: Carrier | None) -> Iterator[Expected]:
        """Decide at the shard's bot: deliver, stay aboard, or be caught and held."""
        goal = self._goal(shard)
        if goal == shard.bot:
            shard.status, shard.carrier = "delivered", None
            yield Expected(tick, "shard.delivered", {"shard": shard.id, "bot": shard.bot,
                                                     "oracle": shard.goal_hint})
            return
        if carrier is not None and carrier.alive:
            step = (int(np.sign(carrier.velocity[0])), int(np.sign(carrier.velocity[1])))
            r, c = self.mesh.position(shard.bot)
            ahead = self.mesh.bot_at(r + step[0], c + step[1])
            if self.mesh.hops[ahead, goal] < self.mesh.hops[shard.bot, goal]:
                return  # the carrier still heads closer: stay aboard
        if shard.carrier is not None:
            yield Expected(tick, "shard.caught", {"shard": shard.id, "bot": shard.bot})
        shard.status, shard.carrier = "held", None

    def _launch(self, tick: int, cells: np.ndarray[Any, Any]) -> Iterator[Expected]:
        """Each bot sends its held shards toward their next hops, one carrier per direction."""
        groups: dict[tuple[int, tuple[int, int]], list[ShardState]] = {}
        for shard in self.shards:
            if shard.status == "held":
                goal = self._goal(shard)
                next_bot = self.tables.tables[shard.bot][goal][1]
                groups.setdefault((shard.bot, self.direction(shard.bot, next_bot)), []).append(
                    shard)
        for (bot, step), riders in sorted(groups.items()):
            carrier = self._place_carrier(bot, step, tick, cells)
            if carrier is None:
                continue  # every launch spot is busy: try again next tick
            for shard in riders:
                shard.status, shard.carrier = "aboard", carrier.id
                carrier.shards.append(shard.id)
            yield Expected(tick, "carrier.launched", {
                "carrier": carrier.id, "apgcode": carrier.apgcode, "bot": bot,
                "heading": list(step), "at": [round(v, 3) for v in carrier.centroid],
                "shards": [s.id for s in riders]})

    def _place_carrier(self, bot: int, step: tuple[int, int], tick: int,
                       cells: np.ndarray[Any, Any]) -> Carrier | None:
        """Launch near the tile's exit edge; slide along it until a spot is free."""
        form = carrier_form(step)
        h, w = form.cells.shape
        r, c = self.mesh.position(bot)
        for shift in (0, -4, 4, -6, 6):
            top = r * self.tile + _edge(step[0], h, self.tile) + (shift if step[0] == 0 else 0)
            left = c * self.tile + _edge(step[1], w, self.tile) + (shift if step[1] == 0 else 0)
            if step[0] and step[1]:  # diagonal: slide along the row edge instead
                left += shift // 2
                top -= shift // 2 * step[0] * step[1]
            carrier = self.tracker.launch(cells, form, top, left, tick, self.grid)
            if carrier is not None:
                return carrier
        return None

    def tick(self, tick: int, tally: Tally) -> Iterator[Expected]:
        """One tick: step, detect, track, hop, hand over, launch, score, digest."""
        before = self.grid.cells if self.after_step is not None else None
        self.grid.step(1)
        if self.after_step is not None and before is not None:
            self.after_step(before, self.grid)
        cells = self.grid.cells
        lost = self.tracker.update(detect(cells))
        by_id = {s.id: s for s in self.shards}
        for carrier in self.tracker.carriers.values():
            carrier.shards = [i for i in carrier.shards if by_id[i].carrier == carrier.id]
            if carrier.shards:
                yield from self._ride(carrier, [by_id[i] for i in carrier.shards], cells, tick,
                                      tally)
        for carrier in lost:
            tally.losses += 1
            yield from self._hand_over(carrier, by_id, tick)
        changed = self._absorb_idle(cells, by_id)
        for shard in self.shards:
            if shard.status == "held" and shard.carrier is None:
                yield from self._arrive(shard, tick, None)
        launched = list(self._launch(tick, cells))
        tally.launches += len(launched)
        if launched or changed:
            self.grid.cells = cells
        yield from launched
        for shard in self.shards:
            if shard.status in ("delivered", "dropped"):
                tally.retire(shard)
        self.shards = [s for s in self.shards if s.status not in ("delivered", "dropped")]
        yield Expected(tick, "state.digest", {"grid": self.grid.digest(),
                                              "carriers": len(self.tracker.carriers)})

    def _ride(self, carrier: Carrier, riders: list[ShardState], cells: np.ndarray[Any, Any],
              tick: int, tally: Tally) -> Iterator[Expected]:
        """Score the tracking of one carrier's riders, and hop them if it changed tiles."""
        if not carrier.alive:  # lost this tick: correct if it really is gone
            tally.tracking_total += len(riders)
            tally.tracking_ok += len(riders) * (not carrier.intact(cells))
            return
        distance = torus_distance(carrier.centroid, carrier.true_centroid(), self.shape)
        intact = carrier.intact(cells)
        where = self.bot_of(carrier.centroid)
        if intact:  # the ghost is the truth only while the carrier is undisturbed
            tally.distance_count += len(riders)
            tally.distance_sum += distance * len(riders)
            tally.distance_max = max(tally.distance_max, distance)
            tally.recent_distances.append(distance)
        for shard in riders:
            tally.tracking_total += 1
            tally.tracking_ok += intact and distance <= TRACK_LIMIT
            shard.trajectory.append((tick, where))
            if where != shard.bot:
                yield Expected(tick, "shard.hop", {"shard": shard.id, "carrier": carrier.id,
                                                   "from": shard.bot, "to": where})
                tally.hop_events += 1
                shard.bot = where
                yield from self._arrive(shard, tick, carrier)

    def _hand_over(self, carrier: Carrier, by_id: dict[int, ShardState],
                   tick: int) -> Iterator[Expected]:
        """Give a lost carrier's riders to the bot that held them last (or drop them)."""
        for shard in (by_id[i] for i in carrier.shards):
            shard.losses += 1
            shard.carrier = None
            if shard.losses > self.block["routing"]["max_relaunches"]:
                shard.status = "dropped"
                yield Expected(tick, "shard.dropped", {"shard": shard.id, "bot": shard.bot,
                                                       "reason": "too many carriers lost"})
            else:
                shard.status = "held"
                yield Expected(tick, "shard.handed", {
                    "shard": shard.id, "carrier": carrier.id, "bot": shard.bot,
                    "reason": "carrier lost (died or collided)"})
        carrier.shards = []

    def _absorb_idle(self, cells: np.ndarray[Any, Any], by_id: dict[int, ShardState]) -> bool:
        """Bots eat carriers with no riders left, so spent spaceships do not litter the torus."""
        changed = False
        for carrier in self.tracker.carriers.values():
            if carrier.alive and not any(by_id[i].carrier == carrier.id for i in carrier.shards):
                self.tracker.absorb(cells, carrier)
                changed = True
        self.tracker.carriers = {i: c for i, c in self.tracker.carriers.items() if c.alive}
        return changed


def _edge(step: int, size: int, tile: int) -> int:
    """Offset in a tile for a carrier of ``size`` cells heading ``step`` (-1, 0, 1)."""
    if step > 0:
        return tile - size - 2
    if step < 0:
        return 2
    return (tile - size) // 2


def simulate(block: Mapping[str, Any], keys: Vectors, vectors: Vectors,
             seed: np.random.SeedSequence, ticks: Iterator[int],
             tally: Tally | None = None) -> Iterator[Expected]:
    """Run the whole phase-3 world, yielding the events replay must reproduce."""
    tally = tally if tally is not None else Tally()
    world = World(block, keys, vectors, seed)
    waves = block["shards"]
    for tick in ticks:
        if tick % waves["every"] == 0:
            yield from world.inject(tick, waves["per_wave"])
        yield from world.tick(tick, tally)
    for shard in world.shards:  # still in flight at the end
        tally.retire(shard)


@dataclass(frozen=True)
class Frame:
    """The world at one tick, for showing and exporting."""

    tick: int
    cells: np.ndarray[Any, Any]
    carriers: list[tuple[float, float]]  # centroids of live carriers with riders
    shards: list[ShardState]
    tile: int


def frames(spec: Spec, run_dir: Path, wanted: set[int]) -> Iterator[Frame]:
    """Re-simulate a logged run and yield the world at each wanted tick."""
    stored = load_file(str(run_dir / VECTORS_FILE))
    block = spec.block("phase3")
    world = World(block, stored["keys"], stored["shards"],
                  np.random.SeedSequence(spec.seed).spawn(1)[0])
    tally = Tally()
    for tick in range(max(wanted) + 1):
        if tick % block["shards"]["every"] == 0:
            for _ in world.inject(tick, block["shards"]["per_wave"]):
                pass
        for _ in world.tick(tick, tally):
            pass
        if tick in wanted:
            carried = [c.centroid for c in world.tracker.carriers.values() if c.shards]
            yield Frame(tick, world.grid.cells, carried,
                        [ShardState(**vars(s)) for s in world.shards], world.tile)


def trajectory_hops(shard: ShardState) -> int:
    """Hops recomputed from a shard's trajectory: changes of bot while it rode carriers."""
    hops, bot = 0, shard.origin
    for _, where in shard.trajectory:
        if where != bot:
            hops, bot = hops + 1, where
    return hops


class Phase3:
    """Driver for experiments/phase3.yaml."""

    phase = 3
    replayed_types = ("state.digest", "shard.injected", "shard.hop", "shard.delivered",
                      "shard.caught", "shard.handed", "shard.dropped", "carrier.launched")

    def run(self, ctx: RunContext) -> PhaseResult:
        """Embed the corpus, then run the world for duration.ticks (or duration.minutes)."""
        block = ctx.spec.block("phase3")
        corpus = embed_corpus(ctx, block)
        keys, vectors = corpus.keys, corpus.shards
        tally = Tally()
        duration = ctx.spec.block("duration")
        minutes = float(duration.get("minutes", 0))
        total = int(duration.get("ticks", 1000))
        deadline = time.monotonic() + 60 * minutes if minutes else None
        ticks = ctx.ticks(total if deadline is None else 10**9,
                          "shards on gliders" if deadline is None else f"{minutes:g} minutes")
        began = time.perf_counter()
        process = psutil.Process()
        for event in simulate(block, keys, vectors, ctx.seeds(1)[0],
                              _until(ticks, deadline), tally):
            ctx.events.emit(event.type, event.tick, event.payload)
            if event.type == "state.digest" and event.tick % 50 == 0:
                tally.memory.append((event.tick, process.memory_info().rss / 2**20))
                tally.mean_distance_by_tick.append(
                    float(np.mean(tally.recent_distances)) if tally.recent_distances else 0.0)
        seconds = time.perf_counter() - began
        return self._result(ctx, tally, ctx.tick + 1, seconds)

    def _result(self, ctx: RunContext, tally: Tally, ticks: int, seconds: float) -> PhaseResult:
        from cybermesh_cli.phases.phase3_plots import write_plots

        recomputed = tally.hops_recomputed
        memory = np.array(tally.memory) if tally.memory else np.zeros((1, 2))
        slope = float(np.polyfit(memory[:, 0], memory[:, 1], 1)[0]) if len(memory) > 2 else 0.0
        plots = write_plots(ctx.dir, tally)
        return PhaseResult(
            measured={
                f"{SECTION}.ca_shard_tracking.max_distance":
                    tally.distance_max,
                f"{SECTION}.ca_shard_tracking.tracking_accuracy":
                    tally.tracking_ok / max(tally.tracking_total, 1),
                f"{SECTION}.event_log.min_hop_agreement":
                    1.0 if recomputed == tally.hop_events else 0.0,
                f"{SECTION}.memory.max_memory_mb": peak_memory_mb(),
            },
            figures={
                "ticks": ticks, "seconds": round(seconds, 2),
                "ticks_per_s": round(ticks / max(seconds, 1e-9), 1),
                "shards": sum(tally.outcomes.values()), "outcomes": dict(tally.outcomes),
                "delivered_to_oracle": tally.delivered_to_oracle,
                "hop_events": tally.hop_events, "hops_recomputed": recomputed,
                "carriers_launched": tally.launches, "carriers_lost": tally.losses,
                "distance_mean": round(tally.distance_sum / max(tally.distance_count, 1), 4),
                "distance_samples": tally.distance_count,
                "tracked_samples": tally.tracking_total,
                "memory_slope_mb_per_1000_ticks": round(1000 * slope, 3),
            },
            plots=plots,
        )

    def resimulate(
        self, spec: Spec, events: Sequence[Mapping[str, Any]], run_dir: Path
    ) -> Iterator[Expected]:
        """Re-run the world from the seed and the stored vectors, to the logged last tick."""
        stored = load_file(str(run_dir / VECTORS_FILE))
        last = max((e["tick"] for e in events if e["type"] == "state.digest"), default=-1)
        return simulate(spec.block("phase3"), stored["keys"], stored["shards"],
                        np.random.SeedSequence(spec.seed).spawn(1)[0], iter(range(last + 1)))

    def state_bytes(self, spec: Spec) -> int | None:
        """One byte a cell of the mesh's torus."""
        mesh = spec.block("phase3")["mesh"]
        return int(mesh["rows"] * mesh["cols"] * mesh["tile"] ** 2)


def _until(ticks: Iterator[int], deadline: float | None) -> Iterator[int]:
    for tick in ticks:
        if deadline is not None and time.monotonic() >= deadline:
            return
        yield tick


DRIVER = Phase3()
