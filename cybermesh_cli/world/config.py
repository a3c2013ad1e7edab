"""WorldConfig: the one place that reads a spec block's keys for the world, parsed once.

A block is a phase-3 style mapping (``rule``, ``mesh``, ``routing``, ``shards``, ``soup``);
``wave``, ``noise``, ``energy`` and ``memory`` are optional. Counts that grow with the mesh
(soups, shards a wave) are given per bot, so one spec runs at every mesh size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cybermesh_cli.errors import InputError
from cybermesh_cli.substrate.rules import CONWAY, Rule, parse_rule
from cybermesh_cli.topology import Mesh, Tiling

MAX_CELLS = 1 << 26  # 64 Mi cells: about 1.5 GiB of working arrays at the world's ~24 B a cell
BYTES_PER_CELL = 24  # unpacked cells, detection scratch, energy field, pulse buffers
LAYOUTS = ("random", "semantic", "bisection")
LANES = ("shared", "keep_right")
MIN_CARRIER_TILE = 12  # a lightweight spaceship and its launch margin fit in a tile


@dataclass(frozen=True)
class SoupConfig:
    """Random patches at the centre of a share of the tiles."""

    fraction: float
    size: int
    density: float


@dataclass(frozen=True)
class ShardConfig:
    """Shards injected in waves and carried by spaceships, routed by gossip tables."""

    every: int = 100
    per_bot: float = 0.16
    horizon: int = 4
    max_relaunches: int = 5
    layout: str = "random"  # "semantic" or "bisection": neighbours hold similar keys (layout.py)
    landmarks: int = 0  # side of the blocks whose mean keys every bot knows (0: none)
    clear_wreckage: bool = False  # a bot erases the cells where a carrier was lost
    candidates: int = 0  # landmark blocks a shard visits, carrying the best key it has seen
    accept: float = 1.0  # with candidates: a seen key this similar ends the visits
    texts: str = "all"  # "held": shards only of topics some bot holds
    lanes: str = "shared"  # "keep_right": a carrier leaves on the right of its heading
    stay_aboard: bool = True  # False: shards leave a carrier in the tile it was sent to
    clear_spots: bool = False  # a bot that cannot launch for two waits clears its first spot
    fewest_tiles: bool = False  # gossip keeps, of equally short routes, the straightest


@dataclass(frozen=True)
class WaveConfig:
    """An adapter spread bot to bot in chunks; a bot holding it all pulses its tile."""

    adapter: str
    source: int  # -1: the centre bot
    chunks: int
    link_capacity: int
    pulse_ticks: int
    max_ticks: int
    start_tick: int


@dataclass(frozen=True)
class NoiseConfig:
    """Perturbation of the substrate each tick: ``flip`` toggles cells, ``dust`` births them."""

    mode: str
    rate: float


@dataclass(frozen=True)
class EnergyConfig:
    """The tier-1 energy field (live cells deposit) and delivery trails (one value a bot)."""

    half_life: float
    trail_half_life: float
    gradient: float


@dataclass(frozen=True)
class MemoryConfig:
    """Bots keep the shards delivered to them: at most ``capacity`` each, oldest out first."""

    capacity: int


@dataclass(frozen=True)
class WorldConfig:
    """Everything that defines a world: by keywords, or from a spec block (:meth:`from_block`).

    ``WorldConfig(rows=10, cols=10, shards=ShardConfig(every=25))`` is a 10x10 Conway world of
    16x16 tiles with shards; every layer is off unless given.
    """

    rule: Rule = CONWAY
    rows: int = 5
    cols: int = 5
    tile: int = 16
    soup: SoupConfig | None = None
    shards: ShardConfig | None = None
    wave: WaveConfig | None = None
    noise: NoiseConfig | None = None
    energy: EnergyConfig | None = None
    memory: MemoryConfig | None = None

    def __post_init__(self) -> None:
        """Refuse worlds that cannot run, before anything is allocated."""
        if min(self.rows, self.cols, self.tile) < 1:
            raise InputError(f"mesh: rows, cols and tile must be at least 1 (got {self.rows}x"
                             f"{self.cols} bots of {self.tile} cells)")
        cells = self.cells
        if cells > MAX_CELLS:
            raise InputError(
                f"mesh: {self.rows}x{self.cols} bots of {self.tile}x{self.tile} cells is "
                f"{cells:,} cells, about {cells * BYTES_PER_CELL / 2**30:.1f} GiB; the limit "
                f"is {MAX_CELLS:,} cells")
        if self.shards is not None and self.tile < MIN_CARRIER_TILE:
            raise InputError(f"mesh.tile: {self.tile} is too small for carriers (at least "
                             f"{MIN_CARRIER_TILE} cells)")
        if self.shards is not None and self.shards.landmarks and (
                self.rows % self.shards.landmarks or self.cols % self.shards.landmarks):
            raise InputError(f"routing.landmarks: blocks of {self.shards.landmarks} bots a side "
                             f"do not tile a {self.rows}x{self.cols} mesh")
        if self.shards is not None and self.shards.candidates:
            self._check_candidates(self.shards)
        if self.shards is not None and self.shards.layout not in LAYOUTS:
            raise InputError(f"routing.layout: {self.shards.layout!r} is not one of "
                             f"{', '.join(LAYOUTS)}")
        if self.shards is not None and self.shards.lanes not in LANES:
            raise InputError(f"routing.lanes: {self.shards.lanes!r} is not one of "
                             f"{', '.join(LANES)}")
        if self.soup is not None and self.soup.size > self.tile:
            raise InputError(f"soup.size: {self.soup.size} does not fit a tile of {self.tile}")

    @staticmethod
    def _check_candidates(shards: ShardConfig) -> None:
        """Visiting blocks needs landmarks whose centre bot sees the whole block."""
        if not shards.landmarks:
            raise InputError("routing.candidates: needs routing.landmarks (the blocks to visit)")
        if shards.landmarks // 2 > shards.horizon:
            raise InputError(f"routing.candidates: blocks of {shards.landmarks} bots a side are "
                             f"wider than a horizon of {shards.horizon} sees from their centre "
                             f"(at most {2 * shards.horizon + 1})")

    @property
    def tiling(self) -> Tiling:
        """The bots' tiles on the torus (8-neighbour mesh: carriers fly diagonally too)."""
        return Tiling(Mesh(self.rows, self.cols, 8, True), self.tile)

    @property
    def cells(self) -> int:
        """Cells of the torus (one byte each in a state dump)."""
        return self.rows * self.cols * self.tile ** 2

    @property
    def bots(self) -> int:
        """Number of bots."""
        return self.rows * self.cols

    def soup_tiles(self) -> int:
        """Tiles that start with a soup patch."""
        return 0 if self.soup is None else min(self.bots, round(self.soup.fraction * self.bots))

    def shards_per_wave(self) -> int:
        """Shards injected each wave: ``per_bot`` a bot, at least one when it is positive."""
        if self.shards is None or self.shards.per_bot <= 0:
            return 0
        return max(1, round(self.shards.per_bot * self.bots))

    @classmethod
    def from_block(cls, block: Mapping[str, Any], wave: Mapping[str, Any] | None = None,
                   noise: Mapping[str, Any] | None = None) -> WorldConfig:
        """Parse a spec block (already schema-checked); ``wave``/``noise`` add those layers."""
        mesh = block["mesh"]
        try:
            rule = parse_rule(str(block["rule"]))
        except InputError as exc:
            raise InputError(f"rule: {exc}") from None
        soup = block.get("soup")
        shards, routing = block.get("shards"), block.get("routing")
        energy, memory = block.get("energy"), block.get("memory")
        return cls(
            rule=rule, rows=int(mesh["rows"]), cols=int(mesh["cols"]), tile=int(mesh["tile"]),
            soup=SoupConfig(float(soup["fraction"]), int(soup["size"]), float(soup["density"]))
            if soup else None,
            shards=ShardConfig(int(shards["every"]), float(shards["per_bot"]),
                               int(routing["horizon"]), int(routing["max_relaunches"]),
                               str(routing.get("layout", "random")),
                               int(routing.get("landmarks", 0)),
                               bool(routing.get("clear_wreckage", False)),
                               int(routing.get("candidates", 0)),
                               float(routing.get("accept", 1.0)),
                               str(shards.get("texts", "all")),
                               str(routing.get("lanes", "shared")),
                               bool(routing.get("stay_aboard", True)),
                               bool(routing.get("clear_spots", False)),
                               bool(routing.get("fewest_tiles", False)))
            if shards and routing else None,
            wave=WaveConfig(str(wave["adapter"]), int(wave["source"]), int(wave["chunks"]),
                            int(wave["link_capacity"]), int(wave["pulse_ticks"]),
                            int(wave["max_ticks"]), int(wave.get("start_tick", 0)))
            if wave else None,
            noise=NoiseConfig(str(noise["mode"]), float(noise["rate"])) if noise else None,
            energy=EnergyConfig(float(energy["half_life"]), float(energy["trail_half_life"]),
                                float(energy["gradient"])) if energy else None,
            memory=MemoryConfig(int(memory["capacity"])) if memory else None,
        )
