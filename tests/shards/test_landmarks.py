"""Routing at scale: the bisection layout, landmark blocks, lanes, and what bots clear."""

import numpy as np
import pytest

from cybermesh_cli.errors import InputError
from cybermesh_cli.shards import kernels
from cybermesh_cli.shards.landmarks import Landmarks
from cybermesh_cli.shards.layout import bisection_layout
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import CONWAY
from cybermesh_cli.topology import Mesh
from cybermesh_cli.world import World, WorldConfig
from cybermesh_cli.world.shards import HEADINGS, _launch_forms
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


def test_visiting_candidate_blocks_finds_the_right_bot_more_often(corpus):
    """The best key seen in three alike blocks beats the one block a mean points to.

    A shard's own topic key is about 0.88 like it, its family's others about 0.65: ``accept``
    0.8 ends the visits at its own. Wreckage cleared and relaunches allowed in both arms, so
    the longer journeys are not simply lost.
    """
    sturdy = {"layout": "bisection", "landmarks": 4, "clear_wreckage": True,
              "max_relaunches": 50}
    guided = [_right_bot_share(corpus, seed, **sturdy)[0] for seed in (1, 2)]
    visiting = [_right_bot_share(corpus, seed, **sturdy, candidates=3, accept=0.8)
                for seed in (1, 2)]
    assert min(share for share, _ in visiting) > max(guided) + 0.1, (guided, visiting)
    assert all(stretch >= 1.0 for _, stretch in visiting)


@pytest.mark.parametrize("size, side", [(20, 2), (12, 3), (20, 4), (20, 5)])
def test_a_blocks_centre_sees_the_whole_block(size, side):
    mesh = Mesh(size, size, neighbourhood=8)
    landmarks = Landmarks.build(mesh, _clustered(np.random.default_rng(24), mesh.size), side)
    for block in range(landmarks.count):
        row, col = divmod(block, size // side)
        members = [(row * side + i) * size + col * side + j
                   for i in range(side) for j in range(side)]
        centre = landmarks.centre(block)
        assert centre in members
        assert max(mesh.hops_between(centre, m) for m in members) == side // 2


def test_ranked_blocks_are_the_most_alike_first(corpus):
    mesh = Mesh(16, 16, neighbourhood=8)
    landmarks = Landmarks.build(mesh, corpus[0], 4)
    for vector in corpus[1][:20]:
        ranked = landmarks.ranked(vector, 5)
        scores = landmarks.keys @ vector
        assert ranked[0] == landmarks.best(vector)
        assert list(scores[ranked]) == sorted(scores, reverse=True)[:5]


@pytest.mark.parametrize("routing, message", [
    ({"candidates": 3}, "needs routing.landmarks"),
    ({"candidates": 3, "landmarks": 8}, "wider than a horizon of 2"),
])
def test_candidates_need_blocks_their_centre_sees(routing, message):
    with pytest.raises(InputError, match=message):
        WorldConfig.from_block({**BLOCK, "routing": {**BLOCK["routing"], **routing}})


def test_held_texts_draw_shards_only_of_topics_some_bot_holds(corpus):
    """256 bots over 64 of 256 topics: 'held' keeps every shard's right bot well defined."""
    keys, shards = corpus
    labels = np.repeat(np.arange(len(keys)), 4)
    small = {**BLOCK, "mesh": {"rows": 8, "cols": 8, "tile": 16}}
    drawn = {}
    for texts in ("all", "held"):
        config = WorldConfig.from_block({**small, "shards": {**small["shards"], "texts": texts}})
        world = World(config, 5, keys=keys, vectors=shards, labels=labels)
        events = [e for e in world.run(400) if e.type == "shard.injected"]
        drawn[texts] = np.isin(labels[[e.payload["text"] for e in events]], world.bot_topics)
    assert drawn["held"].all() and len(drawn["held"]) > 20
    assert drawn["all"].mean() < 0.5
    config = WorldConfig.from_block({**small, "shards": {**small["shards"], "texts": "held"}})
    with pytest.raises(InputError, match="labels"):
        World(config, 5, keys=keys, vectors=shards)


def _lane_cells(traffic, step, origin):
    """Cells a carrier launched ``step``-wards from any spot of a tile may fly through."""
    forms = _launch_forms(CONWAY, 16, traffic)
    heading = HEADINGS.index(step)
    return {(origin[0] + top + dy, origin[1] + left + dx + k)
            for top, left in forms.spots[heading].tolist()
            for dy, dx, width in forms.lanes[heading].tolist() for k in range(width)}


@pytest.mark.parametrize("step", [(0, 1), (1, 0), (1, 1), (1, -1)])
def test_keeping_right_parts_the_lanes_of_two_bots_sending_to_each_other(step):
    """Shared lanes of a bot and its neighbour meet head on; kept to the right they never do."""
    for traffic, meet in (("shared", True), ("keep_right", False)):
        there = _lane_cells(traffic, step, (0, 0))
        back = _lane_cells(traffic, (-step[0], -step[1]), (16 * step[0], 16 * step[1]))
        assert bool(there & back) is meet, traffic


def test_lanes_must_be_shared_or_keep_right():
    with pytest.raises(InputError, match="routing.lanes: 'left'"):
        WorldConfig.from_block({**BLOCK, "routing": {**BLOCK["routing"], "lanes": "left"}})


def test_shards_that_do_not_stay_aboard_leave_a_carrier_where_it_was_sent(corpus):
    """Without ``stay_aboard`` a ride ends by the tile it was sent to; with it, rides go further.

    A ride enters at most two tiles (a side tile near a corner, then the tile it was sent to)
    before its shard is caught, delivered or lost.
    """
    longest = {}
    for stay in (True, False):
        config = WorldConfig.from_block({**BLOCK, "routing": {**BLOCK["routing"],
                                                              "stay_aboard": stay}})
        hops: dict[int, int] = {}  # shard -> tiles entered on its current ride
        rides = []
        for event in World(config, 3, keys=corpus[0], vectors=corpus[1]).run(400):
            if event.type == "carrier.launched":
                hops.update(dict.fromkeys(event.payload["shards"], 0))
            elif event.type == "shard.hop":
                hops[event.payload["shard"]] += 1
            elif event.type in ("shard.caught", "shard.delivered", "shard.handed",
                                "shard.dropped") and event.payload["shard"] in hops:
                rides.append(hops.pop(event.payload["shard"]))
        assert len(rides) > 50, stay
        longest[stay] = max(rides)
    assert longest[False] <= 2 < longest[True], longest


def test_a_bot_blocked_long_enough_clears_its_first_spot():
    """No spot free: the group waits until ``clear_after``, then erases spot 0 and launches."""
    forms = _launch_forms(CONWAY, 16, "shared")
    heading, bot, cols = HEADINGS.index((0, 1)), 4, 3
    for clear_after, launched_at in ((128, 128), (0, None)):
        cells = np.zeros((48, 48), np.uint8)
        origin = (bot // cols * 16, bot % cols * 16)
        for top, left in forms.spots[heading].tolist():  # a block on every spot
            cells[origin[0] + top:origin[0] + top + 2, origin[1] + left:origin[1] + left + 2] = 1
        grid = Grid(cells)
        before = grid.cells
        blocked = np.full((9, 9), kernels.EMPTY, np.int64)
        blockers = np.full((9, 9, forms.spots.shape[1]), kernels.EMPTY, np.int8)
        first = None
        for tick in range(300):
            chosen = kernels.launch(grid.words, 48, 48, np.array([bot * 9 + heading]), cols, 16,
                                    forms.spots, forms.shapes, forms.dims, forms.lanes, blocked,
                                    blockers, tick, 64, clear_after)
            if chosen[0] >= 0:
                first = tick, int(chosen[0])
                break
        assert first == (None if launched_at is None else (launched_at, 0)), clear_after
        if launched_at is None:
            continue
        top, left = (o + s for o, s in zip(origin, forms.spots[heading, 0].tolist(), strict=True))
        h, w = forms.dims[heading].tolist()
        after, box = grid.cells, np.zeros((48, 48), np.bool_)
        box[top - 2:top + h + 2, left - 2:left + w + 2] = True
        assert np.array_equal(after[~box], before[~box])  # nothing outside the spot touched
        assert np.array_equal(after[top:top + h, left:left + w], forms.shapes[heading, :h, :w])
        assert after[box].sum() == forms.shapes[heading].sum()  # the margin is empty


def test_a_world_with_fewest_tiles_gossips_the_straightest_routes(corpus):
    """``routing.fewest_tiles`` reaches the world's tables, and only with it are they straight."""
    from cybermesh_cli.shards.routing import RoutingTables

    for straight in (True, False):
        config = WorldConfig.from_block({**BLOCK, "routing": {**BLOCK["routing"],
                                                              "fewest_tiles": straight}})
        world = World(config, 3, keys=corpus[0], vectors=corpus[1])
        assert world.shards.tables.fewest_tiles is straight
        assert world.shards.tables.tables == RoutingTables(
            world.mesh, world.shards.keys, 2, straight).tables
