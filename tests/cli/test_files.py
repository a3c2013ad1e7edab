"""A write that fails (the file-size limit of a full disk) keeps the user's old file whole."""

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
