"""The energy layer: the tier-1 energy field over the cells, and delivery trails per bot.

Live cells deposit into the field every tick and it decays with a half-life. A delivered
shard lays a trail on the bots of its path, rising toward its destination, in a field of one
value a bot with its own half-life (phase 6's hints read such trails).
"""

from __future__ import annotations

from cybermesh_cli.substrate.energy import Trails
from cybermesh_cli.substrate.energy import EnergyField
from cybermesh_cli.substrate.shapes import Cells
from cybermesh_cli.topology import Tiling
from cybermesh_cli.world.config import EnergyConfig


class EnergyLayer:
    """Cell energy and bot trails, both decaying every tick."""

    def __init__(self, config: EnergyConfig, tiling: Tiling) -> None:
        """Start both fields at zero."""
        self.field = EnergyField(tiling.shape, config.half_life)
        self.trails = Trails(tiling.mesh.size, config.trail_half_life, config.gradient)

    def update(self, cells: Cells) -> None:
        """One tick: the field takes this tick's live cells; trails decay."""
        self.field.update(cells)
        self.trails.tick()

    def deliver(self, path: list[int]) -> None:
        """Lay a delivered shard's trail along the bots it passed."""
        self.trails.deposit(path)
