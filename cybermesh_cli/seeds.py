"""One root seed a run, and named children of it: every consumer draws its own stream.

numpy's positional children collide across call sites (``SeedSequence(s).spawn(1)[0]`` is
``spawn(3)[0]``), so a child here is named: its spawn key is its parent's plus a 128-bit hash of
the name. Different paths give independent streams; the same path gives the same stream in every
run with that root. This is the only module that builds generators (ruff's TID251 enforces it).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

SEEDING_SCHEME = 2  # 1: positional spawns (cybermesh 0.1); 2: named children. In every manifest.

def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=16).digest(), "big")


@dataclass(frozen=True)
class Seeds:
    """A node of a run's seed tree: ``child(name)`` for a consumer, ``rng()`` for its stream."""

    sequence: np.random.SeedSequence
    path: tuple[str, ...] = ()
    ledger: Counter[str] = field(default_factory=Counter, compare=False, repr=False)

    @classmethod
    def of(cls, seed: SeedLike) -> Seeds:
        """Return the tree rooted at ``seed`` (a tree is returned as it is)."""
        if isinstance(seed, Seeds):
            return seed
        if isinstance(seed, np.random.SeedSequence):
            return cls(seed)
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise TypeError(f"a seed is a non-negative int, a SeedSequence or Seeds, not {seed!r}")
        return cls(np.random.SeedSequence(int(seed)))

    @property
    def name(self) -> str:
        """The path from the root, ``a/b/c`` (empty at the root)."""
        return "/".join(self.path)

    def child(self, name: str) -> Seeds:
        """Return child ``name``: the same stream for the same path, independent of others."""
        if not name or "/" in name:
            raise ValueError(f"a seed child's name is a non-empty word without '/': {name!r}")
        parent = self.sequence
        sequence = np.random.SeedSequence(parent.entropy,
                                          spawn_key=(*parent.spawn_key, _name_key(name)),
                                          pool_size=parent.pool_size)
        return Seeds(sequence, (*self.path, name), self.ledger)

    def rng(self) -> np.random.Generator:
        """Return a generator on this node's stream; the ledger counts draws by path."""
        self.ledger[self.name] += 1
        return np.random.Generator(np.random.PCG64(self.sequence))

    def integer(self) -> int:
        """Return a 63-bit integer from this node's stream, for libraries that take one."""
        self.ledger[self.name] += 1
        words = self.sequence.generate_state(1, np.uint64)
        return int(words[0] >> np.uint64(1))

    def seed_torch(self) -> None:
        """Seed torch's global generator from this node (torch has no generator to pass)."""
        import torch

        torch.manual_seed(self.integer())

    def drawn(self) -> dict[str, int]:
        """Every path drawn from so far in this tree, with how many times."""
        return dict(self.ledger)


SeedLike = int | np.random.SeedSequence | Seeds  # what a World or a phase accepts as its root


def fixed_rng(label: str) -> np.random.Generator:
    """Return a generator for figures that must not depend on any run (a report's bootstrap)."""
    return Seeds.of(0).child(label).rng()
