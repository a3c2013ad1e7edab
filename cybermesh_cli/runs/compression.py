"""How much smaller the event log is than full per-tick state dumps of the same run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cybermesh_cli.errors import InputError
from cybermesh_cli.runs.events import read_events
from cybermesh_cli.runs.record import EVENTS_FILE, SPEC_FILE
from cybermesh_cli.spec import Spec, load_spec

StateBytes = Callable[[Spec], "int | None"]  # bytes of one full state dump of a spec's world


@dataclass(frozen=True)
class Compression:
    """Sizes in bytes and their ratio (dumps / log)."""

    log_bytes: int
    dump_bytes: int
    ticks: int

    @property
    def ratio(self) -> float:
        """Full dumps divided by the event log."""
        return self.dump_bytes / self.log_bytes


def compression(run_dir: Path, state_bytes: StateBytes) -> Compression:
    """Compare ``events.jsonl`` with one byte-per-cell state dump per logged tick."""
    spec = load_spec(run_dir / SPEC_FILE)
    per_tick = state_bytes(spec)
    if per_tick is None:
        raise InputError(f"{run_dir}: phase {spec.phase} simulates no grid state to compare")
    events = read_events(run_dir / EVENTS_FILE).events
    ticks = len({e["tick"] for e in events if e["tick"] >= 0})
    return Compression((run_dir / EVENTS_FILE).stat().st_size, per_tick * ticks, ticks)


def newest_run_with_state(runs_dir: Path, state_bytes: StateBytes) -> Path:
    """The most recent run folder whose phase has grid state."""
    for manifest in sorted(runs_dir.rglob("manifest.json"), key=lambda p: p.stat().st_mtime,
                           reverse=True):
        spec = load_spec(manifest.parent / SPEC_FILE)
        if state_bytes(spec) is not None:
            return manifest.parent
    raise InputError(f"{runs_dir}: no run with grid state (run experiments/phase1.yaml first)")
