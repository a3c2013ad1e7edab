"""CyberMesh: an experiment runner for a 3-tier memory architecture on a Conway CA substrate."""

from typing import Any


def __getattr__(name: str) -> Any:
    """``__version__`` is looked up on first use, so importing the package costs nothing."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("cybermesh-cli")
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            return "0+unknown"
    raise AttributeError(f"module 'cybermesh_cli' has no attribute {name!r}")
