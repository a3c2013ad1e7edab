"""CyberMesh: an experiment runner for a 3-tier memory architecture on a Conway CA substrate.

The library's front door. Every name loads on first use, so ``import cybermesh_cli`` costs
nothing and ``from cybermesh_cli import World`` loads neither torch nor ray::

    from cybermesh_cli import HashEmbedder, World, WorldConfig, load_corpus
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cybermesh_cli.errors import CyberMeshError, InputError
    from cybermesh_cli.events import Event
    from cybermesh_cli.pulses.adapters import PulseEngine
    from cybermesh_cli.pulses.registry import Registry
    from cybermesh_cli.seeds import Seeds
    from cybermesh_cli.shards.corpus import Topic, load_corpus
    from cybermesh_cli.shards.embedders import (
        Embedder,
        HashEmbedder,
        LocalEmbedder,
        OllamaEmbedder,
        make_embedder,
    )
    from cybermesh_cli.shards.memory import Recall
    from cybermesh_cli.substrate.rules import Rule, parse_rule
    from cybermesh_cli.world import (
        EnergyConfig,
        MemoryConfig,
        NoiseConfig,
        ShardConfig,
        ShardState,
        Snapshot,
        SoupConfig,
        WaveConfig,
        World,
        WorldConfig,
        world_for,
        world_from_run,
    )

_EXPORTS = {
    "CyberMeshError": "cybermesh_cli.errors",
    "InputError": "cybermesh_cli.errors",
    "Event": "cybermesh_cli.events",
    "Seeds": "cybermesh_cli.seeds",
    "World": "cybermesh_cli.world",
    "WorldConfig": "cybermesh_cli.world",
    "ShardConfig": "cybermesh_cli.world",
    "SoupConfig": "cybermesh_cli.world",
    "MemoryConfig": "cybermesh_cli.world",
    "NoiseConfig": "cybermesh_cli.world",
    "EnergyConfig": "cybermesh_cli.world",
    "WaveConfig": "cybermesh_cli.world",
    "Rule": "cybermesh_cli.substrate.rules",
    "parse_rule": "cybermesh_cli.substrate.rules",
    "Snapshot": "cybermesh_cli.world",
    "ShardState": "cybermesh_cli.world",
    "world_for": "cybermesh_cli.world",
    "world_from_run": "cybermesh_cli.world",
    "Recall": "cybermesh_cli.shards.memory",
    "Topic": "cybermesh_cli.shards.corpus",
    "load_corpus": "cybermesh_cli.shards.corpus",
    "Embedder": "cybermesh_cli.shards.embedders",
    "HashEmbedder": "cybermesh_cli.shards.embedders",
    "LocalEmbedder": "cybermesh_cli.shards.embedders",
    "OllamaEmbedder": "cybermesh_cli.shards.embedders",
    "make_embedder": "cybermesh_cli.shards.embedders",
    "Registry": "cybermesh_cli.pulses.registry",
    "PulseEngine": "cybermesh_cli.pulses.adapters",  # imports torch
}

__all__ = [
    "CyberMeshError",
    "Embedder",
    "EnergyConfig",
    "Event",
    "HashEmbedder",
    "InputError",
    "LocalEmbedder",
    "MemoryConfig",
    "NoiseConfig",
    "OllamaEmbedder",
    "PulseEngine",
    "Recall",
    "Registry",
    "Rule",
    "Seeds",
    "ShardConfig",
    "ShardState",
    "Snapshot",
    "SoupConfig",
    "Topic",
    "WaveConfig",
    "World",
    "WorldConfig",
    "__version__",
    "load_corpus",
    "make_embedder",
    "parse_rule",
    "world_for",
    "world_from_run",
]


def __getattr__(name: str) -> Any:
    """Load an exported name on first use (``__version__`` from the installed metadata)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("cybermesh-cli")
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            return "0+unknown"
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cybermesh_cli' has no attribute {name!r}")


def __dir__() -> list[str]:
    """List the front door's names."""
    return __all__
