"""The LoRA wave: chunks, reassembly, and a front that moves one hop per chunk round."""

import math

from cybermesh_cli.pulses.wave import digest, front_speed, join, split, spread
from cybermesh_cli.topology import Mesh

DATA = bytes(range(256)) * 37


def test_chunks_reassemble_and_a_corrupt_chunk_is_rejected():
    chunks = split(DATA, 7)
    assert len(chunks) == 7 and b"".join(c.data for c in chunks) == DATA
    held = {c.index: c for c in chunks}
    assert join(held, 7, digest(DATA)) == DATA
    assert join({i: c for i, c in held.items() if i != 3}, 7, digest(DATA)) is None
    held[3] = type(held[3])(3, b"x" + held[3].data[1:])
    assert join(held, 7, digest(DATA)) is None


def test_wave_reaches_every_bot_of_5x5_one_hop_per_round():
    mesh, source, chunks, capacity = Mesh(5, 5), 12, 8, 3
    ticks = list(spread(mesh, source, DATA, chunks, capacity, max_ticks=500))
    completed = {b: t.tick for t in ticks for b in t.newly_complete}
    assert sorted(completed) == list(range(25))
    rounds = math.ceil(chunks / capacity)
    assert all(completed[b] == rounds * mesh.hops[source, b] for b in completed)
    sizes = [len(t.complete) for t in ticks]
    assert sizes == sorted(sizes) and sizes[-1] == 25
    assert math.isclose(front_speed(mesh, source, completed), 1 / rounds, rel_tol=1e-12)


def test_wave_stops_at_max_ticks_without_covering():
    ticks = list(spread(Mesh(5, 5), 0, DATA, 8, 1, max_ticks=10))
    assert len(ticks[-1].complete) < 25 and ticks[-1].tick == 10
