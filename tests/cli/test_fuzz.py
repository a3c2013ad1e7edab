"""Hypothesis damages real run folders; every command that reads one answers, never a traceback.

A phase-0 run (with a small memory beside it, so `recall` has something to open) is copied for
each case, one of its files is replaced, cut, corrupted, turned into a FIFO, a folder or a link
(to /dev/zero, or a loop), and one of `runs list`, `runs compare`, `runs export`, `replay`
(with and without re-simulation) or `recall` reads it in this process. The command must end
with exit 0, 1 (a verdict) or 2 (one line naming what is wrong): any other exception fails.
"""

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cybermesh_cli.cli import main
from tests.conftest import cli

FILES = ("manifest.json", "metrics.json", "spec.yaml", "events.jsonl", "memory.json",
         "memory.safetensors")
COMMANDS = (
    ("runs", "list", "{root}", "--json"),
    ("runs", "compare", "{run}", "{other}"),
    ("runs", "export", "{root}", "--csv", "-o", "{out}"),
    ("replay", "{run}", "--no-resimulate"),
    ("replay", "{run}"),
    ("recall", "{run}", "a query", "--json"),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """Run phase 0 briefly and save a memory of 4 bots beside it, as a memory run saves one."""
    from cybermesh_cli.shards.embedders import make_embedder

    root = tmp_path_factory.mktemp("pristine")
    spec = (Path(__file__).parents[2] / "experiments" / "phase0.yaml").read_text()
    (root / "phase0.yaml").write_text(spec.replace("ticks: 500", "ticks: 30"))
    done = cli("run", "phase0.yaml", "--no-protocol", cwd=root)
    (run,) = (root / "runs").iterdir()
    assert done.returncode == 0, done.stderr
    texts = ["red apples", "green pears", "blue sky", "deep sea", "hot sand", "cold ice"]
    embedder = make_embedder("hash", None, 5.0).embedder
    vectors = embedder.embed(texts, "document").astype(np.float32)
    from safetensors.numpy import save_file

    save_file({"vectors": vectors, "keys": vectors[:4].copy(),
               "held": np.arange(6, dtype=np.int64),
               "owners": np.array([0, 0, 1, 1, 2, 3], np.int64),
               "queries": vectors[:2].copy(), "topic_keys": vectors[:4].copy()},
              str(run / "memory.safetensors"))
    (run / "memory.json").write_text(json.dumps({
        "rows": 2, "cols": 2, "neighbourhood": 4, "torus": False, "horizon": 1, "capacity": 4,
        "k": 3, "max_hops": 50, "probe": 2, "embedder": {"backend": "hash", "timeout_s": 5},
        "texts": texts}))
    return run


def _flip(data, original: bytes) -> bytes:
    raw = bytearray(original or b"\0")
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    return bytes(raw)


def _line(data, original: bytes) -> bytes:
    lines = original.splitlines(keepends=True) or [b""]
    index = data.draw(st.integers(0, len(lines) - 1))
    lines[index] = data.draw(st.sampled_from((b"", lines[index] * 2, b"{}\n", b'{"v": 1}\n',
                                              lines[index][::-1])))
    return b"".join(lines)


CONTENT = {  # damage that writes new bytes
    "bytes": lambda data, original, name: data.draw(st.binary(max_size=64)),
    "cut": lambda data, original, name: original[:data.draw(st.integers(0, len(original)))],
    "flip": lambda data, original, name: _flip(data, original),
    "json": lambda data, original, name: json.dumps(data.draw(json_values)).encode(),
    "field": lambda data, original, name: _change_a_field(data, original, name),
    "line": lambda data, original, name: _line(data, original),
    "empty": lambda data, original, name: b"",
}
KIND = {  # damage that makes something other than a file
    "fifo": os.mkfifo,
    "folder": Path.mkdir,
    "zero": lambda path: path.symlink_to("/dev/zero"),
    "loop": lambda path: path.symlink_to(path.name),
    "gone": lambda path: None,
}


def _damage(data, folder: Path) -> str:
    """Damage one file of the run folder; say how (hypothesis prints it on failure)."""
    name = data.draw(st.sampled_from(FILES))
    path = folder / name
    how = data.draw(st.sampled_from(sorted({*CONTENT, *KIND})))
    original = path.read_bytes()
    path.unlink()
    if how in CONTENT:
        path.write_bytes(CONTENT[how](data, original, name))
    else:
        KIND[how](path)
    return f"{how} {name}"


def _change_a_field(data, original: bytes, name: str) -> bytes:
    """Set one field of a JSON or YAML mapping (or of one event) to a hostile value."""
    value = data.draw(json_values)
    if name == "events.jsonl":
        lines = original.splitlines(keepends=True)
        index = data.draw(st.integers(0, len(lines) - 1))
        event = json.loads(lines[index])
        target = event["payload"] if data.draw(st.booleans()) else event
        target[data.draw(st.sampled_from([*target, "extra"]) if target else st.just("x"))] = value
        lines[index] = json.dumps(event).encode() + b"\n"
        return b"".join(lines)
    if name.endswith(".json"):
        document = json.loads(original)
        key = data.draw(st.sampled_from([*document, "extra"]))
        if key == "criteria" and document.get("criteria") and data.draw(st.booleans()):
            criterion = document["criteria"][0]
            criterion[data.draw(st.sampled_from([*criterion]))] = value
        else:
            document[key] = value
        return json.dumps(document).encode()
    return original + f"\nextra: {json.dumps(value)}\n".encode()


def _invoke(args: list[str]) -> tuple[int, str]:
    """Run the CLI in this process; return its exit code and what it printed to stderr."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["cybermesh", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    finally:
        sys.argv = argv
    return code, err.getvalue()


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_run_folder_is_one_line_or_a_verdict_never_a_traceback(pristine, data):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "runs"
        run, other = root / "damaged", pristine  # the pristine run is only read
        shutil.copytree(pristine, run, symlinks=True)
        _damage(data, run)
        command = data.draw(st.sampled_from(COMMANDS))
        args = [part.format(root=root, run=run, other=other, out=Path(scratch) / "out.csv")
                for part in command]
        code, err = _invoke(args)
        assert code in (0, 1, 2), (code, err)
        if code == 2:  # one line saying what is wrong (a progress line may come before it)
            assert err.strip().splitlines()[-1].startswith("error: "), err
            assert "Traceback" not in err
