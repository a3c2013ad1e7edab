"""The CyberMesh world as a library: three tiers on one torus, stepped one tick at a time.

    from cybermesh_cli.world import World, WorldConfig
    world = World(WorldConfig.from_block(spec_block), seed=3, keys=keys, vectors=vectors)
    events = world.run(100)

Importing this package does not import torch; a world with a wave loads it.
"""

from cybermesh_cli.errors import CyberMeshError, InputError
from cybermesh_cli.events import Event
from cybermesh_cli.world.config import (
    EnergyConfig,
    MemoryConfig,
    NoiseConfig,
    ShardConfig,
    SoupConfig,
    WaveConfig,
    WorldConfig,
)
from cybermesh_cli.world.rebuild import stored_vectors, world_for, world_from_run, world_seeds
from cybermesh_cli.world.state import ShardState
from cybermesh_cli.world.world import Observer, Snapshot, World

__all__ = [
    "CyberMeshError",
    "EnergyConfig",
    "Event",
    "InputError",
    "MemoryConfig",
    "NoiseConfig",
    "Observer",
    "ShardConfig",
    "ShardState",
    "Snapshot",
    "SoupConfig",
    "WaveConfig",
    "World",
    "WorldConfig",
    "stored_vectors",
    "world_for",
    "world_from_run",
    "world_seeds",
]
