"""The main job's measurements can fail: delivery, tracking against ghosts, the hop recount."""

import numpy as np

from cybermesh_cli.criteria import load_thresholds
from cybermesh_cli.shards.carriers import Tracker, carrier_form
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import CONWAY
from cybermesh_cli.world import World, WorldConfig
from cybermesh_cli.world.config import NoiseConfig, ShardConfig
from cybermesh_cli.world.shards import Ride
from cybermesh_cli.world.state import Leg, ShardState
from cybermesh_cli.world.tally import TRACK_LIMIT, Tally, hop_agreement

BARS = load_thresholds()["phase_3_integration"]["delivery"]
BARS_TRACK = load_thresholds()["phase_3_integration"]["ca_shard_tracking"]["max_distance"]


def _shard(ident: int, injected: int, status: str, bot: int, goal: int) -> ShardState:
    return ShardState(ident, text_index=ident, origin=0, goal_hint=goal, bot=bot,
                      injected=injected, status=status)


def test_delivery_counts_old_shards_in_flight_as_misses_and_leaves_young_ones_out():
    tally = Tally(labels=np.zeros(10, np.int64), bot_topics=np.array([0, 1], np.int64))
    for ident in range(6):  # delivered to the oracle bot
        tally.retire(_shard(ident, 0, "delivered", 0, 0))
    tally.retire(_shard(6, 0, "delivered", 1, 0))  # delivered, to the wrong bot and topic
    tally.retire(_shard(7, 0, "dropped", 1, 0))
    tally.retire(_shard(8, 10, "held", 1, 0))  # in flight 990 ticks: a miss
    tally.retire(_shard(9, 950, "aboard", 1, 0))  # injected 50 ticks before the end: too young
    figures = tally.delivery(last_tick=1000, settle=100)
    assert (figures["judged"], figures["too_young"]) == (9, 1)
    assert figures["delivered"]["count"] == 7 and figures["right_bot"]["count"] == 6
    assert figures["right_topic"]["count"] == 6
    low, high = figures["delivered"]["ci95"]
    assert low < 7 / 9 < high and low < BARS["min_delivered_lower_ci"]


def test_nothing_judged_is_an_uninformative_interval_that_fails():
    figures = Tally().delivery(last_tick=10, settle=100)
    assert figures["judged"] == 0 and figures["delivered"]["ci95"] == [0.0, 1.0]


def test_a_world_whose_carriers_die_fails_delivery():
    """Heavy noise kills every carrier: shards are dropped, and the criterion sees it."""
    rng = np.random.default_rng(2)
    keys = rng.standard_normal((9, 16)).astype(np.float32)
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    config = WorldConfig(rule=CONWAY, rows=3, cols=3, tile=16,
                         shards=ShardConfig(every=20, per_bot=1.0, horizon=2, max_relaunches=1),
                         noise=NoiseConfig("flip", 0.02))
    world = World(config, 4, keys=keys, vectors=keys)
    tally = Tally()
    world.add_observer(tally)
    world.run(400)
    tally.finish(world)
    figures = tally.delivery(world.tick, config.shards.every)
    assert tally.outcomes["dropped"] > 0 and figures["judged"] > 50
    assert figures["delivered"]["ci95"][0] < BARS["min_delivered_lower_ci"]


def _ride(offset: float) -> tuple[Tally, Grid, Ride]:
    """Launch a glider on an empty torus and move its tracked centroid by ``offset`` cells."""
    grid = Grid(np.zeros((48, 48), np.uint8))
    tracker = Tracker((48, 48), CONWAY)
    carrier = tracker.launch(grid, carrier_form((1, 1)), 10, 10, 0)
    y, x = carrier.centroid
    carrier.centroid = (y + offset, x)
    carrier.unseen = 1  # coasting: the tracker did not see it this tick
    return Tally(), grid, Ride(carrier, 2, False)


def test_tracking_is_scored_against_the_ghost_while_coasting():
    tally, grid, ride = _ride(0.0)
    tally._score(ride, grid, (48, 48))
    assert (tally.tracking_ok, tally.tracking_total, tally.coasting) == (2, 2, 2)
    assert tally.distance_max == 0.0
    tally, grid, ride = _ride(TRACK_LIMIT + 1)  # tracked 3.5 cells from where it really is
    tally._score(ride, grid, (48, 48))
    assert (tally.tracking_ok, tally.tracking_total) == (0, 2)
    assert tally.distance_max > BARS_TRACK


def test_a_missing_hop_line_breaks_hop_agreement():
    logged = [{"type": "shard.hop", "payload": {"shard": 0}},
              {"type": "shard.hop", "payload": {"shard": 0}},
              {"type": "shard.hop", "payload": {"shard": 1}}]
    assert hop_agreement(logged, {0: 2, 1: 1, 2: 0}) == 1.0
    assert hop_agreement(logged[1:], {0: 2, 1: 1, 2: 0}) == 2 / 3
    assert hop_agreement(logged, {0: 2}) == 0.5  # a hop line for a shard never recounted


def test_stretch_counts_tiles_against_mesh_hops_and_against_the_fewest_tiles():
    """A diagonal route of 3 mesh hops enters 6 tiles: stretch 2 in hops, 1 in tiles."""
    from cybermesh_cli.topology import Mesh

    mesh = Mesh(8, 8, neighbourhood=8)
    tally = Tally(mesh=mesh)
    shard = _shard(0, 0, "delivered", mesh.bot_at(3, 3), mesh.bot_at(3, 3))
    route = [(0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3)]
    shard.legs = [Leg(mesh.bot_at(r, c), tick, tick) for tick, (r, c) in enumerate(route)]
    tally.retire(shard)
    wrapped = _shard(1, 0, "delivered", mesh.bot_at(7, 7), mesh.bot_at(7, 7))
    wrapped.legs = [Leg(mesh.bot_at(7, 0), 0, 0), Leg(mesh.bot_at(7, 7), 1, 1)]
    tally.retire(wrapped)  # across the torus's seam: 1 hop, 2 tiles, 2 entered
    figures = tally.delivery(last_tick=100, settle=10)
    assert figures["stretch"] == (2.0 + 2.0) / 2
    assert figures["tile_stretch"] == (1.0 + 1.0) / 2


def test_the_cohort_leaves_out_young_shards_that_ended_quickly():
    """Judged counts a young shard's quick end; the cohort counts only shards given full time."""
    tally = Tally()
    tally.retire(_shard(0, 0, "delivered", 0, 0))
    tally.retire(_shard(1, 0, "aboard", 1, 0))  # old and still in flight: a miss in both
    tally.retire(_shard(2, 950, "delivered", 0, 0))  # young, delivered quickly
    tally.retire(_shard(3, 960, "dropped", 1, 0))  # young, dropped quickly
    figures = tally.delivery(last_tick=1000, settle=100)
    assert figures["judged"] == 4 and figures["delivered"]["count"] == 2
    assert figures["cohort"] == {"shards": 2, "delivered": 1, "right_bot": 1}
