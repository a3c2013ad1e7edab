"""The pulse layer: an adapter spreads bot to bot in chunks; each bot that holds it all pulses.

Pulses can also be started by hand (:meth:`PulseLayer.start`). Importing this module imports
torch, so the world loads it only when its config has a wave or it is given an engine.
"""

from __future__ import annotations

from collections.abc import Iterator

from cybermesh_cli.events import Event
from cybermesh_cli.pulses.adapters import PulseEngine
from cybermesh_cli.pulses.registry import WEIGHTS
from cybermesh_cli.pulses.tiles import Pulse, pulse_tiles
from cybermesh_cli.pulses.wave import WaveTick, spread
from cybermesh_cli.substrate.shapes import Cells
from cybermesh_cli.topology import Tiling
from cybermesh_cli.world.config import WaveConfig


class PulseLayer:
    """Pulses in progress, and the wave that starts them."""

    def __init__(self, tiling: Tiling, engine: PulseEngine, wave: WaveConfig | None) -> None:
        """Pulse with ``engine``; with ``wave``, spread its adapter from the source bot."""
        self.tiling = tiling
        self.engine = engine
        self.wave = wave
        self.pulses: list[Pulse] = []
        self.front: WaveTick | None = None
        self._fronts: Iterator[WaveTick] | None = None
        if wave is not None:
            mesh = tiling.mesh
            self.source = mesh.size // 2 if wave.source < 0 else wave.source % mesh.size
            weights = (engine.registry.info(wave.adapter).path / WEIGHTS).read_bytes()
            self._fronts = spread(mesh, self.source, weights, wave.chunks, wave.link_capacity,
                                  wave.max_ticks)

    def start(self, bot: int, adapter: str, tick: int, ticks: int) -> Event:
        """Pulse ``bot``'s tile with ``adapter`` for the steps of ticks ``tick`` .. +``ticks``."""
        self.pulses.append(Pulse(bot, adapter, tick, tick + ticks))
        return Event(tick, "pulse.start", {"bot": bot, "adapter": adapter, "until": tick + ticks})

    def begin(self, tick: int) -> list[Event]:
        """Before the substrate steps: move the wave, start and end pulses."""
        events = self._advance_wave(tick)
        for pulse in self.pulses:
            if pulse.end == tick:
                events.append(Event(tick, "pulse.end", {"bot": pulse.bot}))
        self.pulses = [p for p in self.pulses if p.end > tick]
        return events

    def _advance_wave(self, tick: int) -> list[Event]:
        if self._fronts is None or self.wave is None or tick < self.wave.start_tick:
            return []
        front = next(self._fronts, None)
        if front is None:
            self._fronts = None
            return []
        self.front = front
        events = [self.start(bot, self.wave.adapter, tick, self.wave.pulse_ticks)
                  for bot in front.newly_complete]
        events.append(Event(tick, "wave.front", {
            "complete": len(front.complete), "newly_complete": list(front.newly_complete),
            "chunks_held": list(front.chunks_held)}))
        return events

    def active(self, tick: int) -> dict[str, list[int]]:
        """Adapter -> bots it pulses in the step that produces ``tick``."""
        bots: dict[str, list[int]] = {}
        for pulse in self.pulses:
            if pulse.active(tick) and pulse.bot not in bots.get(pulse.adapter, []):
                bots.setdefault(pulse.adapter, []).append(pulse.bot)
        return bots

    def apply(self, tick: int, before: Cells, after: Cells) -> int:
        """Overwrite pulsed tiles of ``after``; return how many tiles were pulsed."""
        pulsed = 0
        for adapter, bots in sorted(self.active(tick).items()):
            pulse_tiles(before, after, self.engine, self.tiling, adapter, sorted(bots))
            pulsed += len(bots)
        return pulsed

    def pulsing(self, tick: int) -> list[int]:
        """Bots whose tiles are pulsed at ``tick``."""
        return sorted({b for bots in self.active(tick).values() for b in bots})

