"""Numba kernels for Life-like rules on bit-packed grids.

Layout ("word columns"): 64 cells of a row are packed into one uint64, least significant bit
leftmost, and word k of every row is stored contiguously: ``packed[k, y]``. The inner loops then
run down the rows of one word column and vectorise at any grid height. Each row's horizontal
neighbour sums are computed once, combined vertically with full-adder logic, and the rule is
applied as a multiplexer tree over the 4-bit neighbour count, so any Life-like rule runs in one
branch-free kernel. Bits beyond the grid's width are kept at zero.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol, cast

import numba as nb
import numpy as np
from numpy.typing import NDArray

WORD = 64
ONE = np.uint64(1)
ZERO = np.uint64(0)

Packed = NDArray[np.uint64]


@nb.njit(cache=True, inline="always")
def _mux(select: np.uint64, when_set: np.uint64, when_clear: np.uint64) -> np.uint64:
    return when_clear ^ (select & (when_set ^ when_clear))


@nb.njit(cache=True, inline="always")
def _leaf(alive: np.uint64, birth: np.uint64, survive: np.uint64, n: int) -> np.uint64:
    born = ZERO - ((birth >> np.uint64(n)) & ONE)
    kept = ZERO - ((survive >> np.uint64(n)) & ONE)
    return (alive & kept) | (~alive & born)


@nb.njit(cache=True, inline="always")
def _apply_rule(
    alive: np.uint64, r0: np.uint64, r1: np.uint64, r2: np.uint64, r3: np.uint64,
    birth: np.uint64, survive: np.uint64,
) -> np.uint64:
    f0 = _leaf(alive, birth, survive, 0)
    f1 = _leaf(alive, birth, survive, 1)
    f2 = _leaf(alive, birth, survive, 2)
    f3 = _leaf(alive, birth, survive, 3)
    f4 = _leaf(alive, birth, survive, 4)
    f5 = _leaf(alive, birth, survive, 5)
    f6 = _leaf(alive, birth, survive, 6)
    f7 = _leaf(alive, birth, survive, 7)
    f8 = _leaf(alive, birth, survive, 8)
    q0 = _mux(r1, _mux(r0, f3, f2), _mux(r0, f1, f0))
    q1 = _mux(r1, _mux(r0, f7, f6), _mux(r0, f5, f4))
    return _mux(r3, f8, _mux(r2, q1, q0))


CHUNK = 256  # rows per pass: keeps the three scratch rows in L1 cache


@nb.njit(cache=True, inline="always")
def _pairs(
    c: np.uint64, word_left: np.uint64, word_right: np.uint64, left_shift: np.uint64,
    left_on: np.uint64, right_pos: np.uint64, right_on: np.uint64,
) -> tuple[np.uint64, np.uint64, np.uint64]:
    """Left+right neighbour sum of the 64 cells of word ``c`` (two bit planes), and ``c``."""
    left = (c << ONE) | ((word_left >> left_shift) & left_on)
    right = (c >> ONE) | ((word_right & right_on) << right_pos)
    return left ^ right, left & right, c


@nb.njit(cache=True, inline="always")
def _sources(k: int, words: int, width: int, torus_x: bool) -> tuple[
    int, np.uint64, np.uint64, int, np.uint64, np.uint64, np.uint64
]:
    """Where the cells left of bit 0 and right of the last bit of word ``k`` come from."""
    last_bit = np.uint64((width - 1) % WORD)
    if k > 0:
        left_k, left_shift, left_on = k - 1, np.uint64(63), ONE
    else:
        left_k, left_shift, left_on = words - 1, last_bit, ONE if torus_x else ZERO
    if k < words - 1:
        right_k, right_pos, right_on, keep = k + 1, np.uint64(63), ONE, ~ZERO
    else:
        right_k, right_pos = 0, last_bit
        right_on = ONE if torus_x else ZERO
        keep = (~ZERO) >> np.uint64(WORD - 1 - (width - 1) % WORD)
    return left_k, left_shift, left_on, right_k, right_pos, right_on, keep


@nb.njit(cache=True, inline="always")
def _column(
    src: Packed, dst: Packed, k: int, width: int, torus_x: bool, torus_y: bool,
    birth: np.uint64, survive: np.uint64,
    pair_lo: Packed, pair_hi: Packed, centre: Packed,
) -> None:
    """Advance word column ``k`` by one generation from ``src`` into ``dst``, CHUNK rows a pass."""
    words, height = src.shape
    left_k, left_shift, left_on, right_k, right_pos, right_on, keep = _sources(
        k, words, width, torus_x)
    for start in range(0, height, CHUNK):
        rows = min(CHUNK, height - start)
        # scratch index i holds row start - 1 + i; the two end rows may wrap or be dead
        for i in (0, rows + 1):
            y = start - 1 + i
            inside = 0 <= y < height
            if inside or torus_y:
                y %= height
                pair_lo[i], pair_hi[i], centre[i] = _pairs(
                    src[k, y], src[left_k, y], src[right_k, y], left_shift, left_on,
                    right_pos, right_on)
            else:
                pair_lo[i] = pair_hi[i] = centre[i] = ZERO
        # 1-D views with non-negative indices let LLVM vectorise with plain loads and stores
        own, lefts, rights = (src[k, start:start + rows], src[left_k, start:start + rows],
                              src[right_k, start:start + rows])
        out = dst[k, start:start + rows]
        for i in range(rows):
            pair_lo[i + 1], pair_hi[i + 1], centre[i + 1] = _pairs(
                own[i], lefts[i], rights[i], left_shift, left_on, right_pos, right_on)
        for i in range(rows):
            # rows above and below: 3-cell sums (pair + centre); own row: the pair only
            cu, cd = centre[i], centre[i + 2]
            u0 = pair_lo[i] ^ cu
            u1 = pair_hi[i] | (pair_lo[i] & cu)
            d0 = pair_lo[i + 2] ^ cd
            d1 = pair_hi[i + 2] | (pair_lo[i + 2] & cd)
            m0, m1 = pair_lo[i + 1], pair_hi[i + 1]
            s0 = u0 ^ d0
            c0 = u0 & d0
            t1 = u1 ^ d1 ^ c0
            t2 = (u1 & d1) | (c0 & (u1 ^ d1))
            r0 = s0 ^ m0
            c1 = s0 & m0
            r1 = t1 ^ m1 ^ c1
            c2 = (t1 & m1) | (c1 & (t1 ^ m1))
            r2 = t2 ^ c2
            r3 = t2 & c2
            out[i] = _apply_rule(centre[i + 1], r0, r1, r2, r3, birth, survive) & keep


@nb.njit(cache=True, inline="always")
def _run(
    a: Packed, b: Packed, gens: int, width: int, torus_x: bool, torus_y: bool,
    birth: np.uint64, survive: np.uint64,
) -> bool:
    words, height = a.shape
    pair_lo = np.empty(CHUNK + 2, np.uint64)
    pair_hi = np.empty(CHUNK + 2, np.uint64)
    centre = np.empty(CHUNK + 2, np.uint64)
    for g in range(gens):
        src, dst = (a, b) if g % 2 == 0 else (b, a)
        for k in range(words):
            _column(src, dst, k, width, torus_x, torus_y, birth, survive, pair_lo, pair_hi,
                    centre)
    return gens % 2 == 1


class Stepper(Protocol):
    """A compiled kernel for one rule: ``(a, b, gens, width, torus_x, torus_y) -> swapped``."""

    def __call__(
        self, a: Packed, b: Packed, gens: int, width: int, torus_x: bool, torus_y: bool
    ) -> bool:
        """Advance ``gens`` generations from ``a`` (``b`` is scratch); True if ``b`` has them."""
        ...


@cache
def stepper(birth: int, survive: int) -> Stepper:
    """Compile (or load from Numba's cache) the kernel for one rule.

    The rule's masks are closure constants, so LLVM folds the multiplexer tree down to the few
    instructions that rule needs (for B3/S23 the tree disappears into the adder's logic).
    """
    birth_bits, survive_bits = np.uint64(birth), np.uint64(survive)

    @nb.njit(cache=True, nogil=True)
    def run(a: Packed, b: Packed, gens: int, width: int, torus_x: bool, torus_y: bool) -> bool:
        return _run(a, b, gens, width, torus_x, torus_y, birth_bits, survive_bits)

    return cast(Stepper, run)


@nb.njit(cache=True)
def pack(cells: NDArray[np.uint8]) -> Packed:
    """Pack a 0/1 grid of shape (H, W) into word columns of shape (ceil(W/64), H)."""
    height, width = cells.shape
    words = (width + WORD - 1) // WORD
    packed = np.zeros((words, height), np.uint64)
    for y in range(height):
        for x in range(width):
            if cells[y, x]:
                packed[x // WORD, y] |= ONE << np.uint64(x % WORD)
    return packed


@nb.njit(cache=True)
def unpack(packed: Packed, width: int) -> NDArray[np.uint8]:
    """Inverse of :func:`pack`."""
    height = packed.shape[1]
    cells = np.zeros((height, width), np.uint8)
    for y in range(height):
        for x in range(width):
            cells[y, x] = (packed[x // WORD, y] >> np.uint64(x % WORD)) & ONE
    return cells


@nb.njit(cache=True)
def popcount(packed: Packed) -> int:
    """Count the set bits (live cells)."""
    total = 0
    for value in packed.ravel():
        v = value
        while v:
            v &= v - ONE
            total += 1
    return total
