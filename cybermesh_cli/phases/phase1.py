"""Phase 1, the CA grid: glider propagation, pattern detection, energy decay, memory.

* Glider propagation: one torus world per heading, each with gliders on parallel diagonals, on
  the mesh's grid (rows x cols bots of tile x tile cells). Every tick: step, detect, track.
  Every 4 ticks (one glider period) each glider's detected centroid is checked against the
  analytic c/4 track from its start; tile crossings are logged as bot-to-bot moves.
* Pattern detection: scenes of planted library objects, every phase and orientation of every
  object several times, half of the scenes with random soup in some slots.
* Energy: deposits from an evolving soup, then free decay, fitted against the half-life.

Latency budgets are judged on the working thread's CPU time, the code's own cost whatever else
shares the cores (a test suite on two workers doubles wall-clock times); wall-clock figures are
reported beside them.

Detection separates clusters the library does not know as apgsearch does (a traffic light is
four blinkers), the same separation as the soup census.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cybermesh_cli.events import Event
from cybermesh_cli.phases.base import PhaseResult, RunContext, peak_memory_mb
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.spec import Spec
from cybermesh_cli.stats import machine_load, percentile_ms
from cybermesh_cli.substrate.detect import Detection, detect, warm_up
from cybermesh_cli.substrate.energy import EnergyField
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.library import ObjectForm, default_library
from cybermesh_cli.substrate.rules import parse_rule

SECTION = "phase_1_ca_grid"
HEADINGS = ((1, 1), (1, -1), (-1, -1), (-1, 1))  # (dy, dx) per 4 generations: SE SW NW NE
GLIDER_PERIOD = 4
DETECTION_PERIOD_BUDGET = 50_000  # cell updates a period search may spend in a timed scene
SLOT = 24  # detection scenes are a lattice of SLOT x SLOT cells, one object or soup each


@dataclass(frozen=True)
class Settings:
    """The phase1 block of a spec, typed."""

    rule: str
    rows: int
    cols: int
    tile: int
    gliders_per_heading: int
    ticks: int
    copies: int
    scene_slots: int
    soup_density: float
    soup_slot_fraction: float
    half_life: float
    deposit_ticks: int
    decay_ticks: int
    diffusion: float

    @classmethod
    def from_spec(cls, spec: Spec) -> Settings:
        """Read the spec's phase1 block (and duration.ticks)."""
        b = spec.block("phase1")
        mesh, gp, pd, en = b["mesh"], b["glider_propagation"], b["pattern_detection"], b["energy"]
        return cls(
            rule=b["rule"], rows=mesh["rows"], cols=mesh["cols"], tile=mesh["tile"],
            gliders_per_heading=gp["gliders_per_heading"],
            ticks=int(spec.block("duration").get("ticks", gp["ticks"])),
            copies=pd["copies"], scene_slots=pd["scene_slots"], soup_density=pd["soup_density"],
            soup_slot_fraction=pd["soup_slot_fraction"], half_life=en["half_life"],
            deposit_ticks=en["deposit_ticks"], decay_ticks=en["decay_ticks"],
            diffusion=en["diffusion"],
        )


def _torus_delta(a: float, b: float, size: int) -> float:
    return (a - b + size / 2) % size - size / 2


def _glider_form(heading: tuple[int, int]) -> ObjectForm:
    """Phase 0 of the library's glider in the orientation that moves along ``heading``."""
    return next(f for f in default_library().objects["glider"]
                if f.phase == 0 and (np.sign(f.velocity[0]), np.sign(f.velocity[1])) == heading)


def glider_worlds(settings: Settings, seeds: Seeds) -> list[Grid]:
    """One torus world per heading, gliders on parallel diagonals at seeded positions."""
    height, width = settings.rows * settings.tile, settings.cols * settings.tile
    rng = seeds.rng()
    worlds = []
    for heading in HEADINGS:
        cells = np.zeros((height, width), np.uint8)
        shape = _glider_form(heading).cells
        spacing = width // settings.gliders_per_heading
        offset = int(rng.integers(0, spacing))
        for index in range(settings.gliders_per_heading):
            y, x = int(rng.integers(0, height)), offset + index * spacing
            ys, xs = np.nonzero(shape)
            # same heading, same speed: gliders of one world never meet
            cells[(ys + y) % height, (xs + x) % width] = 1
        worlds.append(Grid(cells, parse_rule(settings.rule), torus=True))
    return worlds


def _bot(centroid: tuple[float, float], tile: int) -> list[int]:
    return [int(centroid[0] // tile), int(centroid[1] // tile)]


def glider_events(
    settings: Settings, seeds: Seeds, timings: list[tuple[float, float]] | None = None,
    ticks: Iterator[int] | None = None,
) -> Iterator[Event]:
    """Run the propagation worlds, yielding the events replay must reproduce.

    ``timings`` gets each tick's (CPU, wall-clock) seconds a world: step plus detection.
    """
    worlds = glider_worlds(settings, seeds)
    height, width = worlds[0].height, worlds[0].width
    starts = [[d.centroid for d in detect(w.cells) if d.name == "glider"] for w in worlds]
    last = [list(s) for s in starts]
    for tick in ticks if ticks is not None else iter(range(settings.ticks)):
        began, began_wall = time.thread_time(), time.perf_counter()
        found_all: list[list[Detection]] = []
        for world in worlds:
            world.step(1)
            found_all.append(detect(world.cells, separate_unknown=True))
        if timings is not None:
            timings.append(((time.thread_time() - began) / len(worlds),
                            (time.perf_counter() - began_wall) / len(worlds)))
        yield Event(tick, "state.digest", {"digests": [w.digest() for w in worlds]})
        gen = tick + 1
        for w, found in enumerate(found_all):
            gliders = [d for d in found if d.name == "glider"]
            for g, previous in enumerate(last[w]):
                if not gliders:
                    continue
                distances = [abs(_torus_delta(d.centroid[0], previous[0], height))
                             + abs(_torus_delta(d.centroid[1], previous[1], width))
                             for d in gliders]
                near = gliders[int(np.argmin(distances))]
                before, after = _bot(previous, settings.tile), _bot(near.centroid, settings.tile)
                if before != after:
                    yield Event(tick, "glider.crossed",
                                   {"world": w, "glider": g, "from": before, "to": after})
                last[w][g] = near.centroid
                if gen % GLIDER_PERIOD == 0:
                    dy, dx = HEADINGS[w]
                    steps = gen // GLIDER_PERIOD
                    expected = ((starts[w][g][0] + dy * steps) % height,
                                (starts[w][g][1] + dx * steps) % width)
                    error = float(np.hypot(_torus_delta(near.centroid[0], expected[0], height),
                                           _torus_delta(near.centroid[1], expected[1], width)))
                    yield Event(tick, "glider.checkpoint", {
                        "world": w, "glider": g, "expected": [round(v, 4) for v in expected],
                        "detected": [round(v, 4) for v in near.centroid],
                        "heading": near.heading, "error": round(error, 4)})


def planted_scenes(
    settings: Settings, seeds: Seeds
) -> Iterator[tuple[np.ndarray[Any, Any], list[tuple[ObjectForm, tuple[float, float]]],
                    list[tuple[int, int]]]]:
    """Scenes of planted objects: (cells, [(form, centroid)], soup slots)."""
    rng = seeds.rng()
    library = default_library()
    forms = [f for name in sorted(library.objects) for f in library.objects[name]]
    queue = [forms[i] for i in rng.permutation(len(forms) * settings.copies) % len(forms)]
    side = int(np.ceil(np.sqrt(settings.scene_slots)))
    scene = 0
    while queue:
        with_soup = scene % 2 == 1
        scene += 1
        cells = np.zeros((side * SLOT, side * SLOT), np.uint8)
        planted: list[tuple[ObjectForm, tuple[float, float]]] = []
        soup: list[tuple[int, int]] = []
        for slot in range(side * side):
            sy, sx = divmod(slot, side)
            if with_soup and rng.random() < settings.soup_slot_fraction:
                patch = rng.random((SLOT - 8, SLOT - 8)) < settings.soup_density
                cells[sy * SLOT + 4:(sy + 1) * SLOT - 4, sx * SLOT + 4:(sx + 1) * SLOT - 4] = patch
                soup.append((sy, sx))
                continue
            if not queue:
                continue
            form = queue.pop()
            h, w = form.cells.shape
            y = sy * SLOT + 2 + int(rng.integers(0, SLOT - 4 - h + 1))
            x = sx * SLOT + 2 + int(rng.integers(0, SLOT - 4 - w + 1))
            cells[y:y + h, x:x + w] |= form.cells
            ys, xs = np.nonzero(form.cells)
            planted.append((form, (float(ys.mean() + y), float(xs.mean() + x))))
        yield cells, planted, soup


def detection_metrics(settings: Settings, seeds: Seeds) -> dict[str, float]:
    """Accuracy, false-positive rate and latency of detection over the planted scenes.

    A scene's latency is the detecting thread's CPU time (``cpu`` keys), the detector's own cost
    whatever else shares the cores; the wall-clock time is reported beside it.
    """
    planted_total = correct = claimed = false = 0
    latencies: list[float] = []
    walls: list[float] = []
    soup_claims = 0
    for cells, planted, soup in planted_scenes(settings, seeds):
        began, began_wall = time.thread_time(), time.perf_counter()
        found = detect(cells, torus=True, separate_unknown=True,
                       period_budget=DETECTION_PERIOD_BUDGET)
        latencies.append(time.thread_time() - began)
        walls.append(time.perf_counter() - began_wall)
        truth = {(round(c[0], 6), round(c[1], 6)): form for form, c in planted}
        planted_total += len(planted)
        for d in found:
            in_soup = (int(d.centroid[0] // SLOT), int(d.centroid[1] // SLOT)) in soup
            if d.apgcode == "unknown":
                continue
            if in_soup:
                soup_claims += 1
                continue
            claimed += 1
            form = truth.get((round(d.centroid[0], 6), round(d.centroid[1], 6)))
            if form is not None and (form.name, form.velocity) == (d.name, d.velocity):
                correct += 1
            else:
                false += 1
    return {"planted": planted_total, "correct": correct, "claimed": claimed, "false": false,
            "soup_claims": soup_claims, "accuracy": correct / max(planted_total, 1),
            "false_positive_rate": false / max(claimed, 1),
            "max_cpu_ms": 1000 * max(latencies), "median_cpu_ms":
            1000 * float(np.median(latencies)), "p99_cpu_ms": percentile_ms(latencies, 99),
            "p99_wall_ms": percentile_ms(walls, 99), "max_wall_ms": 1000 * max(walls),
            "scenes": len(latencies)}


def energy_metrics(settings: Settings, seeds: Seeds) -> dict[str, float]:
    """Deposit from an evolving soup, then let the field decay; fit the half-life."""
    rng = seeds.rng()
    shape = (settings.rows * settings.tile, settings.cols * settings.tile)
    grid = Grid((rng.random(shape) < 0.35).astype(np.uint8), parse_rule(settings.rule))
    field = EnergyField(shape, settings.half_life, diffusion=settings.diffusion)
    for _ in range(settings.deposit_ticks):
        grid.step(1)
        field.update(grid.cells)
    empty = np.zeros(shape, np.uint8)
    totals = []
    for _ in range(settings.decay_ticks):
        field.update(empty)
        totals.append(field.total)
    slope = np.polyfit(np.arange(len(totals)), np.log(totals), 1)[0]
    measured = float(-np.log(2) / slope)
    return {"half_life_set": settings.half_life, "half_life_measured": measured,
            "relative_error": abs(measured - settings.half_life) / settings.half_life}


class Phase1:
    """Driver for experiments/phase1.yaml."""

    phase = 1
    replayed_types = ("state.digest", "glider.crossed", "glider.checkpoint",
                      "detection.summary", "energy.summary")
    logged_types: dict[str, tuple[str, ...]] = {}
    timing_keys = {"detection.summary": (  # replay checks only their form; runs logged
        ("max_cpu_ms", "median_cpu_ms", "p99_cpu_ms", "p99_wall_ms", "max_wall_ms"),
        ("max_latency_ms", "median_latency_ms", "p99_latency_ms"))}  # before CPU timings

    def run(self, ctx: RunContext) -> PhaseResult:
        """Glider propagation (logged tick by tick), then detection and energy."""
        settings = Settings.from_spec(ctx.spec)
        warm_up()  # detection's JIT compiles must not land in a timed tick or scene
        timings: list[tuple[float, float]] = []
        checkpoints = crossings = accurate = 0
        for event in glider_events(settings, ctx.seeds.child("gliders"), timings,
                                   ctx.ticks(settings.ticks, "glider propagation")):
            ctx.events.write([event])
            if event.type == "glider.checkpoint":
                checkpoints += 1
                accurate += event.payload["error"] <= 0.5
            crossings += event.type == "glider.crossed"
        detection = detection_metrics(settings, ctx.seeds.child("scenes"))
        ctx.events.emit("detection.summary", ctx.tick, detection)
        energy = energy_metrics(settings, ctx.seeds.child("energy"))
        ctx.events.emit("energy.summary", ctx.tick, energy)
        steady, steady_wall = zip(*(timings[1:] or timings), strict=True)
        return PhaseResult(
            measured={
                f"{SECTION}.glider_propagation.max_latency_ms": percentile_ms(steady, 99),
                f"{SECTION}.glider_propagation.accuracy_threshold":
                    accurate / max(checkpoints, 1),
                f"{SECTION}.pattern_detection.max_latency_ms": detection["p99_cpu_ms"],
                f"{SECTION}.pattern_detection.accuracy_threshold": detection["accuracy"],
                f"{SECTION}.pattern_detection.false_positive_rate":
                    detection["false_positive_rate"],
                f"{SECTION}.energy_decay.max_relative_error": energy["relative_error"],
                f"{SECTION}.memory.max_memory_mb": peak_memory_mb(),
            },
            figures={
                "glider_checkpoints": checkpoints, "glider_tile_crossings": crossings,
                "tick_latency_ms_median": round(1000 * float(np.median(steady)), 4),
                "tick_latency_ms_max": round(1000 * max(steady), 4),
                "tick_wall_ms_p99": round(percentile_ms(steady_wall, 99), 4),
                "tick_samples": len(steady), "load": machine_load(),
                "detection": {k: round(v, 5) if isinstance(v, float) else v
                              for k, v in detection.items()},
                "energy": {k: round(v, 5) for k, v in energy.items()},
            },
        )

    def resimulate(
        self, spec: Spec, events: Sequence[Mapping[str, Any]], run_dir: Path
    ) -> Iterator[Event]:
        """Re-run glider propagation from the spec's seed, then recompute both summaries."""
        settings = Settings.from_spec(spec)
        seeds = Seeds.of(spec.seed)
        yield from glider_events(settings, seeds.child("gliders"))
        last = settings.ticks - 1
        yield Event(last, "detection.summary", detection_metrics(settings, seeds.child("scenes")))
        yield Event(last, "energy.summary", energy_metrics(settings, seeds.child("energy")))


    def state_bytes(self, spec: Spec) -> int | None:
        """Four glider worlds of rows*tile x cols*tile cells."""
        s = Settings.from_spec(spec)
        return len(HEADINGS) * s.rows * s.tile * s.cols * s.tile


DRIVER = Phase1()
