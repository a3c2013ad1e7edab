"""Phase 3, the CA and the shards together: shards ride spaceships across the mesh.

The world (`cybermesh_cli/world`) is the mesh's torus (5x5 bots of 16x16 cells by default)
with soups in some tiles, shards injected in waves and carried by gliders and lightweight
spaceships. This module is the protocol: build the world from the spec, run it, and measure
from outside (:class:`Tally`, an observer): tracking against each carrier's ghost, hops
recomputed from trajectories, deliveries, memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

from cybermesh_cli.events import Event
from cybermesh_cli.phases.base import PhaseResult, RunContext, peak_memory_mb
from cybermesh_cli.phases.embedding import VECTORS_FILE, EmbeddedCorpus, embed_corpus
from cybermesh_cli.spec import Spec
from cybermesh_cli.world import World, WorldConfig, world_from_run, world_seeds
from cybermesh_cli.world.tally import Tally, hop_agreement

SECTION = "phase_3_integration"


class Phase3:
    """Driver for experiments/phase3.yaml."""

    phase = 3
    replayed_types = ("state.digest", "shard.injected", "shard.hop", "shard.delivered",
                      "shard.caught", "shard.handed", "shard.dropped", "carrier.launched",
                      "scale.size")
    logged_types = {"scale.timing": ("side", "seconds", "cpu_seconds", "rss_mb",
                                     "rss_before_mb")}  # logged, not re-simulated

    def run(self, ctx: RunContext) -> PhaseResult:
        """Embed the corpus, then run the world for duration.ticks (or duration.minutes)."""
        block = ctx.spec.block("phase3")
        config = WorldConfig.from_block(block)
        corpus = embed_corpus(ctx, block)
        if block.get("scale"):
            return self._scale(ctx, block, corpus)
        world = World(config, world_seeds(ctx.seeds), keys=corpus.keys, vectors=corpus.shards,
                      labels=corpus.labels)
        tally = Tally(corpus.labels, world.bot_topics, world.mesh)
        world.add_observer(tally)
        duration = ctx.spec.block("duration")
        minutes = float(duration.get("minutes", 0))
        total = int(duration.get("ticks", 1000))
        deadline = time.monotonic() + 60 * minutes if minutes else None
        ticks = ctx.ticks(total if deadline is None else 10**9,
                          "shards on gliders" if deadline is None else f"{minutes:g} minutes")
        began = time.perf_counter()
        world.add_observer(ctx.events.observe)
        for _ in _until(ticks, deadline):
            world.step()
        seconds = time.perf_counter() - began
        tally.finish(world)
        figures = {"bots": config.bots, "torus": list(world.tiling.shape),
                   "horizon": world.shards.tables.horizon if world.shards else None,
                   "diameter": int(world.mesh.hops.max()),
                   "shards_per_wave": config.shards_per_wave(),
                   "soup_tiles": config.soup_tiles(),
                   "delivery": tally.delivery(world.tick, config.shards.every
                                              if config.shards else 0)}
        return self._result(ctx, tally, ctx.tick + 1, seconds, figures)

    def _scale(self, ctx: RunContext, block: Mapping[str, Any],
               corpus: EmbeddedCorpus) -> PhaseResult:
        """Run the scaling experiment: every size in turn (`phases/scaling.py`)."""
        from cybermesh_cli.phases import scaling

        ticks = int(ctx.spec.block("duration").get("ticks", 1000))
        sides = block["scale"]["sides"]
        sizes: list[dict[str, Any]] = []
        timings: list[dict[str, Any]] = []
        steps = iter(ctx.ticks(ticks * len(sides), f"{len(sides)} mesh sizes"))
        for event in scaling.size_events(block, corpus.keys, corpus.shards, corpus.labels,
                                         world_seeds(ctx.seeds), ticks,
                                         lambda *_: next(steps, None)):
            ctx.events.write([event])
            (sizes if event.type == "scale.size" else timings).append(event.payload)
            ctx.events.flush()
        for _ in steps:  # close the progress bar
            pass
        return scaling.result(ctx, sizes, timings, ticks)

    def _result(self, ctx: RunContext, tally: Tally, ticks: int, seconds: float,
                world_figures: dict[str, Any]) -> PhaseResult:
        from cybermesh_cli.phases.phase3_plots import write_plots
        from cybermesh_cli.runs.events import read_events

        recomputed = tally.hops_recomputed
        ctx.events.flush()
        agreement = hop_agreement(read_events(ctx.events.path).events,
                                  {i: r.hops for i, r in tally.shards.items()})
        delivery = world_figures["delivery"]
        memory = np.array(tally.memory) if tally.memory else np.zeros((1, 2))
        slope = float(np.polyfit(memory[:, 0], memory[:, 1], 1)[0]) if len(memory) > 2 else 0.0
        plots = write_plots(ctx.dir, tally)
        return PhaseResult(
            measured={
                f"{SECTION}.ca_shard_tracking.max_distance":
                    tally.distance_max,
                f"{SECTION}.ca_shard_tracking.tracking_accuracy":
                    tally.tracking_ok / max(tally.tracking_total, 1),
                f"{SECTION}.event_log.min_hop_agreement": agreement,
                f"{SECTION}.delivery.min_delivered_lower_ci": delivery["delivered"]["ci95"][0],
                f"{SECTION}.delivery.min_right_bot_lower_ci": delivery["right_bot"]["ci95"][0],
                f"{SECTION}.memory.max_memory_mb": peak_memory_mb(),
            },
            figures={
                **world_figures,
                "ticks": ticks, "seconds": round(seconds, 2),
                "ticks_per_s": round(ticks / max(seconds, 1e-9), 1),
                "us_per_bot_tick": round(1e6 * seconds / max(ticks * world_figures["bots"], 1),
                                         3),
                "shards": sum(tally.outcomes.values()), "outcomes": dict(tally.outcomes),
                "delivered_to_oracle": tally.delivered_to_oracle,
                "delivered_to_topic": tally.delivered_to_topic,
                "hop_events": tally.hop_events, "hops_recomputed": recomputed,
                "carriers_launched": tally.launches, "carriers_lost": tally.losses,
                "distance_mean": round(tally.distance_sum / max(tally.distance_count, 1), 4),
                "distance_max_while_intact": round(tally.distance_max_intact, 4),
                "coasting_samples": tally.coasting,
                "distance_samples": tally.distance_count,
                "tracked_samples": tally.tracking_total,
                "memory_slope_mb_per_1000_ticks": round(1000 * slope, 3),
            },
            plots=plots,
        )

    def resimulate(
        self, spec: Spec, events: Sequence[Mapping[str, Any]], run_dir: Path
    ) -> Iterator[Event]:
        """Re-run the world from the seed and the stored vectors, to the logged last tick."""
        block = spec.block("phase3")
        if block.get("scale"):
            from cybermesh_cli.phases.scaling import size_events

            stored = load_file(str(run_dir / VECTORS_FILE))
            ticks = int(spec.block("duration").get("ticks", 1000))
            for event in size_events(block, stored["keys"], stored["shards"], stored["labels"],
                                     world_seeds(spec.seed), ticks):
                if event.type == "scale.size":
                    yield event
            return
        world = world_from_run(run_dir)
        last = max((e["tick"] for e in events if e["type"] == "state.digest"), default=-1)
        for _ in range(last + 1):
            yield from world.step()

    def state_bytes(self, spec: Spec) -> int | None:
        """One byte a cell of the mesh's torus."""
        return WorldConfig.from_block(spec.block("phase3")).cells


def _until(ticks: Iterator[int], deadline: float | None) -> Iterator[int]:
    for tick in ticks:
        if deadline is not None and time.monotonic() >= deadline:
            return
        yield tick


DRIVER = Phase3()
