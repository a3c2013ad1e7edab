"""The event log: orjson lines, strict reading, torn last lines, and located errors."""

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cybermesh_cli.errors import LogFormatError
from cybermesh_cli.runs.events import EventLog, read_events

payloads = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=20), st.booleans(), st.none()),
    max_size=5,
)


def _write(path, n=5):
    with EventLog(path) as log:
        log.emit("run.start", -1, {"name": "x"})
        for tick in range(n):
            log.emit("state.digest", tick, {"digest": f"{tick:032x}"})
            log.flush()
    return path


@settings(max_examples=50, deadline=None)
@given(st.lists(payloads, min_size=1, max_size=30))
def test_round_trip_any_payload(tmp_path_factory, items):
    path = tmp_path_factory.mktemp("log") / "events.jsonl"
    with EventLog(path) as log:
        log.emit("run.start", -1)
        for tick, payload in enumerate(items):
            log.emit("test.item", tick, payload)
    events = read_events(path).events
    assert [e["payload"] for e in events[1:]] == items
    assert [e["seq"] for e in events] == list(range(len(items) + 1))


def test_log_is_never_overwritten(tmp_path):
    path = _write(tmp_path / "events.jsonl")
    with pytest.raises(FileExistsError):
        EventLog(path)


def test_torn_last_line_is_reported_not_fatal(tmp_path):
    path = _write(tmp_path / "events.jsonl")
    with path.open("ab") as handle:
        handle.write(b'{"v":1,"seq":6,"tick":5,"t":0.1,"ty')
    read = read_events(path)
    assert read.truncated_line == 7
    assert len(read.events) == 6


@pytest.mark.parametrize(
    ("line", "replacement", "reason"),
    [
        (3, b"not json\n", "not valid JSON"),
        (3, orjson.dumps({"v": 1, "seq": 9, "tick": 1, "t": 0, "type": "a.b", "payload": {}})
         + b"\n", "seq is 9, expected 2"),
        (4, orjson.dumps({"v": 1, "seq": 3, "tick": 0, "t": 0, "type": "a.b", "payload": {}})
         + b"\n", "tick 0 goes back from 1"),
        (2, orjson.dumps({"v": 1, "seq": 1, "tick": 0, "t": 0, "type": "Bad", "payload": {}})
         + b"\n", "type"),
        (2, orjson.dumps({"v": 1, "seq": 1, "tick": 0, "t": 0, "type": "a.b"}) + b"\n",
         "payload"),
        (2, b"[1, 2]\n", "must be a JSON object"),
    ],
)
def test_bad_line_is_named(tmp_path, line, replacement, reason):
    path = _write(tmp_path / "events.jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    lines[line - 1] = replacement
    path.write_bytes(b"".join(lines))
    with pytest.raises(LogFormatError, match=reason) as info:
        read_events(path)
    assert info.value.line == line


def test_log_must_start_with_run_start(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        log.emit("state.digest", 0, {})
    with pytest.raises(LogFormatError, match="run.start"):
        read_events(path)


def test_resync_takes_the_next_number_from_the_file_after_an_uncounted_write(tmp_path):
    """A signal between a write and its count: resync reads the file, so numbers stay dense."""
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        log.emit("run.start", -1)
        for tick in range(4):
            log.emit("world.tick", tick)
        log._seq -= 1  # the last write went out, its count did not
        log.resync()
        log.emit("run.end", 4)
    assert [e["seq"] for e in read_events(path).events] == list(range(6))
