"""The append-only JSONL event log: written with orjson, flushed every tick, read back strictly."""

from __future__ import annotations

import contextlib
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import orjson
import yamale

from cybermesh_cli.errors import LogFormatError
from cybermesh_cli.events import Event
from cybermesh_cli.paths import SCHEMAS_DIR

SCHEMA_VERSION = 1
MAX_EVENT_LINE = 1 << 24  # the largest events (a scale run's summaries) are a few kB
TAIL_BYTES = 1 << 20  # how much of a log's end :meth:`EventLog.resync` reads for its last line
EVENT_SCHEMA = SCHEMAS_DIR / "events.yaml"
_DUMP_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE


class EventLog:
    """Writes events one JSON object per line; :meth:`flush` hands them to the OS every tick.

    Lines go out whole, so a process killed at any moment leaves a file whose every complete
    line parses.
    """

    def __init__(self, path: Path) -> None:
        """Open ``path`` for appending; it must not exist yet (logs are never rewritten)."""
        self.path = path
        self._file: BinaryIO = path.open("xb")
        self.failure: OSError | None = None  # the write that failed (a full disk): it ends the log
        self._seq = 0
        self._start = time.monotonic()
        self.last_tick = -1

    @property
    def count(self) -> int:
        """Events written so far."""
        return self._seq

    def emit(self, type_: str, tick: int, payload: Mapping[str, Any] | None = None) -> int:
        """Append one event and return its sequence number; ``tick`` is -1 outside the loop."""
        event = {
            "v": SCHEMA_VERSION,
            "seq": self._seq,
            "tick": tick,
            "t": round(time.monotonic() - self._start, 6),
            "type": type_,
            "payload": payload or {},
        }
        if self.failure is not None:
            raise self.failure
        try:  # inline, not through _guarded: every event of every run passes here
            self._file.write(orjson.dumps(event, option=_DUMP_OPTIONS))
        except OSError as exc:
            self._fail(exc)
        self._seq += 1
        if tick > self.last_tick:
            self.last_tick = tick
        return self._seq - 1

    def write(self, events: Iterable[Event]) -> None:
        """Append library events (a world's tick, a phase's trials) in order."""
        for event in events:
            self.emit(event.type, event.tick, event.payload)

    def observe(self, _world: object, events: Iterable[Event]) -> None:
        """Log a world's tick: ``world.add_observer(log.observe)`` (Mesa's DataCollector way)."""
        self.write(events)

    def flush(self) -> None:
        """Hand buffered lines to the operating system (survives SIGKILL, not power loss)."""
        self._guarded(self._file.flush)

    def resync(self) -> None:
        """Take the next sequence number from the last line written, after an interrupt.

        A signal between an event's write and its count leaves the counter one behind the file.
        """
        self.flush()
        with self.path.open("rb") as log:
            log.seek(max(log.seek(0, 2) - TAIL_BYTES, 0))
            lines = log.read().splitlines()
        for line in reversed(lines):
            try:
                self._seq = int(orjson.loads(line)["seq"]) + 1
                return
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue

    def _guarded(self, write: Callable[..., Any], *args: Any) -> None:
        """Write; a failure names this file, and every later write raises it again."""
        if self.failure is not None:
            raise self.failure
        try:
            write(*args)
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        """Name this file in a failed write and keep it: every later write raises it again."""
        exc.filename = str(self.path)
        self.failure = exc
        raise exc

    def close(self) -> None:
        """Flush and close the file (after a failed write, what is left is given up)."""
        if self._file.closed:
            return
        try:
            if self.failure is None:  # a failed write was raised where it happened
                self.flush()
        finally:
            with contextlib.suppress(OSError):
                self._file.close()

    def __enter__(self) -> EventLog:
        """Use as a context manager that always closes the file."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close on exit, whatever happened."""
        self.close()


@cache
def _event_schema() -> yamale.schema.Schema:
    return yamale.make_schema(str(EVENT_SCHEMA))


@dataclass(frozen=True)
class LogRead:
    """The events of a log, and whether it ended in a torn (incomplete) last line."""

    events: list[dict[str, Any]]
    truncated_line: int | None


def iter_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """Yield ``(line number, raw bytes, ends with newline)`` for every line of ``path``.

    Only a regular file is opened, and no line may pass :data:`MAX_EVENT_LINE` bytes.
    """
    if not stat.S_ISREG(path.stat().st_mode):
        raise LogFormatError(str(path), 1, "not a regular file")
    with path.open("rb") as handle:
        for number, raw in enumerate(iter(lambda: handle.readline(MAX_EVENT_LINE + 1), b""),
                                     start=1):
            if len(raw) > MAX_EVENT_LINE:
                raise LogFormatError(str(path), number, f"a line of more than "
                                     f"{MAX_EVENT_LINE:,} bytes")
            yield number, raw, raw.endswith(b"\n")


def check_event(event: object, path: str, line: int, expected_seq: int, last_tick: int) -> None:
    """Check one decoded event against the schema and the log's ordering rules."""
    if not isinstance(event, dict):
        raise LogFormatError(path, line, "an event must be a JSON object")
    result = _event_schema().validate(event, f"{path}:{line}", True)
    if not result.isValid():
        raise LogFormatError(path, line, "; ".join(sorted(result.errors)))
    if event["seq"] != expected_seq:
        raise LogFormatError(path, line, f"seq is {event['seq']}, expected {expected_seq}")
    if event["tick"] < last_tick:
        raise LogFormatError(path, line, f"tick {event['tick']} goes back from {last_tick}")


def read_events(path: Path) -> LogRead:
    """Read and check a whole log; a torn last line is reported, any other bad line raises."""
    name = str(path)
    events: list[dict[str, Any]] = []
    last_tick = -1
    truncated: int | None = None
    for number, raw, complete in iter_lines(path):
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if not complete:
                truncated = number
                break
            raise LogFormatError(name, number, f"not valid JSON ({exc})") from None
        if not complete:
            truncated = number
            break
        check_event(event, name, number, len(events), last_tick)
        if events and events[-1]["type"] == "run.end":
            raise LogFormatError(name, number, f"{event['type']!r} after run.end (a log ends "
                                 "with exactly one run.end)")
        last_tick = event["tick"]
        events.append(event)
    if not events and truncated is None:
        raise LogFormatError(name, 1, "the log is empty")
    if events and events[0]["type"] != "run.start":
        raise LogFormatError(name, 1, f"first event is {events[0]['type']!r}, not 'run.start'")
    return LogRead(events=events, truncated_line=truncated)
