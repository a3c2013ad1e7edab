"""Run one experiment spec end to end: record, drive the phase, judge the criteria."""

from __future__ import annotations

import logging
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from cybermesh_cli.criteria import Criterion, evaluate, load_thresholds
from cybermesh_cli.device import pick_device
from cybermesh_cli.errors import InputError
from cybermesh_cli.interrupts import INTERRUPTED, acknowledge
from cybermesh_cli.phases import load_driver, preflight
from cybermesh_cli.phases.base import PhaseResult, RunContext, peak_memory_mb
from cybermesh_cli.runs.events import EventLog
from cybermesh_cli.runs.manifest import environment, git_state, package_versions, utc_now
from cybermesh_cli.runs.record import (
    EVENTS_FILE,
    LOG_FILE,
    METRICS_FILE,
    REPORT_FILE,
    RunRecord,
    write_atomic,
    write_json,
)
from cybermesh_cli.runs.report import render_report
from cybermesh_cli.seeds import SEEDING_SCHEME
from cybermesh_cli.spec import Spec


@dataclass
class RunOutcome:
    """How a run ended: its folder, status (passed, failed, interrupted, error) and criteria."""

    record: RunRecord
    status: str
    criteria: list[Criterion] = field(default_factory=list)
    error: str | None = None


def _file_logger(path: Path) -> logging.Logger:
    logger = logging.getLogger(f"cybermesh.run.{path.parent.name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return logger


def run_experiment(spec: Spec, runs_dir: Path, console: Console | None = None,
                   run_id: str | None = None) -> RunOutcome:
    """Run ``spec`` into a new folder under ``runs_dir``; never raises for a failed criterion.

    ``run_id`` names the folder (sweeps use fixed names, so they can resume); it must not exist.
    """
    console = console or Console(stderr=True)
    driver = load_driver(spec.phase)
    preflight(spec)
    thresholds = load_thresholds()
    record = RunRecord.create(
        runs_dir,
        spec,
        {
            "spec": str(spec.path),
            "name": spec.name,
            "phase": spec.phase,
            "seed": spec.seed,
            "seeding": {"scheme": SEEDING_SCHEME},
            "overrides": list(spec.overrides),
            "status": "running",
            "started": utc_now(),
            "git": git_state(),
            "packages": package_versions(),
            "env": environment(),
            "device": pick_device(),
            "load": {"cpus": os.cpu_count(), "start": _load()},
        },
        run_id,
    )
    log = _file_logger(record.path(LOG_FILE))
    log.info("run %s: spec %s, phase %d, seed %d", record.id, spec.path, spec.phase, spec.seed)
    start = time.perf_counter()
    outcome = RunOutcome(record=record, status="error")
    result = PhaseResult(measured={})
    with EventLog(record.path(EVENTS_FILE)) as events:
        ctx = RunContext(spec=spec, dir=record.dir, events=events, console=console, log=log)
        events.emit("run.start", -1, {"name": spec.name, "phase": spec.phase, "seed": spec.seed,
                                      "overrides": list(spec.overrides)})
        events.flush()
        try:
            result = driver.run(ctx)
            if INTERRUPTED.is_set():  # a signal the phase swallowed: its figures are partial
                raise KeyboardInterrupt
            outcome.criteria = evaluate(result.measured, thresholds)
            outcome.status = "passed" if all(c.passed for c in outcome.criteria) else "failed"
        except KeyboardInterrupt:
            acknowledge()
            outcome.status = "interrupted"
            log.warning("interrupted at tick %d", ctx.tick)
        except InputError as exc:
            if not INTERRUPTED.is_set():
                outcome.error = str(exc)
                raise
            acknowledge()
            outcome.status = "interrupted"  # an embedder or loader wrapped the interrupt
            log.warning("interrupted (surfaced as %s)", type(exc).__name__)
        except Exception as exc:  # a bug: keep the run folder consistent, log the traceback
            if INTERRUPTED.is_set():  # a signal that surfaced as another error (Numba's)
                acknowledge()
                outcome.status = "interrupted"
                log.warning("interrupted at tick %d (surfaced as %s)", ctx.tick,
                            type(exc).__name__)
            else:
                outcome.error = cannot_write(exc) if isinstance(exc, OSError) else \
                    f"{type(exc).__name__}: {exc}"
                log.error("run failed:\n%s", traceback.format_exc())
        finally:
            try:
                if outcome.status == "interrupted":
                    events.resync()
                events.emit("run.end", events.last_tick, {"status": outcome.status,
                                                           "error": outcome.error,
                                                           "events": events.count + 1})
                events.flush()
            except OSError as exc:  # a full disk: the log stays cut, the manifest says why
                outcome.status, outcome.error = "error", cannot_write(exc)
            record.manifest.update(ctx.manifest_notes)
            record.manifest["seeding"]["streams"] = ctx.seeds.drawn()
            _finish(record, outcome, result, time.perf_counter() - start)
            logging.getLogger(log.name).handlers.clear()
    return outcome


def cannot_write(exc: OSError) -> str:
    """One line for a failed write: the file and the reason (a full disk, a size limit)."""
    return f"{exc.filename or 'a run file'}: cannot write ({exc.strerror or exc})"


def _load() -> list[float] | None:
    """Return the 1, 5 and 15-minute load averages (None where the system has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _finish(record: RunRecord, outcome: RunOutcome, result: PhaseResult, seconds: float) -> None:
    passed = sum(c.passed for c in outcome.criteria)
    record.manifest.update(
        status=outcome.status,
        ended=utc_now(),
        duration_s=round(seconds, 3),
        criteria_passed=passed,
        criteria_total=len(outcome.criteria),
        peak_memory_mb=round(peak_memory_mb(), 1),
    )
    if outcome.error:
        record.manifest["error"] = outcome.error
    record.manifest.setdefault("load", {})["end"] = _load()
    record.save_manifest()
    write_json(
        record.path(METRICS_FILE),
        {
            "status": outcome.status,
            "criteria": [c.to_json() for c in outcome.criteria],
            "figures": result.figures,
        },
    )
    write_atomic(record.path(REPORT_FILE),
                 render_report(record.manifest, outcome.criteria, result.figures, result.plots))
