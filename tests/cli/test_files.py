"""A write that fails (the file-size limit of a full disk) keeps the user's old file whole."""

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_spec

OLD = b"the previous export, which must survive\n"


def _capped(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _cybermesh_capped(cwd: Path, limit: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cybermesh_cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False,
                          preexec_fn=_capped(limit))  # noqa: PLW1509 - a test's own child


def _assert_kept(target: Path, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and str(target.name) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert target.read_bytes() == OLD
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".partial")]


def test_ca_step_on_a_full_disk_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.rle"
    target.write_bytes(OLD)
    pattern = REPO / "experiments" / "patterns" / "gosper_glider_gun.rle"
    if not pattern.is_file():
        pattern = next((REPO / "experiments" / "patterns").glob("*.rle"))
    done = _cybermesh_capped(tmp_path, 60, "ca", "step", str(pattern), "--gens", "30",
                             "-o", str(target))
    _assert_kept(target, done)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return run_spec(root, "phase0.yaml")


def test_runs_export_on_a_full_disk_keeps_the_old_file(tmp_path, run_folder):
    target = tmp_path / "runs.csv"
    target.write_bytes(OLD)
    done = _cybermesh_capped(tmp_path, 100, "runs", "export", str(run_folder.parent), "-o",
                             str(target))
    _assert_kept(target, done)
    ok = subprocess.run([sys.executable, "-m", "cybermesh_cli", "runs", "export",
                         str(run_folder.parent), "-o", str(target)], cwd=tmp_path,
                        capture_output=True, text=True, timeout=300, check=False)
    assert ok.returncode == 0 and target.read_bytes() != OLD  # uncapped, it is replaced


def test_a_run_on_a_full_disk_ends_error_naming_its_log_and_stays_consistent(tmp_path):
    done = _cybermesh_capped(tmp_path, 3000, "run", "phase0")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (run,) = (tmp_path / "runs").iterdir()
    message = f"{run.name}/events.jsonl: cannot write (File too large)"
    assert message in " ".join(done.stderr.split()), done.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "error" and "events.jsonl: cannot write" in manifest["error"]
    assert json.loads((run / "metrics.json").read_text())["status"] == "error"
    assert not [p for p in run.iterdir() if p.name.endswith(".partial")]
    replayed = subprocess.run([sys.executable, "-m", "cybermesh_cli", "replay", str(run)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              check=False)
    assert replayed.returncode == 0 and "is torn" in replayed.stdout, replayed.stdout


@pytest.fixture(scope="module")
def phase3_run(tmp_path_factory):
    return run_spec(tmp_path_factory.mktemp("phase3"), "phase3.yaml", "--set",
                    "duration.ticks=60", failing=("delivery.min_delivered_lower_ci",
                                                  "delivery.min_right_bot_lower_ci"))


def test_replay_export_on_a_full_disk_keeps_the_old_file(tmp_path, phase3_run):
    target = tmp_path / "run.gif"
    target.write_bytes(OLD)
    done = _cybermesh_capped(tmp_path, 2000, "replay", str(phase3_run), "--export",
                             str(target))
    _assert_kept(target, done)
