"""A logged run's world, rebuilt from its spec and stored vectors (no embedder needed).

Every place that re-creates a run's world (phase 3's replay, frames, the dashboard, phase 7)
goes through :func:`world_for`, so they all draw from the run's ``world`` seed child.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.runs.record import SPEC_FILE, VECTORS_FILE
from cybermesh_cli.seeds import SeedLike, Seeds
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.spec import Spec, load_spec
from cybermesh_cli.world.config import WorldConfig
from cybermesh_cli.world.world import Snapshot, World

if TYPE_CHECKING:
    from cybermesh_cli.pulses.adapters import PulseEngine

WORLD_SEEDS = "world"  # the child of a run's root seed that its world draws from


def world_seeds(root: SeedLike) -> Seeds:
    """Return the seed tree a run's world draws from: the ``world`` child of the run's root."""
    return Seeds.of(root).child(WORLD_SEEDS)


def stored_vectors(run_dir: Path) -> dict[str, Vectors]:
    """Load the run's topic keys, shard vectors and labels (``vectors.safetensors``)."""
    from safetensors.numpy import load_file

    path = run_dir / VECTORS_FILE
    if not path.is_file():
        raise InputError(f"{path}: a stored input the re-simulation needs is missing or "
                         "corrupt; cannot rebuild the run's world")
    return load_file(str(path))


def world_for(spec: Spec, keys: Vectors, vectors: Vectors, *,
              labels: NDArray[np.int64] | None = None, extra: Mapping[str, Any] | None = None,
              wave: Mapping[str, Any] | None = None, engine: PulseEngine | None = None) -> World:
    """Build the world of a phase-3 spec; ``extra`` adds blocks (a memory), ``wave`` a wave."""
    config = WorldConfig.from_block({**(extra or {}), **spec.block("phase3")}, wave=wave)
    return World(config, world_seeds(spec.seed), keys=keys, vectors=vectors, labels=labels,
                 engine=engine)


def world_from_run(run_dir: Path) -> World:
    """Rebuild a logged phase-3 run's world at tick -1, ready to step."""
    spec = load_spec(run_dir / SPEC_FILE)
    stored = stored_vectors(run_dir)
    labels = stored.get("labels")
    return world_for(spec, stored["keys"], stored["shards"],
                     labels=None if labels is None else labels.astype(np.int64))


def frames(run_dir: Path, wanted: set[int]) -> Iterator[Snapshot]:
    """Re-simulate a logged phase-3 run and yield the world at each wanted tick."""
    world = world_from_run(run_dir)
    for tick in range(max(wanted) + 1):
        world.step()
        if tick in wanted:
            yield world.snapshot()
