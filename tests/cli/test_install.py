"""A wheel built from the checkout, installed (not editable) into a fresh venv, core only."""

import json
import subprocess
import sys
import tomllib
import venv

import pytest

from tests.conftest import REPO, busy_cores, clock_only

pytestmark = pytest.mark.slow  # run by `make test`, left out of `make check`


def _run(args, cwd, check=True):
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
          "-q", "-w", str(root / "dist")], cwd=root)
    (wheel,) = (root / "dist").glob("cybermesh_cli-*.whl")
    venv.create(root / "venv", with_pip=True)
    bin_dir = root / "venv" / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
          "-c", str(REPO / "constraints.txt"), str(wheel)], cwd=root)
    return root, bin_dir / "cybermesh"


def test_the_wheel_carries_its_data_and_runs_from_an_empty_folder(installed):
    root, cybermesh = installed
    empty, other = root / "empty", root / "other"
    empty.mkdir()
    other.mkdir()
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert _run([str(cybermesh), "--version"], empty).stdout.startswith(f"cybermesh {version}")
    done = _run([str(cybermesh), "run", "phase1", "--out", str(root / "out")], empty)
    run = done.stdout.strip()
    assert run.startswith(str(root / "out")) and "\n" not in run  # piped: the folder alone
    busy = root / "busy"
    busy.mkdir()
    with busy_cores():  # as on a laptop doing other things: timing verdicts may fail
        loaded = _run([str(cybermesh), "run", "phase1"], busy, check=False)
    assert loaded.returncode in (0, 1) and "Traceback" not in loaded.stderr, loaded.stderr
    (busy_run,) = (busy / "runs").iterdir()
    assert [p.name for p in busy.iterdir()] == ["runs"] and clock_only(busy_run)
    if loaded.returncode:  # the failure protocol kept its ISSUE file in the run's own folder
        assert list(busy_run.glob("ISSUE-*.md")) and "not a git repository" not in (
            loaded.stdout + loaded.stderr)
    replayed = _run([str(cybermesh), "replay", run], other)
    assert "re-simulation verified" in replayed.stdout
    listed = json.loads(_run([str(cybermesh), "runs", "list", str(root / "out"), "--json"],
                             other).stdout)
    assert [r["path"] for r in listed] == [run] and listed[0]["status"] == "passed"
    adapters = _run([str(cybermesh), "adapter", "list"], empty).stdout
    assert "glider-guard" in adapters and "dust-guard" in adapters
    assert "phase3" in _run([str(cybermesh), "examples"], empty).stdout
    assert not list(empty.iterdir())


def test_a_command_that_needs_a_missing_extra_says_which(installed):
    root, cybermesh = installed
    folder = root / "needs-ml"
    folder.mkdir()
    done = _run([str(cybermesh), "run", "phase3", "--out", "runs"], folder, check=False)
    assert done.returncode == 2 and "needs the [ml] extra" in done.stderr
    assert "Traceback" not in done.stderr and not (folder / "runs").exists()
