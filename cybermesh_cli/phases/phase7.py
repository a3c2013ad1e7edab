"""Phase 7, the dashboard: served live to a real browser and measured from both ends.

The phase-3 world (with the adapter wave) is served by `dashboard/server.py`; headless
Chromium opens the page, draws every frame and acknowledges it. Every ``probe_every_s``
seconds the page's canvas is read back: each bot's state band against its state's colour, and
each spaceship box against the overlay colour. After ``duration.minutes`` (or ``seconds``) the
clock stops, outstanding frames are acknowledged, and a screenshot goes into the run folder.
Frame timings follow the wall clock; the world's events do not: the run keeps the world's
spec, the embedded vectors and the adapter, and replay re-simulates every world event.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cybermesh_cli.events import Event
from cybermesh_cli.phases.base import PhaseResult, RunContext
from cybermesh_cli.spec import Spec

SECTION = "phase_7_dashboard"
SCREENSHOT = "dashboard.png"
WORLD_SPEC = "world.yaml"  # the phase-3 spec whose world was shown, as the run saw it
WORLD_EVENTS = ("shard.injected", "shard.hop", "shard.caught", "shard.handed", "shard.dropped",
                "shard.delivered", "carrier.launched", "wave.front", "pulse.start", "pulse.end",
                "memory.stored")


def agreement(probes: Sequence[Mapping[str, Any]]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Count (matching, total) bot colours and spaceship boxes over all probes."""
    from cybermesh_cli.dashboard.browser import SPACESHIP_COLOUR

    bots = [b["drawn"] == b["expected"] for p in probes for b in p["bots"]]
    boxes = [b["drawn"] == SPACESHIP_COLOUR for p in probes for b in p["boxes"]]
    return (sum(bots), len(bots)), (sum(boxes), len(boxes))


class Phase7:
    """Driver for experiments/phase7.yaml."""

    phase = 7
    replayed_types = WORLD_EVENTS
    logged_types = {  # logged, not re-simulated
        "dashboard.frame": ("client", "seq", "bytes", "sent_ms", "events"),
        "dashboard.ack": ("client", "seq", "rtt_ms", "events_match", "drawn_ms"),
        "dashboard.dropped": ("client", "seq", "replaced_by")}

    def run(self, ctx: RunContext) -> PhaseResult:
        """Serve the live world, watch it in Chromium, and measure frames end to end."""
        from cybermesh_cli.dashboard.browser import find_chromium, open_page, probe
        from cybermesh_cli.dashboard.server import Dashboard, Running
        from cybermesh_cli.dashboard.simulation import simulation_for
        from cybermesh_cli.paths import resource
        from cybermesh_cli.phases.embedding import embed_corpus
        from cybermesh_cli.pulses.registry import RUN_COPY, Registry
        from cybermesh_cli.spec import load_spec

        block = ctx.spec.block("phase7")
        duration = ctx.spec.block("duration")
        seconds = float(duration.get("minutes", 0)) * 60 or float(block["seconds"])
        find_chromium()
        world_spec = load_spec(resource(block["world"]))
        (ctx.dir / WORLD_SPEC).write_text(world_spec.to_yaml())
        registry = Registry(resource(block["registry"])).copy_to(
            [block["wave"]["adapter"]], ctx.dir / RUN_COPY)
        corpus = embed_corpus(ctx, world_spec.block("phase3"))
        simulation = simulation_for(world_spec, corpus.keys, corpus.shards, block["wave"],
                                    registry)
        dashboard = Dashboard(simulation, ctx.events, block["fps"], block["ticks_per_frame"])
        running = Running(dashboard)
        ctx.console.print(f"dashboard at {running.url} for {seconds:.0f} s", highlight=False)
        running.start()
        probes: list[dict[str, Any]] = []
        try:
            with open_page(running.url) as page:
                started = time.monotonic()
                steps = max(1, int(seconds / block["probe_every_s"]))
                for _ in ctx.ticks(steps, "watching the dashboard"):
                    wait = started + (len(probes) + 1) * block["probe_every_s"] - time.monotonic()
                    page.wait_for_timeout(max(wait, 0) * 1000)
                    found = probe(page)
                    if found is not None:
                        probes.append(found)
                dashboard.paused = True
                _settle(dashboard)
                page.screenshot(path=str(ctx.dir / SCREENSHOT))
        finally:
            running.stop()
        return self._result(ctx, dashboard.stats, probes)

    def _result(self, ctx: RunContext, stats: Any, probes: list[dict[str, Any]]) -> PhaseResult:
        (bots_ok, bots), (boxes_ok, boxes) = agreement(probes)
        span_s = ((stats.last_send or 0) - (stats.first_send or 0)) / 1000
        fps = (stats.sent - 1) / span_s if span_s > 0 else 0.0
        rtt = np.array(stats.rtt_ms or [float("inf")])
        matched = stats.acked - stats.mismatched
        return PhaseResult(
            measured={
                f"{SECTION}.frame_rate_min_fps": fps,
                f"{SECTION}.max_frame_rate_fps": fps,
                f"{SECTION}.websocket_latency_ms": float(np.percentile(rtt, 95)),
                f"{SECTION}.max_payload_kb": max(stats.payload_bytes or [0]) / 1024,
                f"{SECTION}.max_frame_drops": float(stats.dropped),
                f"{SECTION}.min_correlation": matched / stats.sent if stats.sent else 0.0,
                f"{SECTION}.min_bot_colour_agreement": bots_ok / bots if bots else 0.0,
                f"{SECTION}.min_overlay_agreement": boxes_ok / boxes if boxes else 0.0,
            },
            figures={
                "frames": {"produced": stats.frames, "sent": stats.sent, "acked": stats.acked,
                           "events_mismatched": stats.mismatched, "dropped": stats.dropped},
                "fps": round(fps, 4),
                "latency_ms": {q: round(float(np.percentile(rtt, p)), 3)
                               for q, p in (("p50", 50), ("p95", 95), ("max", 100))},
                "payload_bytes": {"max": max(stats.payload_bytes or [0]),
                                  "median": float(np.median(stats.payload_bytes or [0]))},
                "probes": len(probes), "bots_checked": bots, "spaceship_boxes_checked": boxes,
                "screenshot": SCREENSHOT,
            },
            plots=[SCREENSHOT],
        )

    def resimulate(
        self, spec: Spec, events: Sequence[Mapping[str, Any]], run_dir: Path
    ) -> Iterator[Event]:
        """Re-run the world from its saved spec, vectors and adapter up to the last logged tick."""
        from cybermesh_cli.dashboard.simulation import simulation_for
        from cybermesh_cli.pulses.registry import RUN_COPY, Registry
        from cybermesh_cli.spec import load_spec
        from cybermesh_cli.world import stored_vectors

        stored = stored_vectors(run_dir)
        simulation = simulation_for(load_spec(run_dir / WORLD_SPEC), stored["keys"],
                                    stored["shards"], spec.block("phase7")["wave"],
                                    Registry(run_dir / RUN_COPY))
        last = max((e["tick"] for e in events if e["type"] in WORLD_EVENTS), default=-1)
        for _ in range(last + 1):
            yield from simulation.advance(1)

    def state_bytes(self, spec: Spec) -> int | None:
        """Return None: the log keeps frames' metadata, not the world."""
        return None


def _settle(dashboard: Any, timeout_s: float = 5.0) -> None:
    """Wait until every produced frame was sent (or replaced) and every sent frame acked."""
    deadline = time.monotonic() + timeout_s
    stats = dashboard.stats
    while time.monotonic() < deadline:
        if stats.sent + stats.dropped >= stats.frames and stats.acked >= stats.sent:
            return
        time.sleep(0.05)


DRIVER = Phase7()
