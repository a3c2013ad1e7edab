"""Run a sweep's missing runs: on Ray (local by default, or a cluster), or one after another.

Each run is an ordinary run folder under ``runs/<sweep-id>/``. Runs already finished (passed,
failed or error) are skipped; anything else found there (interrupted, killed mid-write) is
removed and run again. A run that fails does not stop the sweep unless ``fail_fast``.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cybermesh_cli.sweeps.plan import FINISHED, Plan, PlannedRun, run_status

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
              "TOKENIZERS_PARALLELISM": "false"}


@dataclass(frozen=True)
class RunResult:
    """How one run ended."""

    name: str
    status: str
    seconds: float
    error: str | None = None


def run_one(spec: str, run: PlannedRun, folder: str) -> RunResult:
    """Run one planned run in this process (a Ray worker, or the sweep's own process)."""
    from rich.console import Console

    from cybermesh_cli.errors import InputError
    from cybermesh_cli.runner import run_experiment
    from cybermesh_cli.spec import load_spec

    started = time.perf_counter()
    try:
        loaded = load_spec(Path(spec), list(run.overrides), run.seed)
        quiet = Console(file=io.StringIO(), stderr=False)
        outcome = run_experiment(loaded, Path(folder), quiet, run_id=run.name)
        return RunResult(run.name, outcome.status, time.perf_counter() - started, outcome.error)
    except InputError as exc:
        return RunResult(run.name, "error", time.perf_counter() - started, str(exc))


def pending(plan: Plan, folder: Path) -> tuple[list[PlannedRun], int]:
    """Return the runs still to do (clearing unfinished folders) and how many were done."""
    todo = []
    for run in plan.runs:
        if run_status(folder / run.name) in FINISHED:
            continue
        shutil.rmtree(folder / run.name, ignore_errors=True)
        todo.append(run)
    return todo, len(plan.runs) - len(todo)


def run_serial(plan: Plan, runs: list[PlannedRun], folder: Path) -> Iterator[RunResult]:
    """One after another in this process: the baseline a parallel sweep is compared with."""
    for run in runs:
        yield run_one(plan.spec, run, str(folder))


def run_ray(plan: Plan, runs: list[PlannedRun], folder: Path, workers: int,
            address: str | None, gpus_per_run: float,
            cancel: Callable[[], bool]) -> Iterator[RunResult]:
    """Ray tasks, one CPU each (``gpus_per_run`` GPUs too); a local Ray unless ``address``."""
    import logging

    import ray

    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                 runtime_env={"env_vars": ONE_THREAD})
    else:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING, runtime_env={"env_vars": ONE_THREAD},
                 _node_ip_address="127.0.0.1")
    try:
        task = ray.remote(num_cpus=1, num_gpus=gpus_per_run)(run_one)
        waiting = {task.remote(plan.spec, run, str(folder)): run for run in runs}
        while waiting:
            done, _ = ray.wait(list(waiting), num_returns=1, timeout=1.0)
            for ref in done:
                run = waiting.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a crashed worker is one failed run
                    yield RunResult(run.name, "error", 0.0, f"{type(exc).__name__}: {exc}")
            if cancel():
                for ref in waiting:
                    ray.cancel(ref, force=True)
                return
    finally:
        ray.shutdown()


def default_workers() -> int:
    """All the CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def describe_failures(results: list[RunResult]) -> list[str]:
    """One line per run that did not pass."""
    return [f"{r.name}: {r.status}" + (f" ({r.error})" if r.error else "")
            for r in results if r.status != "passed"]


def summary(results: list[RunResult]) -> dict[str, Any]:
    """Count results by status."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts
