"""Routing at scale: the bisection layout, landmark blocks, and wreckage cleared by bots."""

import numpy as np
import pytest

from cybermesh_cli.errors import InputError
from cybermesh_cli.shards.landmarks import Landmarks
from cybermesh_cli.shards.layout import bisection_layout
from cybermesh_cli.topology import Mesh
from cybermesh_cli.world import World, WorldConfig
from cybermesh_cli.world.tally import Tally

BLOCK = {"rule": "B3/S23", "mesh": {"rows": 16, "cols": 16, "tile": 16},
         "routing": {"horizon": 2, "max_relaunches": 5},
         "shards": {"every": 50, "per_bot": 0.1},
         "soup": {"fraction": 0.2, "size": 8, "density": 0.35}}


def _clustered(rng, count, clusters=16, dim=32):
    centres = rng.standard_normal((clusters, dim))
    keys = centres[rng.integers(0, clusters, count)] + 0.4 * rng.standard_normal((count, dim))
    return (keys / np.linalg.norm(keys, axis=1, keepdims=True)).astype(np.float32)


def _neighbour_similarity(mesh, keys):
    return np.mean([keys[a] @ keys[b] for a in range(mesh.size) for b in mesh.neighbours[a]])


@pytest.mark.parametrize("rows, cols", [(16, 16), (8, 12), (5, 7), (1, 64)])
def test_bisection_lays_alike_keys_side_by_side(rows, cols):
    rng = np.random.default_rng(21)
    mesh = Mesh(rows, cols, neighbourhood=8)
    keys = _clustered(rng, mesh.size)
    order = bisection_layout(mesh, keys)
    assert sorted(order.tolist()) == list(range(mesh.size))
    laid, scattered = (_neighbour_similarity(mesh, keys[order]),
                       _neighbour_similarity(mesh, keys[rng.permutation(mesh.size)]))
    assert laid > scattered + 0.2, (laid, scattered)


@pytest.mark.parametrize("neighbourhood, torus", [(8, True), (4, True), (8, False)])
def test_a_landmarks_nearest_bot_is_the_blocks_nearest(neighbourhood, torus):
    rng = np.random.default_rng(22)
    mesh = Mesh(12, 8, neighbourhood=neighbourhood, torus=torus)
    keys = _clustered(rng, mesh.size)
    landmarks = Landmarks.build(mesh, keys, 4)
    assert landmarks.count == 6
    for block in range(landmarks.count):
        row, col = divmod(block, 2)
        members = [(row * 4 + i) * 8 + col * 4 + j for i in range(4) for j in range(4)]
        mean = keys[members].mean(axis=0)
        assert np.allclose(landmarks.keys[block], mean / np.linalg.norm(mean), atol=1e-6)
        for bot in range(mesh.size):
            near = landmarks.nearest(bot, block)
            assert near in members
            assert mesh.hops_between(bot, near) == min(mesh.hops_between(bot, m)
                                                       for m in members)


@pytest.fixture(scope="module")
def corpus():
    """Topic keys in families (as fields of knowledge are), four noisy shard texts a topic."""
    rng = np.random.default_rng(23)
    families = rng.standard_normal((16, 48))
    keys = families[np.repeat(np.arange(16), 16)] + 0.6 * rng.standard_normal((256, 48))
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    shards = np.repeat(keys, 4, axis=0) + 0.08 * rng.standard_normal((1024, 48))
    shards /= np.linalg.norm(shards, axis=1, keepdims=True)
    return keys.astype(np.float32), shards.astype(np.float32)


def _right_bot_share(corpus, seed, **routing):
    config = WorldConfig.from_block({**BLOCK, "routing": {**BLOCK["routing"], **routing}})
    world = World(config, seed, keys=corpus[0], vectors=corpus[1])
    tally = Tally(mesh=world.mesh)
    world.add_observer(tally)
    world.run(700)
    tally.finish(world)
    figures = tally.delivery(world.tick, 300)
    assert sum(figures["ends"].values()) == figures["judged"] > 50
    return figures["right_bot"]["count"] / figures["judged"], figures["stretch"]


def test_landmarks_bring_shards_to_the_right_bot_far_more_often(corpus):
    """16x16 with a horizon of 2: a shard rarely sees its bot; the landmarks show the way."""
    plain = [_right_bot_share(corpus, seed)[0] for seed in (1, 2)]
    guided = [_right_bot_share(corpus, seed, layout="bisection", landmarks=4)
              for seed in (1, 2)]
    assert min(share for share, _ in guided) > max(plain) + 0.1, (plain, guided)
    assert all(stretch >= 1.0 for _, stretch in guided)


def test_bots_clear_the_wreckage_of_lost_carriers(corpus):
    config = WorldConfig.from_block({**BLOCK, "routing": {**BLOCK["routing"],
                                                          "clear_wreckage": True}})
    world = World(config, 3, keys=corpus[0], vectors=corpus[1])
    cleared = []

    def look(world, events):
        launched = [e.payload["at"] for e in events if e.type == "carrier.launched"]
        for ride in world.shards.rides:
            if not ride.lost:
                continue
            y, x = (round(v) for v in ride.carrier.centroid)
            if any(abs(ly - y) < 12 and abs(lx - x) < 12 for ly, lx in launched):
                continue  # a new carrier may have been launched into the cleared box
            box = world.cells[np.ix_(np.arange(y - 5, y + 6) % world.tiling.shape[0],
                                     np.arange(x - 5, x + 6) % world.tiling.shape[1])]
            cleared.append(not box.any())

    world.add_observer(look)
    world.run(600)
    assert len(cleared) > 10 and all(cleared)


def test_landmark_blocks_must_tile_the_mesh(corpus):
    with pytest.raises(InputError, match="landmarks"):
        WorldConfig.from_block({**BLOCK, "routing": {**BLOCK["routing"], "landmarks": 5}})
