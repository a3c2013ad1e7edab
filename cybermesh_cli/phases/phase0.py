"""Phase 0, setup and infrastructure: living docs, gate tools, pinned environment, event log.

The policy's Phase 0 list asks for working gates, initialised living docs, a working CI pipeline
and a reproducible environment. This driver measures each of those on the installed project, and
soaks the event log with seeded events whose digests replay must reproduce exactly.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess  # noqa: S404 - runs the project's own gate tools with --version
import sys
import sysconfig
import time
from collections.abc import Iterator, Mapping, Sequence
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

from cybermesh_cli.events import Event
from cybermesh_cli.paths import PROJECT_ROOT
from cybermesh_cli.phases.base import PhaseResult, RunContext
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.spec import Spec

SECTION = "phase_0_setup"


def doc_coverage(root: Path, required: Mapping[str, Sequence[str]]) -> tuple[float, list[str]]:
    """Fraction of required (document, heading) pairs present, and the missing ones."""
    missing: list[str] = []
    total = 0
    for name, markers in required.items():
        path = root / name
        text = path.read_text(encoding="utf-8") if path.is_file() else None
        for marker in [*markers] or [""]:
            total += 1
            if text is None or marker not in text:
                missing.append(f"{name}: {marker or '(file)'}")
    return (total - len(missing)) / total, missing


def tool_path(name: str) -> str | None:
    """Find a console tool beside this interpreter first (the venv), then on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def tools_available(names: Sequence[str]) -> tuple[float, dict[str, str]]:
    """Fraction of gate tools that run, with each tool's version line or the reason it failed."""
    found: dict[str, str] = {}
    ok = 0
    for name in names:
        path = tool_path(name)
        if path is None:
            found[name] = "not installed"
            continue
        done = subprocess.run(  # noqa: S603
            [path, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
        lines = (done.stdout or done.stderr).strip().splitlines()
        found[name] = lines[0] if done.returncode == 0 and lines else f"exit {done.returncode}"
        ok += done.returncode == 0
    return ok / len(names), found


def read_constraints(path: Path) -> dict[str, str]:
    """``name==version`` pins of a constraints file, names normalised as PEP 503 says."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, pinned = line.split("==", 1)
            pins[normalise(name)] = pinned.strip()
    return pins


def normalise(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return "-".join(name.lower().replace("_", "-").replace(".", "-").split("-"))


INSTALLER_TOOLS = ("pip", "setuptools", "wheel")


def pinned_fraction(constraints: Path, own: str = "cybermesh-cli") -> tuple[float, list[str]]:
    """Fraction of installed distributions pinned at their installed version (local tag ignored).

    Like ``pip freeze``, the installer's own tools are left out; so is this project. Only the
    environment's site-packages count: a Ray worker adds Ray's vendored packages to its path.
    """
    pins = read_constraints(constraints)
    unpinned = []
    site = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    installed = {normalise(d.metadata["Name"]): d.version for d in distributions(path=site)}
    for name in (own, *INSTALLER_TOOLS):
        installed.pop(name, None)
    for name, have in sorted(installed.items()):
        if pins.get(name) != have.split("+", 1)[0]:
            unpinned.append(f"{name}=={have} (pinned: {pins.get(name)})")
    return (len(installed) - len(unpinned)) / max(len(installed), 1), unpinned


def soak(seeds: Seeds, ticks: int, per_tick: int) -> Iterator[Event]:
    """Yield the seeded event stream of the log soak: samples, then a chained digest, every tick."""
    rng = seeds.rng()
    chain = hashlib.blake2b(digest_size=16)
    for tick in range(ticks):
        values = rng.integers(0, 2**31, size=per_tick)
        for index, value in enumerate(values.tolist()):
            yield Event(tick, "soak.sample", {"index": index, "value": value})
        chain.update(values.tobytes())
        yield Event(tick, "state.digest", {"digest": chain.hexdigest()})


class Phase0:
    """Driver for experiments/phase0.yaml."""

    phase = 0
    replayed_types = ("soak.sample", "state.digest")
    logged_types = {"setup.checked": ("missing_docs", "tools", "unpinned")}  # keys

    def run(self, ctx: RunContext) -> PhaseResult:
        """Check docs, tools and pins, then soak the event log and replay it in-process."""
        block = ctx.spec.block("phase0")
        coverage, missing_docs = doc_coverage(PROJECT_ROOT, block["living_docs"])
        available, tools = tools_available(block["gate_tools"])
        pinned, unpinned = pinned_fraction(PROJECT_ROOT / block["constraints"])
        ctx.events.emit("setup.checked", -1, {"missing_docs": missing_docs, "tools": tools,
                                              "unpinned": unpinned})
        ticks = int(ctx.spec.block("duration").get("ticks", 100))
        stream = soak(ctx.seeds.child("soak"), ticks, int(block["events_per_tick"]))
        expected = next(stream)
        start = time.perf_counter()
        for tick in ctx.ticks(ticks, "event-log soak"):
            while expected.tick == tick:
                ctx.events.emit(expected.type, tick, expected.payload)
                expected = next(stream, Event(ticks, "", {}))
        elapsed = time.perf_counter() - start
        written = ticks * (int(block["events_per_tick"]) + 1)
        agreement = self._self_replay(ctx)
        return PhaseResult(
            measured={
                f"{SECTION}.living_docs.min_coverage": coverage,
                f"{SECTION}.gate_tools.min_available": available,
                f"{SECTION}.environment.min_pinned_fraction": pinned,
                f"{SECTION}.event_log.min_events_per_s": written / elapsed,
                f"{SECTION}.replay.min_digest_agreement": agreement,
            },
            figures={"missing_docs": missing_docs, "tools": tools, "unpinned": unpinned,
                     "events_written": written, "soak_seconds": round(elapsed, 4)},
        )

    def _self_replay(self, ctx: RunContext) -> float:
        """Re-read this run's own log so far and compare its digests with a fresh re-simulation."""
        from cybermesh_cli.runs.events import read_events

        ctx.events.flush()
        logged = [e for e in read_events(ctx.events.path).events if e["type"] == "state.digest"]
        fresh = [e for e in self.resimulate(ctx.spec, [], ctx.dir) if e.type == "state.digest"]
        same = sum(a["payload"] == b.payload for a, b in zip(logged, fresh, strict=False))
        return same / max(len(fresh), 1) if len(logged) == len(fresh) else 0.0

    def resimulate(
        self, spec: Spec, events: Sequence[dict[str, Any]], run_dir: Path
    ) -> Iterator[Event]:
        """Regenerate the soak from the spec's seed."""
        ticks = int(spec.block("duration").get("ticks", 100))
        return soak(Seeds.of(spec.seed).child("soak"), ticks,
                    int(spec.block("phase0")["events_per_tick"]))


    def state_bytes(self, spec: Spec) -> int | None:
        """Phase 0 simulates no grid."""
        return None


DRIVER = Phase0()
