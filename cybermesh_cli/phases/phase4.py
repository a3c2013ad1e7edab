"""Phase 4, LoRA pulses: persistence under noise, pulse latency, adapter switching, the wave.

* Persistence: ``trials`` gliders under noise, each run twice on the same noise masks, once on
  the base rule (Numba kernel) and once pulsed with the adapter (`pulses/persistence.py`); the
  gain is mean(pulsed) / mean(base) - 1 with a paired bootstrap confidence interval.
* Switching: on random soups, the CA with no adapter, after the adapter, after the other
  adapter and back, must equal the Numba kernel exactly, and the adapter must give the same
  cells each time it is switched back in.
* Latency: load from the registry, switch and apply to one tile, in a fresh engine each time.
* Wave: the adapter's weights file in chunks from the centre bot across the mesh; each bot
  pulses its tile for ``pulse_ticks`` once it holds every chunk; the world runs under noise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cybermesh_cli.errors import InputError
from cybermesh_cli.events import Event
from cybermesh_cli.paths import resource
from cybermesh_cli.phases.base import PhaseResult, RunContext, peak_memory_mb
from cybermesh_cli.pulses.adapters import PulseEngine
from cybermesh_cli.pulses.persistence import (
    Batch,
    glider_worlds,
    kernel_stepper,
    measure_lifetimes,
    relative_gain,
)
from cybermesh_cli.pulses.registry import RUN_COPY, Registry
from cybermesh_cli.pulses.wave import front_speed
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.spec import Spec
from cybermesh_cli.substrate.noise import Noise
from cybermesh_cli.substrate.rules import parse_rule
from cybermesh_cli.topology import Mesh
from cybermesh_cli.world import World, WorldConfig
from cybermesh_cli.progress import waiting

SECTION = "phase_4_lora_pulse"


def _engine(block: Mapping[str, Any], registry: Registry, device: str = "cpu") -> PulseEngine:
    return PulseEngine.for_adapter(registry, block["adapter"], parse_rule(block["rule"]), device,
                                   block["hidden"])


def persistence_events(block: Mapping[str, Any], engine: PulseEngine, seeds: Seeds,
                       on_tick: Callable[[], None] | None = None) -> Iterator[Event]:
    """One event per trial: the glider's lifetime on the base rule and pulsed."""
    config = block["persistence"]
    rule = engine.base.rule
    initial = glider_worlds(config["trials"], config["size"], rule,
                            seeds.child("gliders").rng())
    adapter: str = block["adapter"]

    def pulsed(cells: Batch) -> Batch:
        return engine.apply(cells, adapter)

    lifetimes = measure_lifetimes(
        initial, {"base": kernel_stepper(rule), "pulsed": pulsed},
        kernel_stepper(rule), Noise(config["noise"]["mode"], config["noise"]["rate"]),
        config["ticks"], config["grace"], seeds.child("noise").rng(), on_tick)
    for trial in range(config["trials"]):
        yield Event(0, "persistence.trial", {
            "trial": trial, "base": int(lifetimes.by_arm["base"][trial]),
            "pulsed": int(lifetimes.by_arm["pulsed"][trial])})


def switching_event(block: Mapping[str, Any], engine: PulseEngine, seeds: Seeds) -> Event:
    """Switch base -> adapter -> other adapter -> adapter -> base, checking every soup."""
    config = block["switching"]
    rng = seeds.rng()
    size = config["size"]
    soups = (rng.random((config["soups"], size, size)) < config["density"]).astype(np.uint8)
    kernel = kernel_stepper(engine.base.rule)(soups)
    first = engine.apply(soups, block["adapter"])
    engine.apply(soups, block["other_adapter"])
    again = engine.apply(soups, block["adapter"])
    restored = engine.apply(soups, None)

    def same(a: Batch, b: Batch) -> int:
        return int((a == b).all(axis=(1, 2)).sum())

    return Event(0, "switch.check", {
        "soups": config["soups"], "base_equals_kernel": same(restored, kernel),
        "adapter_repeatable": same(first, again),
        "adapter_changes_cells": int((first != kernel).any(axis=(1, 2)).sum())})


def _wave_config(block: Mapping[str, Any]) -> WorldConfig:
    """Return the wave world's config: the spec's wave mesh under the persistence noise."""
    return WorldConfig.from_block({"rule": block["rule"], "mesh": block["wave"]["mesh"]},
                                  wave={**block["wave"], "adapter": block["adapter"]},
                                  noise=block["persistence"]["noise"])


def wave_source(world: World) -> int:
    """Return the bot the world's wave starts from (the world resolves the spec's ``source``)."""
    if world.pulses is None or world.pulses.wave is None:
        raise InputError("phase4.wave: the world has no wave")
    return world.pulses.source


def wave_world(block: Mapping[str, Any], engine: PulseEngine, seeds: Seeds) -> World:
    """Build a world with a glider in every tile, under noise, with the adapter's wave."""
    world_config = _wave_config(block)
    tiling = world_config.tiling
    cells = np.zeros(tiling.shape, np.uint8)
    worlds = glider_worlds(tiling.mesh.size, tiling.tile, engine.base.rule,
                           seeds.child("gliders").rng())
    for bot in range(tiling.mesh.size):
        cells[tiling.slices(bot)] = worlds[bot]
    return World(world_config, seeds, cells=cells, engine=engine)


def _latency(block: Mapping[str, Any], registry: Registry, device: str) -> dict[str, float]:
    """Load + switch + apply on one tile, each repeat in a fresh engine (PEFT already imported)."""
    config = block["latency"]
    tile = np.zeros((1, config["tile"], config["tile"]), np.uint8)
    totals, loads, applies = [], [], []
    for _ in range(config["repeats"] + 1):
        engine = _engine(block, registry, device)
        started = time.perf_counter()
        engine.apply(tile, block["adapter"])
        totals.append((time.perf_counter() - started) * 1000)
        loads.append(engine.timings_ms["load"][0])
        applies.append(engine.timings_ms["switch"][0] + engine.timings_ms["apply"][0])
    totals, loads, applies = totals[1:], loads[1:], applies[1:]  # the first one warms up
    return {"total_p50_ms": float(np.percentile(totals, 50)),
            "total_p95_ms": float(np.percentile(totals, 95)),
            "load_p50_ms": float(np.percentile(loads, 50)),
            "switch_apply_p50_ms": float(np.percentile(applies, 50))}


def _all_events(block: Mapping[str, Any], engine: PulseEngine, seeds: Seeds, world: World,
                on_tick: Callable[[], None] | None = None) -> Iterator[Event]:
    """Switching, persistence, then the wave world tick by tick (pulses and digests)."""
    yield switching_event(block, engine, seeds.child("switching"))
    yield from persistence_events(block, engine, seeds.child("persistence"), on_tick)
    for _ in range(block["wave"]["ticks"]):
        yield from world.step()


class Phase4:
    """Driver for experiments/phase4.yaml."""

    phase = 4
    replayed_types = ("switch.check", "persistence.trial", "pulse.start", "pulse.end",
                      "wave.front", "state.digest")
    logged_types = {"pulse.latency": ("total_p50_ms", "total_p95_ms", "load_p50_ms",
                                      "switch_apply_p50_ms")}  # logged, not re-simulated

    def run(self, ctx: RunContext) -> PhaseResult:
        """Copy the adapters into the run, then measure switching, persistence, latency, wave."""
        from cybermesh_cli.device import pick_device

        block = ctx.spec.block("phase4")
        registry = _copy_adapters(block, ctx.dir)
        device = pick_device()
        trials: list[dict[str, int]] = []
        switch: dict[str, int] = {}
        completed_at: dict[int, int] = {}
        populations: list[int] = []
        steps = block["persistence"]["ticks"] + block["wave"]["ticks"]
        engine = _engine(block, registry, device)
        world = wave_world(block, engine, ctx.seeds.child("wave"))
        with ctx.progress("persistence under noise, then the wave", steps) as advance:
            for event in _all_events(block, engine, ctx.seeds, world, lambda: advance(1)):
                ctx.events.write([event])
                if event.type == "persistence.trial":
                    trials.append(event.payload)
                elif event.type == "switch.check":
                    switch = event.payload
                elif event.type == "wave.front":
                    completed_at.update(dict.fromkeys(event.payload["newly_complete"],
                                                      event.tick))
                elif event.type == "state.digest":
                    populations.append(event.payload["population"])
                    ctx.events.flush()
                    advance(1)
        with waiting(ctx.console, "timing load + switch + apply ..."):
            latency = _latency(block, registry, device)
        ctx.events.emit("pulse.latency", ctx.events.last_tick, latency)
        config = block["persistence"]
        base = np.array([t["base"] for t in trials])
        pulsed = np.array([t["pulsed"] for t in trials])
        gain, low, high = relative_gain(base, pulsed, config["confidence"],
                                        ctx.seeds.child("bootstrap").rng())
        mesh, source = world.mesh, wave_source(world)
        speed = front_speed(mesh, source, completed_at)
        soups = switch["soups"]
        return PhaseResult(
            measured={
                f"{SECTION}.persistence.min_gain_lower_ci": low,
                f"{SECTION}.latency.max_pulse_p95_ms": latency["total_p95_ms"],
                f"{SECTION}.switching.min_agreement":
                    min(switch["base_equals_kernel"], switch["adapter_repeatable"]) / soups,
                f"{SECTION}.wave.min_coverage": len(completed_at) / mesh.size,
                f"{SECTION}.memory.max_memory_mb": peak_memory_mb(),
            },
            figures={
                "persistence": {
                    "trials": len(trials), "gain": round(gain, 4),
                    "ci": [round(low, 4), round(high, 4)], "confidence": config["confidence"],
                    "base_mean_ticks": round(float(base.mean()), 3),
                    "pulsed_mean_ticks": round(float(pulsed.mean()), 3),
                    "base_censored": int((base >= config["ticks"]).sum()),
                    "pulsed_censored": int((pulsed >= config["ticks"]).sum())},
                "switching": switch, "latency_ms": {k: round(v, 3) for k, v in latency.items()},
                "wave": {"source": source, "speed_hops_per_tick": round(speed, 4),
                         "ticks_to_cover": max(completed_at.values(), default=None),
                         "completed_at": {str(b): t for b, t in sorted(completed_at.items())}},
                "adapter": registry.info(block["adapter"]).metrics,
            },
            plots=_plots(ctx.dir, base, pulsed, mesh, completed_at, populations),
        )

    def resimulate(
        self, spec: Spec, events: Sequence[Mapping[str, Any]], run_dir: Path
    ) -> Iterator[Event]:
        """Re-run everything from the seed and the adapters the run copied."""
        block, seeds = spec.block("phase4"), Seeds.of(spec.seed)
        engine = _engine(block, Registry(run_dir / RUN_COPY))
        return _all_events(block, engine, seeds, wave_world(block, engine, seeds.child("wave")))

    def state_bytes(self, spec: Spec) -> int | None:
        """One byte a cell of the wave's world."""
        return _wave_config(spec.block("phase4")).cells


def _copy_adapters(block: Mapping[str, Any], run_dir: Path) -> Registry:
    """Copy the two adapters the spec names into the run folder; the run uses the copies."""
    if block["adapter"] == block["other_adapter"]:
        raise InputError("phase4.other_adapter: must differ from phase4.adapter")
    return Registry(resource(block["registry"])).copy_to(
        [block["adapter"], block["other_adapter"]], run_dir / RUN_COPY)


def _plots(folder: Path, base: np.ndarray, pulsed: np.ndarray, mesh: Mesh,
           completed_at: dict[int, int], populations: list[int]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 3.6))
    top = int(max(base.max(), pulsed.max()))
    bins = np.arange(0, top + 2, max(1, top // 40))
    left.hist([base, pulsed], bins=bins, label=["base rule", "pulsed"], histtype="step")
    left.set(xlabel="glider lifetime (ticks)", ylabel="trials", title="persistence under noise",
             yscale="log")
    left.legend()
    grid = np.full((mesh.rows, mesh.cols), np.nan)
    for bot, tick in completed_at.items():
        grid[mesh.position(bot)] = tick
    image = middle.imshow(grid, cmap="viridis")
    for (row, col), tick in np.ndenumerate(grid):
        middle.text(col, row, f"{tick:.0f}", ha="center", va="center", color="white")
    middle.set(title="wave: tick each bot completes", xticks=[], yticks=[])
    figure.colorbar(image, ax=middle)
    right.plot(populations)
    right.set(xlabel="tick", ylabel="live cells", title="wave world population")
    figure.tight_layout()
    figure.savefig(folder / "pulses.png", dpi=100)
    plt.close(figure)
    return ["pulses.png"]


DRIVER = Phase4()
