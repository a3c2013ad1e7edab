"""Replay: check a run's log against the schema, summarise it, and re-simulate it.

Re-simulation asks the phase's driver for the events it must have logged (state digests, hops,
samples) and compares them one for one with the log, naming the first tick that diverges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from safetensors import SafetensorError

from cybermesh_cli.errors import InputError
from cybermesh_cli.events import Event
from cybermesh_cli.runs.events import read_events
from cybermesh_cli.runs.record import (
    EVENTS_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    SPEC_FILE,
    read_json,
)
from cybermesh_cli.seeds import SEEDING_SCHEME
from cybermesh_cli.spec import Spec, load_spec


RUN_TYPES = ("run.start", "run.end")  # every run logs these


@dataclass(frozen=True)
class Divergence:
    """The first logged event that differs from the re-simulation."""

    tick: int
    line: int | None
    type: str
    expected: dict[str, Any] | None
    logged: dict[str, Any] | None


@dataclass
class ReplayReport:
    """What replay found in one run folder."""

    run_dir: Path
    events: int
    by_type: Counter[str]
    last_tick: int
    end_status: str | None
    truncated_line: int | None
    verified: int = 0
    divergence: Divergence | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the log is well-formed and nothing diverged."""
        return self.divergence is None


class Resimulator(Protocol):
    """What replay needs of a phase: the event types it re-creates, and how, and the others."""

    replayed_types: Sequence[str]
    logged_types: Mapping[str, Sequence[str]]  # each with its payload's keys

    def resimulate(self, spec: Spec, events: Sequence[dict[str, Any]],
                   run_dir: Path) -> Iterator[Event]:
        """Yield, in order, the events of ``replayed_types`` the run must have logged."""
        ...


def resolve_run(path: Path) -> Path:
    """Resolve a run folder the user named, wherever it is; refuse what is not one."""
    resolved = path.expanduser().resolve()
    if not resolved.is_dir():
        raise InputError(f"{path}: no such run folder")
    if not (resolved / EVENTS_FILE).is_file() or not (resolved / SPEC_FILE).is_file():
        raise InputError(f"{path}: not a run folder (it needs {EVENTS_FILE} and {SPEC_FILE})")
    return resolved


def replay(run_dir: Path, resimulator: Callable[[int], Resimulator] | None = None,
           progress: Callable[[int, int], None] | None = None) -> ReplayReport:
    """Validate, summarise and (if the phase supports it) re-simulate the run in ``run_dir``."""
    read = read_events(run_dir / EVENTS_FILE)
    events = read.events
    end = events[-1] if events and events[-1]["type"] == "run.end" else None
    report = ReplayReport(
        run_dir=run_dir,
        events=len(events),
        by_type=Counter(e["type"] for e in events),
        last_tick=max((e["tick"] for e in events), default=-1),
        end_status=end["payload"].get("status") if end else None,
        truncated_line=read.truncated_line,
    )
    if read.truncated_line is not None:
        report.notes.append(
            f"line {read.truncated_line} is torn (the run was killed mid-write); "
            f"read {len(events)} complete events up to tick {report.last_tick}"
        )
    elif end is None:
        report.notes.append("no run.end event: the run was killed before it could finish")
    if end is None:
        report.divergence = _cut_since_finished(run_dir, read.truncated_line, report)
        if report.divergence is not None:
            return report
    if report.end_status == "interrupted":
        report.notes.append(f"the run was interrupted at tick {report.last_tick}")
    if end is not None:
        report.divergence = _check_end(run_dir, end, len(events))
    if resimulator is not None and report.divergence is None:
        finished = report.end_status in ("passed", "failed")
        _resimulate(report, run_dir, events, resimulator, finished, progress)
    return report


def run_status(run_dir: Path) -> str | None:
    """Return the status the run's manifest recorded, if it can be read."""
    try:
        status = read_json(run_dir / MANIFEST_FILE).get("status")
    except (OSError, ValueError):
        return None
    return status if isinstance(status, str) else None


def _cut_since_finished(run_dir: Path, torn_line: int | None,
                        report: ReplayReport) -> Divergence | None:
    """A log without run.end whose manifest records a verdict was whole once: it was cut since.

    The cut may fall mid-line (a torn last line) or exactly between two lines.
    """
    recorded = run_status(run_dir)
    if recorded not in ("passed", "failed"):
        return None
    cut = f"torn at line {torn_line}" if torn_line is not None else (
        f"cut after line {report.events}, with no run.end")
    return Divergence(report.last_tick, torn_line or report.events + 1, "events.jsonl",
                      {"log": f"whole, ending in run.end (the manifest says {recorded})"},
                      {"log": cut})


def _check_end(run_dir: Path, end: dict[str, Any], line: int) -> Divergence | None:
    """The end status must be what the run's criteria say (metrics.json)."""
    status = end["payload"].get("status")
    if status not in ("passed", "failed") or not (run_dir / METRICS_FILE).exists():
        return None
    try:
        criteria = read_json(run_dir / METRICS_FILE).get("criteria", [])
    except (OSError, ValueError) as exc:
        raise InputError(f"{run_dir / METRICS_FILE}: unreadable ({exc})") from None
    if not isinstance(criteria, list) or not all(isinstance(c, dict) for c in criteria):
        raise InputError(f"{run_dir / METRICS_FILE}: criteria: expected a list of objects")
    verdict = "passed" if criteria and all(c.get("passed") for c in criteria) else "failed"
    if verdict == status:
        return None
    return Divergence(end["tick"], line, "run.end", {"status": verdict, "from": METRICS_FILE},
                      {"status": status})


def seeding_scheme(run_dir: Path) -> int | None:
    """Return the seeding scheme a run was recorded under (None: it has no manifest)."""
    path = run_dir / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        seeding = read_json(path).get("seeding", {"scheme": 1})
        return int(seeding["scheme"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"{path}: unreadable seeding record ({exc})") from None


def _resimulate(report: ReplayReport, run_dir: Path, events: list[dict[str, Any]],
                resimulator: Callable[[int], Resimulator], complete: bool,
                progress: Callable[[int, int], None] | None) -> None:
    scheme = seeding_scheme(run_dir)
    if scheme not in (None, SEEDING_SCHEME):
        raise InputError(
            f"{run_dir}: recorded under seeding scheme {scheme}; this cybermesh re-simulates "
            f"scheme {SEEDING_SCHEME} only (cybermesh 0.1 re-simulates scheme 1; "
            "--no-resimulate still checks the log)")
    spec = load_spec(run_dir / SPEC_FILE)
    driver = resimulator(spec.phase)
    report.divergence = _unknown_type(events, {*RUN_TYPES, *driver.replayed_types,
                                               *driver.logged_types})
    if report.divergence is None:
        report.divergence = _misshapen(events, driver.logged_types)
    if report.divergence is not None:
        return
    if not driver.replayed_types:
        report.notes.append(f"phase {spec.phase} logs no re-simulated state")
        return
    wanted = set(driver.replayed_types)
    timings: dict[str, Sequence[Sequence[str]]] = getattr(driver, "timing_keys", {})
    logged = [(index + 1, e) for index, e in enumerate(events) if e["type"] in wanted]
    expected_stream = driver.resimulate(spec, events, run_dir)
    for line, event in logged:
        try:
            expected = _next_expected(expected_stream, run_dir)
        except MissingInput:
            if complete:
                raise
            report.notes.append(f"the run ended before it saved what re-simulation needs: its "
                                f"{report.verified} events up to line {line - 1} agree, the "
                                "rest is read, not re-simulated")
            return
        if expected is None:
            report.divergence = Divergence(event["tick"], line, event["type"], None,
                                           event["payload"])
            return
        if not _same(expected, event, timings.get(event["type"], ())):
            report.divergence = Divergence(event["tick"], line, event["type"],
                                           {"tick": expected.tick, "type": expected.type,
                                            **expected.payload},
                                           {"tick": event["tick"], "type": event["type"],
                                            **event["payload"]})
            return
        report.verified += 1
        if progress is not None and report.verified % 100 == 0:
            progress(report.verified, len(logged))
    missing = _next_expected(expected_stream, run_dir)
    if missing is not None and complete:
        report.divergence = Divergence(missing.tick, None, missing.type, missing.payload, None)


def _same(expected: Event, event: dict[str, Any],
          timing_versions: Sequence[Sequence[str]]) -> bool:
    """Whether a logged event is the re-simulated one: the same tick, type and payload.

    Keys that hold timings (``timing_versions``: each version's key set, the current first)
    cannot be recomputed: a logged event has one version's keys, as finite non-negative
    numbers, so runs logged before a timing was renamed still replay. Every other key must be
    equal, and no key may be missing or extra.
    """
    payload = event["payload"]
    if (expected.tick, expected.type) != (event["tick"], event["type"]) or \
            not isinstance(payload, dict):
        return False
    timed = {key for version in timing_versions for key in version}
    if payload.keys() - timed != expected.payload.keys() - timed or timing_versions and \
            payload.keys() & timed not in [set(version) for version in timing_versions]:
        return False
    for key, value in payload.items():
        if key in timed:
            if isinstance(value, bool) or not isinstance(value, int | float) or \
                    not 0 <= value < float("inf"):
                return False
        elif value != expected.payload[key]:
            return False
    return True


def _misshapen(events: list[dict[str, Any]], keys: Mapping[str, Sequence[str]]
               ) -> Divergence | None:
    """The first logged (not re-simulated) event whose payload lacks a key or has another."""
    for line, event in enumerate(events, start=1):
        wanted = keys.get(event["type"])
        if wanted is not None and set(event["payload"]) != set(wanted):
            return Divergence(event["tick"], line, event["type"], {"keys": sorted(wanted)},
                              {"keys": sorted(event["payload"])})
    return None


def _unknown_type(events: list[dict[str, Any]], known: set[str]) -> Divergence | None:
    """The first event of a type this phase never logs: a divergence at its line."""
    for line, event in enumerate(events, start=1):
        if event["type"] not in known:
            return Divergence(event["tick"], line, event["type"],
                              {"type": f"one of the {len(known)} types this phase logs"},
                              {"type": event["type"], **event["payload"]})
    return None


class MissingInput(InputError):
    """A stored input the re-simulation needs is not in the run folder."""


def _next_expected(stream: Iterator[Event], run_dir: Path) -> Event | None:
    """The next re-simulated event; a missing or corrupt stored input is bad input, not a
    divergence."""
    try:
        return next(stream, None)
    except FileNotFoundError as exc:
        raise MissingInput(f"{run_dir}: a stored input the re-simulation needs is missing or "
                           f"corrupt ({exc.filename} is missing)") from None
    except (OSError, ValueError, KeyError, SafetensorError) as exc:
        raise InputError(f"{run_dir}: a stored input the re-simulation needs is missing or "
                         f"corrupt ({type(exc).__name__}: {exc})") from None
