"""CyberMesh: an experiment runner for a 3-tier memory architecture on a Conway CA substrate."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cybermesh-cli")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"
