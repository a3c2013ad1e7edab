"""Shared helpers: run the real CLI in a subprocess, in a folder of the test's choosing."""

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson

import pytest

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cybermesh_cli ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "cybermesh_cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture
def phase0_spec(tmp_path: Path) -> Path:
    """Copy experiments/phase0.yaml with a short soak beside an empty runs/ folder."""
    text = (REPO / "experiments" / "phase0.yaml").read_text().replace("ticks: 500", "ticks: 60")
    spec = tmp_path / "phase0.yaml"
    spec.write_text(text)
    (tmp_path / "runs").mkdir()
    return spec


def run_spec(root: Path, name: str, *args: str) -> Path:
    """Run ``experiments/NAME`` into ``root/runs``; assert it passed; return the run folder."""
    done = cli("run", str(REPO / "experiments" / name), *args, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = (root / "runs").iterdir()
    return run


def tampered_copy(run: Path, match: Callable[[bytes], bool],
                  change: Callable[[dict], None]) -> tuple[Path, int, dict]:
    """Copy a run folder beside it with the first log line that ``match``es altered.

    Returns the copy, the altered line's number and the altered event.
    """
    copy = run.parent / f"{run.name}-tampered"
    copy.mkdir()
    for name in ("spec.yaml", "manifest.json", "metrics.json", "vectors.safetensors",
                 "world.yaml", "memory.safetensors", "memory.json"):
        if (run / name).exists():
            (copy / name).write_bytes((run / name).read_bytes())
    if (run / "adapters").is_dir():
        shutil.copytree(run / "adapters", copy / "adapters")
    lines = (run / "events.jsonl").read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if match(line))
    event = orjson.loads(lines[index])
    change(event)
    lines[index] = orjson.dumps(event) + b"\n"
    (copy / "events.jsonl").write_bytes(b"".join(lines))
    return copy, index + 1, event
