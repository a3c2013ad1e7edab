"""Mesh and routing: neighbours, hop distances, gossip tables, outcomes, local knowledge."""

import numpy as np
import pytest

from cybermesh_cli.topology import Mesh
from cybermesh_cli.shards.layout import semantic_layout
from cybermesh_cli.shards.routing import (
    Confidence,
    RoutingTables,
    SimilarityMemo,
    best_known_for,
    oracle_targets,
    route,
)


def _unit(rows):
    rows = np.asarray(rows, np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_neighbours_and_hops_on_grid_and_torus():
    grid = Mesh(3, 4, torus=False)
    assert grid.neighbours[0] == (1, 4)
    assert grid.hops[0, 11] == 5
    torus = Mesh(3, 4)
    assert sorted(torus.neighbours[0]) == [1, 3, 4, 8]
    assert torus.hops[0, 11] == 2
    assert Mesh(5, 5, neighbourhood=8).hops[0, 12] == 2


@pytest.mark.parametrize("horizon", [0, 1, 2, 5])
def test_gossip_learns_exactly_the_bots_within_the_horizon(horizon):
    mesh = Mesh(5, 5, torus=False)
    keys = _unit(np.random.default_rng(0).normal(size=(25, 8)))
    tables = RoutingTables(mesh, keys, horizon)
    for bot in range(25):
        within = {t for t in range(25) if mesh.hops[bot, t] <= horizon}
        assert set(tables.tables[bot]) == within
        for target, (hops, next_hop) in tables.tables[bot].items():
            assert hops == mesh.hops[bot, target]
            if target != bot:  # the next hop is a neighbour one step closer
                assert next_hop in mesh.neighbours[bot]
                assert mesh.hops[next_hop, target] == hops - 1


def _tiles_along(mesh, tables, bot, target):
    """Follow the tables' next hops from ``bot`` to ``target``; count rows plus columns crossed."""
    tiles = 0
    while bot != target:
        step = tables.tables[bot][target][1]
        (r, c), (nr, nc) = mesh.position(bot), mesh.position(step)
        tiles += min(abs(r - nr), mesh.rows - abs(r - nr)) + min(abs(c - nc),
                                                                 mesh.cols - abs(c - nc))
        bot = step
    return tiles


@pytest.mark.parametrize("torus", [True, False])
def test_fewest_tiles_keeps_every_route_shortest_and_straightest(torus):
    mesh = Mesh(12, 12, neighbourhood=8, torus=torus)
    keys = _unit(np.random.default_rng(2).normal(size=(mesh.size, 8)))
    first, straight = RoutingTables(mesh, keys, 4), RoutingTables(mesh, keys, 4, True)
    zigzags = 0
    for bot in range(mesh.size):
        assert {t: h for t, (h, _) in straight.tables[bot].items()} == \
            {t: h for t, (h, _) in first.tables[bot].items()}  # the same hops, known as far
        for target in straight.tables[bot]:
            rows_and_cols = mesh.tiles_between(bot, target)
            assert _tiles_along(mesh, straight, bot, target) == rows_and_cols
            zigzags += _tiles_along(mesh, first, bot, target) > rows_and_cols
    assert zigzags > mesh.size  # the first-heard next hop zig-zags: what the option is for
    assert straight.messages == first.messages


def test_full_knowledge_delivers_every_shard_to_its_oracle_on_a_shortest_path():
    mesh = Mesh(5, 5)
    rng = np.random.default_rng(1)
    keys = _unit(rng.normal(size=(25, 16)))
    shards = _unit(rng.normal(size=(200, 16)))
    tables = RoutingTables(mesh, keys, horizon=4)
    for shard, target in zip(shards, oracle_targets(keys, shards), strict=True):
        origin = int(rng.integers(0, 25))
        result = route(tables, shard, origin, max_hops=10)
        assert result.outcome == "delivered" and result.at == target
        assert result.hops == mesh.hops[origin, target]


def test_local_knowledge_stops_at_a_local_maximum():
    # a line of 5 bots; the shard matches bot 4 best, bot 1 second best, bot 2 worst
    mesh = Mesh(1, 5, torus=False)
    keys = _unit([[0.1, 1, 0], [0.8, 1, 0], [-1, 0.2, 0], [-1, 0.1, 0], [1, 0, 0]])
    shard = _unit([[1, 0, 0]])[0]
    assert oracle_targets(keys, shard[None])[0] == 4
    short_sighted = route(RoutingTables(mesh, keys, horizon=1), shard, 0, max_hops=10)
    assert (short_sighted.outcome, short_sighted.at) == ("delivered", 1)
    far_sighted = route(RoutingTables(mesh, keys, horizon=4), shard, 0, max_hops=10)
    assert (far_sighted.at, far_sighted.hops) == (4, 4)


def test_ttl_expires_and_visited_routes_drop():
    mesh = Mesh(1, 6, torus=False)
    keys = _unit(np.eye(6, dtype=np.float32) + 0.01)
    tables = RoutingTables(mesh, keys, horizon=6)
    expired = route(tables, keys[5], 0, max_hops=3)
    assert expired.outcome == "expired" and expired.hops == 3 and "ttl" in expired.reason
    # a table whose only route points back to where the shard came from
    tables.tables[1] = {1: (0, 1), 5: (4, 0)}
    dropped = route(tables, keys[5], 0, max_hops=10)
    assert dropped.outcome == "dropped" and dropped.path == (0, 1)


def test_an_unconfident_shard_explores_past_its_horizon_and_finds_the_target():
    mesh = Mesh(3, 3)  # bot 8 is two hops from bot 0: beyond a horizon of 1
    keys = _unit(np.eye(9, 16)[:, :16] + 0.01)
    shard = _unit([0.3 * keys[8] + 0.25 * keys[0] + 0.05 * keys[5]])[0]
    tables = RoutingTables(mesh, keys, 1)
    assert route(tables, shard, 0, 10).at == 0  # the best bot 0 knows is itself
    assert route(tables, shard, 0, 10, Confidence(accept=0.99, margin=1.0)).at == 8
    sure = route(tables, shard, 0, 10, Confidence(accept=0.99, margin=0.5))
    assert sure.at == 0 and sure.hops == 0  # confident at once: no exploring hop


def test_semantic_layout_puts_similar_keys_next_to_each_other():
    mesh = Mesh(5, 5)
    keys = _unit(np.random.default_rng(3).normal(size=(25, 8)))
    order = semantic_layout(mesh, keys, np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(25))

    def linked(o):
        return sum(float(keys[o[a]] @ keys[o[b]]) for a in range(25) for b in mesh.neighbours[a])

    assert linked(order) > linked(np.arange(25)) + 1.0


@pytest.mark.parametrize("budget_texts", [1, 3, 1000])
def test_similarity_memo_answers_as_best_known_for_bit_for_bit(budget_texts):
    """Batches with repeated texts and bots, rows reused mid-batch when the budget is small."""
    rng = np.random.default_rng(7)
    mesh = Mesh(9, 9, neighbourhood=8)
    keys = _unit(rng.normal(size=(mesh.size, 64)))
    vectors = _unit(rng.normal(size=(40, 64)))
    tables = RoutingTables(mesh, keys, 2)
    memo = SimilarityMemo(tables, vectors, budget_texts * 8 * mesh.size)
    for _ in range(6):
        texts = rng.integers(0, len(vectors), 50).tolist()
        bots = rng.integers(0, mesh.size, 50).tolist()
        expected = [best_known_for(tables, vectors[t], b) for t, b in zip(texts, bots)]
        assert memo.best_known(texts, bots) == expected
    assert len(set(expected)) > 5  # the answers depend on the pair, so a mix-up would show
