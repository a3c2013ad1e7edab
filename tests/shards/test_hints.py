"""Energy-trail hints: the search's bounds, trails that lead, and trails that decay."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cybermesh_cli.shards.hints import search
from cybermesh_cli.substrate.energy import Trails
from cybermesh_cli.topology import Mesh
from cybermesh_cli.shards.routing import RoutingTables

KEYS = np.eye(25, dtype=np.float32)


@settings(max_examples=200, deadline=None)
@given(goal=st.integers(0, 24), origin=st.integers(0, 24), seed=st.integers(0, 2**32 - 1),
       horizon=st.integers(0, 2), torus=st.booleans(), trails=st.booleans())
def test_search_always_delivers_within_its_bounds(goal, origin, seed, horizon, torus, trails):
    mesh = Mesh(5, 5, torus=torus)
    tables = RoutingTables(mesh, KEYS, horizon)
    rng = np.random.default_rng(seed)
    field = Trails(mesh.size, 10, 0.5) if trails else None
    if field is not None:  # an arbitrary, misleading field
        field.set_energy(rng.random(25))
    found, path = search(tables, goal, origin, rng, field, max_hops=1000)
    assert found.delivered and found.moves[-1] == goal
    assert found.hops <= 2 * (mesh.size - 1)
    degree = max(len(n) for n in mesh.neighbours)
    assert found.most_entries <= degree + 1
    assert all(b in mesh.neighbours[a] for a, b in zip(found.moves, found.moves[1:]))
    assert path[0] == origin and path[-1] == goal and len(set(path)) == len(path)


def test_a_shard_follows_a_trail_straight_to_its_goal():
    mesh = Mesh(5, 5, torus=False)
    tables = RoutingTables(mesh, KEYS, 0)
    trails = Trails(mesh.size, 100, 0.5)
    trail = [0, 1, 2, 3, 4, 9, 14, 19, 24]  # along the top row, then down the right edge
    trails.deposit(trail)
    assert list(trails.energy[trail]) == sorted(trails.energy[trail])  # rises to the goal
    found, _ = search(tables, 24, 0, np.random.default_rng(0), trails, 100)
    assert found.moves == tuple(trail)
    lengths = [search(tables, 24, 0, np.random.default_rng(s), None, 100)[0].hops
               for s in range(50)]
    assert np.mean(lengths) > len(trail) - 1


def test_trails_halve_every_half_life():
    trails = Trails(4, half_life=8, gradient=1.0)
    trails.deposit([3])
    for _ in range(8):
        trails.tick()
    assert np.isclose(trails.energy[3], 0.5, rtol=1e-5)
    for _ in range(16):
        trails.tick()
    assert np.isclose(trails.energy[3], 0.125, rtol=1e-5)


def test_a_search_that_hits_its_ttl_is_not_delivered():
    tables = RoutingTables(Mesh(5, 5), KEYS, 0)
    found, _ = search(tables, 12, 0, np.random.default_rng(1), None, max_hops=2)
    assert not found.delivered and found.hops == 2
