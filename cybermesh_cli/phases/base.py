"""What a phase driver is: run a spec into measured values, and re-simulate a logged run."""

from __future__ import annotations

import logging
import resource
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cybermesh_cli.events import Event
from cybermesh_cli.runs.events import EventLog
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.spec import Spec


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    On Linux this is ``VmHWM`` from /proc/self/status: ``ru_maxrss`` survives exec, so a run
    started by a large parent (pytest, a sweep driver) would report the parent's resident
    memory at fork as its own. Elsewhere ``ru_maxrss`` (macOS reports bytes, others KiB).
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0


@dataclass
class PhaseResult:
    """A phase's output: criteria values keyed like the thresholds file, plus extra figures."""

    measured: dict[str, float]
    figures: dict[str, Any] = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)


@dataclass
class RunContext:
    """Everything a driver needs while it runs: spec, folder, event log, console, seeds."""

    spec: Spec
    dir: Path
    events: EventLog
    console: Console
    log: logging.Logger
    tick: int = -1
    manifest_notes: dict[str, Any] = field(default_factory=dict)  # merged into manifest.json
    seeds: Seeds = field(init=False)  # the run's seed tree: one named child a consumer

    def __post_init__(self) -> None:
        """Root the run's seed tree at the spec's seed."""
        self.seeds = Seeds.of(self.spec.seed)

    @contextmanager
    def progress(self, label: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """Show a progress bar (``total`` None: a count only); yield ``advance(steps)``."""
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as bar:
            task = bar.add_task(label, total=total)

            def advance(steps: int = 1) -> None:
                bar.update(task, advance=steps)

            yield advance

    def ticks(self, total: int, label: str = "ticks") -> Iterator[int]:
        """Yield tick numbers with a progress bar; events are flushed after every tick."""
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(label, total=total, rate="")
            for tick in range(total):
                self.tick = tick
                yield tick
                self.events.flush()
                speed = progress.tasks[0].speed
                progress.update(task, advance=1, rate=f"{speed:,.0f} ticks/s" if speed else "")


class PhaseDriver(Protocol):
    """One policy phase: runs a spec and, if it logs state, re-simulates it for replay."""

    phase: int
    replayed_types: Sequence[str]
    logged_types: Mapping[str, Sequence[str]]  # the other types it logs, with their keys

    def run(self, ctx: RunContext) -> PhaseResult:
        """Run the experiment, emitting events, and return what it measured."""
        ...

    def resimulate(
        self, spec: Spec, events: Sequence[dict[str, Any]], run_dir: Path
    ) -> Iterator[Event]:
        """Yield, in order, the events of ``replayed_types`` that the run must have logged."""
        ...

    def state_bytes(self, spec: Spec) -> int | None:
        """Bytes one full dump of the simulated state takes (one byte a cell), or None."""
        ...
