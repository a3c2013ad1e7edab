"""Where files live: the package's bundled data, and the user's own files, which come first.

Schemas, thresholds, the corpus, patterns, shipped adapters and example specs are package
data (``cybermesh_cli/data``), so a wheel carries them. A relative path in a spec
(``experiments/data/topics.yaml``, ``adapters``) means the user's file when it exists in the
current folder, else the bundled one.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

DATA_DIR = Path(str(files("cybermesh_cli") / "data"))
SCHEMAS_DIR = DATA_DIR / "schemas"
EXPERIMENTS_DIR = DATA_DIR / "experiments"
THRESHOLDS_FILE = DATA_DIR / "performance_thresholds.yaml"
TEMPLATES_DIR = DATA_DIR / "templates"
PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the checkout, in a development install


def cache_dir() -> Path:
    """Where derived data is kept between runs: ``$CYBERMESH_CACHE``, else ~/.cache/cybermesh."""
    return Path(os.environ.get("CYBERMESH_CACHE") or Path.home() / ".cache" / "cybermesh")


def resource(path: str | Path) -> Path:
    """Resolve a path from a spec or flag: absolute, else the user's file, else the bundled one.

    When neither exists the user's path comes back, so an error names what they wrote.
    """
    given = Path(path).expanduser()
    if given.is_absolute() or given.exists():
        return given
    bundled = DATA_DIR / given
    return bundled if bundled.exists() else given


def example(name: str) -> Path | None:
    """Return the bundled example spec called ``name`` (``phase3`` or ``phase3.yaml``), if any."""
    stem = name.removesuffix(".yaml")
    if "/" in stem or "\\" in stem or not stem:
        return None
    found = EXPERIMENTS_DIR / f"{stem}.yaml"
    return found if found.is_file() else None


def spec_path(path: Path) -> Path:
    """Resolve a spec the user names: their file if it exists, else the bundled example."""
    return path if path.exists() else example(str(path)) or path


def pattern_path(path: Path) -> Path:
    """Resolve a pattern the user names: their file if it exists, else a bundled one (glider)."""
    if path.exists():
        return path
    stem = str(path).removesuffix(".rle")
    bundled = EXPERIMENTS_DIR / "patterns" / f"{stem}.rle"
    return bundled if "/" not in stem and stem and bundled.is_file() else path


def examples() -> list[Path]:
    """Return every bundled example spec."""
    return sorted(EXPERIMENTS_DIR.glob("*.yaml"))
