"""Run a sweep's missing runs: on Ray (local by default, or a cluster), or one after another.

Each run is an ordinary run folder under ``<out>/<sweep-id>/``. Runs already finished (passed,
failed or error) are skipped; anything else found there (interrupted, killed mid-write) is
removed and run again. A run that fails does not stop the sweep unless ``fail_fast``.

On Ray a task needs nothing from the worker's disk: the driver sends the spec's text and the
user's files the spec names (corpus, adapters, world spec); the task runs in a scratch folder
and returns its run folder as a gzipped tar, which the driver unpacks under ``<out>``.
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

RAY_LOG = "ray.log"  # Ray's own banners and warnings, kept off the user's screen
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


@dataclass(frozen=True)
class Shipment:
    """What a remote run needs: the spec's text and the user's files it names, by path."""

    spec_name: str
    spec_text: str
    files: dict[str, bytes]


SHIPPED_KEYS = ("corpus", "registry", "world")  # spec keys that name the user's files


def shipment(spec: Path) -> Shipment:
    """Pack a spec and the user's files it names (bundled ones are on every worker already)."""
    import yaml

    from cybermesh_cli.paths import DATA_DIR, resource

    text = spec.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    files: dict[str, bytes] = {}
    blocks = [v for k, v in data.items() if k.startswith("phase") and isinstance(v, dict)]
    for block in blocks:
        for key in SHIPPED_KEYS:
            if not isinstance(block.get(key), str):
                continue
            named = Path(block[key])
            found = resource(named)
            if named.is_absolute() or not found.exists() or found.is_relative_to(DATA_DIR):
                continue
            targets = [found] if found.is_file() else sorted(p for p in found.rglob("*")
                                                               if p.is_file())
            for target in targets:
                files[str(named / target.relative_to(found)) if found.is_dir() else
                      str(named)] = target.read_bytes()
    return Shipment(spec.name, text, files)


def run_shipped(shipped: Shipment, run: PlannedRun) -> tuple[RunResult, bytes]:
    """Run one planned run in a scratch folder; return the result and the run folder, tarred."""
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cybermesh-") as scratch:
        root = Path(scratch)
        for name, data in shipped.files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        (root / shipped.spec_name).write_text(shipped.spec_text, encoding="utf-8")
        previous = os.getcwd()
        os.chdir(root)  # a Ray worker runs one task at a time: the spec's paths resolve here
        try:
            result = run_one(shipped.spec_name, run, "runs")
        finally:
            os.chdir(previous)
        buffer = io.BytesIO()
        if (root / "runs" / run.name).is_dir():
            with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
                tar.add(root / "runs" / run.name, arcname=run.name)
        return result, buffer.getvalue()


def unpack(data: bytes, folder: Path, name: str) -> None:
    """Write a returned run folder under ``folder`` (whole, or not at all)."""
    import tarfile

    if not data:
        return
    staging = folder / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(staging, filter="data")
    shutil.rmtree(folder / name, ignore_errors=True)
    (staging / name).rename(folder / name)
    staging.rmdir()


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
    from cybermesh_cli.interrupts import catch_interrupts
    from cybermesh_cli.sweeps.cluster import connect, quiet

    shipped = shipment(Path(plan.spec))
    connect(address, workers, gpus_per_run, folder / RAY_LOG, ONE_THREAD)
    catch_interrupts()  # Ray's driver installs its own SIGTERM handler (a stack dump, exit 134)
    import ray  # after connect: Ray reads its authentication settings when first imported

    try:
        task = ray.remote(num_cpus=1, num_gpus=gpus_per_run)(run_shipped)
        waiting = {task.remote(shipped, run): run for run in runs}
        while waiting:
            done, _ = ray.wait(list(waiting), num_returns=1, timeout=1.0)
            for ref in done:
                run = waiting.pop(ref)
                try:
                    result, data = ray.get(ref)
                    unpack(data, folder, run.name)
                    yield result
                except Exception as exc:  # noqa: BLE001 - a crashed worker is one failed run
                    yield RunResult(run.name, "error", 0.0, f"{type(exc).__name__}: {exc}")
            if cancel():
                for ref in waiting:
                    ray.cancel(ref, force=True)
                return
    finally:
        with quiet(folder / RAY_LOG):
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
