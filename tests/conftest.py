"""Shared helpers: run the real CLI in a subprocess, in a folder of the test's choosing."""

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import orjson

import pytest

from cybermesh_cli.extras import EXTRAS
from cybermesh_cli.runs.report import TIMING_MARKS
from cybermesh_cli.seeds import SEEDING_SCHEME, Seeds

REPO = Path(__file__).resolve().parents[1]

ALL_EXTRAS = "CYBERMESH_ALL_EXTRAS"  # set by `make test`: a missing extra fails, never skips


def needs(*extras: str) -> None:
    """Skip the calling test module (or test) unless ``extras`` are installed.

    With ``CYBERMESH_ALL_EXTRAS=1`` (CI, `make test`) a missing extra is a failure instead, so a
    skip can never hide a broken install.
    """
    for extra in extras:
        missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
        if not missing:
            continue
        reason = f"needs the [{extra}] extra ({', '.join(missing)} not installed)"
        if os.environ.get(ALL_EXTRAS):
            pytest.fail(f"{reason}, and {ALL_EXTRAS} is set", pytrace=False)
        pytest.skip(reason, allow_module_level=True)


def needs_program(name: str, package: str) -> str:
    """Find a program (Debian's ``package``): skip without it, or fail under CI's flag."""
    found = shutil.which(name)
    if found:
        return found
    reason = f"needs {name} (Debian's {package} package; `make test` installs it)"
    if os.environ.get(ALL_EXTRAS):
        pytest.fail(f"{reason}, and {ALL_EXTRAS} is set", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


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


def first_draws(root: int, path: str) -> tuple[int, ...]:
    """Return the first numbers of the stream at ``path`` (``a/b/c``) under ``root``."""
    node = Seeds.of(root)
    for name in path.split("/") if path else ():
        node = node.child(name)
    return tuple(node.rng().integers(0, 2**62, 4).tolist())


def assert_streams_distinct(root: int, paths: list[str]) -> None:
    """No two named streams of a run start with the same numbers."""
    draws = {path: first_draws(root, path) for path in paths}
    assert len(set(draws.values())) == len(draws), draws


@contextmanager
def busy_cores(count: int | None = None) -> Iterator[None]:
    """Keep ``count`` cores (default: all) busy with spinning processes, stopped by their ids."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(count or os.cpu_count() or 1)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait(10)


def clock_only(run: Path) -> bool:
    """Whether a run passed, or failed only wall-clock budgets (a busy machine may miss them)."""
    criteria = orjson.loads((run / "metrics.json").read_bytes())["criteria"]
    return all(c["passed"] or any(m in c["key"] for m in TIMING_MARKS) for c in criteria)


def assert_sweep_passed(done: subprocess.CompletedProcess[str], folder: Path) -> None:
    """Every run of a sweep passed its functional criteria, and the sweep ended as it says.

    Wall-clock budgets may fail while other tests keep the cores busy: the sweep then exits 1
    for the runs it ran, which is what it must do.
    """
    runs = [run for run in folder.glob("p*-s*") if (run / "metrics.json").is_file()]
    assert runs and all(clock_only(run) for run in runs), done.stderr
    assert done.returncode in (0, 1), done.stderr
    if done.returncode:
        assert any(orjson.loads((run / "manifest.json").read_bytes())["status"] == "failed"
                   for run in runs), done.stderr


def run_spec(root: Path, name: str, *args: str, failing: Sequence[str] = ()) -> Path:
    """Run ``experiments/NAME`` into ``root/runs``; return the run folder.

    The run must pass, or, with ``failing``, fail exactly those criteria (key suffixes such as
    ``delivery.min_delivered_lower_ci``): a finding the tests pin down. Wall-clock budgets not
    named in ``failing`` are left out of the comparison (they depend on the machine's load;
    the exit code must still agree with the criteria). Every stream the run drew (its
    manifest's seeding record) is checked to be its own.
    """
    done = cli("run", str(REPO / "experiments" / name), *args, "--no-protocol", cwd=root)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    (run,) = (root / "runs").iterdir()
    criteria = orjson.loads((run / "metrics.json").read_bytes())["criteria"]
    failed = sorted(c["key"].split(".", 1)[1] for c in criteria if not c["passed"])
    assert done.returncode == (1 if failed else 0), done.stdout + done.stderr
    # a wall-clock budget may fail on a busy machine (the report says so): the tests pin the
    # functional verdicts, and a timing one only where they name it
    failed = [k for k in failed if k in failing or not any(m in k for m in TIMING_MARKS)]
    assert failed == sorted(failing), failed
    manifest = orjson.loads((run / "manifest.json").read_bytes())
    assert manifest["seeding"]["scheme"] == SEEDING_SCHEME
    assert_streams_distinct(manifest["seed"], list(manifest["seeding"]["streams"]))
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
