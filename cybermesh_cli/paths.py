"""Where the project's own files live, and the check that keeps user paths inside runs/."""

from __future__ import annotations

from pathlib import Path

from cybermesh_cli.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
EXPERIMENTS_DIR = PROJECT_ROOT / "experiments"
ADAPTERS_DIR = PROJECT_ROOT / "adapters"  # the registry of named LoRA adapters
THRESHOLDS_FILE = PROJECT_ROOT / "tests" / "performance_thresholds.yaml"
DEFAULT_RUNS_DIR = Path("runs")


def inside(path: Path, root: Path, what: str) -> Path:
    """Resolve ``path`` (symlinks included) and refuse it unless it lies under ``root``."""
    resolved = path.resolve()
    base = root.resolve()
    if resolved != base and not resolved.is_relative_to(base):
        raise InputError(f"{path}: {what} must stay inside {root}/ (it resolves to {resolved})")
    return resolved
