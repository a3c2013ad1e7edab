"""Shared helpers: run the real CLI in a subprocess, in a folder of the test's choosing."""

import subprocess
import sys
from pathlib import Path

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
