"""A CA grid held bit-packed between steps, so a tick costs one kernel call and no packing.

Large grids run on several threads without a barrier per generation: each thread advances a
private copy of its word columns plus a halo of words on each side. Errors from the
copy's artificial edge travel one cell per generation, so with a halo of one word (64 cells)
the owned columns stay exact for 64 generations; then the threads write back and start again.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.substrate import kernels
from cybermesh_cli.substrate.rules import CONWAY, Rule

CELL_BUDGET = 1 << 28  # cells of one dense grid (256 Mi: a few GiB of working arrays)
PARALLEL_MIN_CELLS = 512 * 512  # below this, thread hand-offs cost more than a core gives
HALO_WORDS = 1  # each halo word keeps the owned columns exact for 64 more generations

Cells = NDArray[np.uint8]


def check_cells(height: int, width: int, what: str) -> None:
    """Refuse a dense grid above :data:`CELL_BUDGET` before anything is allocated."""
    if height * width > CELL_BUDGET:
        raise InputError(f"{what}: {width} x {height} = {width * height:,} cells; the limit is "
                         f"{CELL_BUDGET:,} cells (about {CELL_BUDGET // 2**20} MiB a copy)")


class Grid:
    """A Life-like CA on a torus or with dead edges; cells are 0/1 uint8 when unpacked."""

    def __init__(
        self,
        cells: Cells,
        rule: Rule = CONWAY,
        torus: bool = True,
        threads: int | None = None,
    ) -> None:
        """Start from ``cells`` (shape (H, W)); ``threads`` None picks by grid size."""
        cells = np.ascontiguousarray(cells, dtype=np.uint8)
        if cells.ndim != 2 or 0 in cells.shape:
            raise InputError(f"grid: expected a non-empty 2-D array, got shape {cells.shape}")
        if cells.max(initial=0) > 1:
            raise InputError("grid: cells must be 0 or 1")
        self.height, self.width = cells.shape
        self.rule = rule
        self.torus = torus
        self.generation = 0
        self._a = kernels.pack(cells)
        self._b = np.empty_like(self._a)
        words = self._a.shape[0]
        if threads is None:
            threads = nb.get_num_threads() if cells.size >= PARALLEL_MIN_CELLS else 1
        # threads need whole words (a partial last word cannot wrap through a halo copy)
        whole = self.width % kernels.WORD == 0 and words >= 4 * HALO_WORDS
        self.threads = max(1, min(threads, words // (2 * HALO_WORDS))) if whole else 1
        self._run = kernels.stepper(rule.birth, rule.survive)
        self._pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None

    @classmethod
    def empty(cls, height: int, width: int, rule: Rule = CONWAY, torus: bool = True) -> Grid:
        """Return an all-dead grid."""
        return cls(np.zeros((height, width), np.uint8), rule, torus)

    def step(self, gens: int = 1) -> None:
        """Advance ``gens`` generations in one kernel call."""
        if gens <= 0:
            return
        if self._pool is None:
            if self._run(self._a, self._b, gens, self.width, self.torus, self.torus):
                self._a, self._b = self._b, self._a
        else:
            done = 0
            while done < gens:
                chunk = min(HALO_WORDS * kernels.WORD, gens - done)
                # the calling thread takes block 0 itself: one hand-off fewer per round
                others = [self._pool.submit(self._advance_block, b, chunk)
                          for b in range(1, self.threads)]
                first = self._advance_block(0, chunk)
                self._a = np.concatenate([first, *(f.result() for f in others)], axis=0)
                done += chunk
            self._b = np.empty_like(self._a)
        self.generation += gens

    def _advance_block(self, block: int, gens: int) -> kernels.Packed:
        """Advance this thread's word columns ``gens`` (<= 64 per halo word) on a haloed copy."""
        words = self._a.shape[0]
        first, stop = block * words // self.threads, (block + 1) * words // self.threads
        # a halo on each side, except at a dead edge, where the grid really ends
        left = HALO_WORDS if self.torus or first > 0 else 0
        right = HALO_WORDS if self.torus or stop < words else 0
        private = self._a[np.arange(first - left, stop + right) % words]
        scratch = np.empty_like(private)
        if self._run(private, scratch, gens, private.shape[0] * kernels.WORD, False,
                     self.torus):
            private = scratch
        owned: kernels.Packed = private[left:private.shape[0] - right]
        return owned

    @property
    def words(self) -> kernels.Packed:
        """The packed state (``words[x // 64, y]``, bit ``x % 64``); kernels edit it in place."""
        return self._a

    def copy(self) -> Grid:
        """Return a single-threaded copy of the current state, without unpacking it."""
        twin = Grid.__new__(Grid)
        twin.height, twin.width, twin.rule, twin.torus = (self.height, self.width, self.rule,
                                                          self.torus)
        twin.generation, twin.threads, twin._run, twin._pool = self.generation, 1, self._run, None
        twin._a, twin._b = self._a.copy(), np.empty_like(self._a)
        return twin

    @property
    def cells(self) -> Cells:
        """The current state as a (H, W) array of 0/1."""
        return kernels.unpack(self._a, self.width)

    @cells.setter
    def cells(self, cells: Cells) -> None:
        """Replace the state (same shape)."""
        if cells.shape != (self.height, self.width):
            raise InputError(f"grid: shape {cells.shape} != {(self.height, self.width)}")
        self._a = kernels.pack(np.ascontiguousarray(cells, dtype=np.uint8))

    @property
    def population(self) -> int:
        """Number of live cells."""
        return int(kernels.popcount(self._a))

    def digest(self) -> str:
        """Return a 128-bit hash of the state (the packed words), for replay checks."""
        return hashlib.blake2b(np.ascontiguousarray(self._a).data, digest_size=16).hexdigest()
