"""The world library: any mesh size, determinism, layers, observers, imports, the README example."""

import ast
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from collections import deque

import numpy as np
import pytest

from cybermesh_cli.errors import InputError
from cybermesh_cli.shards.corpus import load_corpus
from cybermesh_cli.shards.embedders import HashEmbedder
from cybermesh_cli.topology import Mesh
from cybermesh_cli.world import World, WorldConfig
from cybermesh_cli.world.shards import ORACLE_KEYS, most_similar
from cybermesh_cli.world.state import ShardState
from tests.conftest import REPO

BLOCK = {"rule": "B3/S23", "mesh": {"rows": 5, "cols": 5, "tile": 16},
         "routing": {"horizon": 2, "max_relaunches": 5},
         "shards": {"every": 20, "per_bot": 0.2},
         "soup": {"fraction": 0.2, "size": 8, "density": 0.35}}


@pytest.fixture(scope="module")
def corpus():
    topics = load_corpus()
    embedder = HashEmbedder()
    keys = embedder.embed([t.key_text for t in topics])
    vectors = embedder.embed([s for t in topics for s in t.shard_texts])
    return keys, vectors


def _world(corpus, rows, cols, seed=1, **changes):
    block = {**BLOCK, "mesh": {**BLOCK["mesh"], "rows": rows, "cols": cols}, **changes}
    return World(WorldConfig.from_block(block), seed, keys=corpus[0], vectors=corpus[1])


def _bfs_hops(mesh):
    table = np.full((mesh.size, mesh.size), -1)
    for start in range(mesh.size):
        table[start, start] = 0
        queue = deque([start])
        while queue:
            bot = queue.popleft()
            for other in mesh.neighbours[bot]:
                if table[start, other] < 0:
                    table[start, other] = table[start, bot] + 1
                    queue.append(other)
    return table


@pytest.mark.parametrize("rows, cols", [(1, 1), (1, 6), (2, 3), (4, 4), (5, 7)])
@pytest.mark.parametrize("neighbourhood", [4, 8])
@pytest.mark.parametrize("torus", [True, False])
def test_hop_distance_matches_breadth_first_search(rows, cols, neighbourhood, torus):
    mesh = Mesh(rows, cols, neighbourhood, torus)
    assert np.array_equal(mesh.hops, _bfs_hops(mesh))


@pytest.mark.parametrize("rows, cols", [(1, 1), (2, 2), (3, 7), (10, 10)])
def test_any_mesh_runs_and_accounts_for_every_shard(corpus, rows, cols):
    world = _world(corpus, rows, cols)
    events = world.run(120)
    assert world.tick == 119 and world.grid.height == rows * 16
    injected = sum(e.type == "shard.injected" for e in events)
    finished = sum(e.type in ("shard.delivered", "shard.dropped") for e in events)
    assert injected == 6 * world.config.shards_per_wave() > 0
    assert finished + len(world.shards.shards) == injected
    assert [e.type for e in events].count("state.digest") == 120


def test_beyond_the_topics_bots_share_topics_with_distinct_keys(corpus):
    world = _world(corpus, 8, 8)
    keys = world.shards.keys
    assert len(np.unique(world.bot_topics)) == 25
    assert np.bincount(world.bot_topics).max() - np.bincount(world.bot_topics).min() <= 1
    assert len(np.unique(keys.round(5), axis=0)) == 64
    assert np.allclose(np.linalg.norm(keys, axis=1), 1, atol=1e-5)
    same = keys[world.bot_topics == 0]
    assert (same @ same.T).min() > (keys @ keys.T).min()


def test_same_seed_same_events_other_seed_other_events(corpus):
    first = [(e.tick, e.type, e.payload) for e in _world(corpus, 4, 4, seed=9).run(150)]
    again = [(e.tick, e.type, e.payload) for e in _world(corpus, 4, 4, seed=9).run(150)]
    other = [(e.tick, e.type, e.payload) for e in _world(corpus, 4, 4, seed=10).run(150)]
    assert first == again and first != other


def test_observers_see_every_tick_and_snapshots_are_copies(corpus):
    world = _world(corpus, 3, 3)
    seen = []
    world.add_observer(lambda w, events: seen.append((w.tick, events[-1].type)))
    world.run(30)
    assert seen == [(t, "state.digest") for t in range(30)]
    snap = world.snapshot()
    snap.cells[:] = 1
    assert world.cells.sum() < world.cells.size and snap.tick == 29


def test_impossible_worlds_are_refused_in_one_line(corpus):
    with pytest.raises(InputError, match=r"64x64 bots of 1024x1024 cells is 4,294,967,296"):
        WorldConfig.from_block({**BLOCK, "mesh": {"rows": 64, "cols": 64, "tile": 1024}})
    with pytest.raises(InputError, match="rule: "):
        WorldConfig.from_block({**BLOCK, "rule": "B9/S23"})
    with pytest.raises(InputError, match="2 topics cannot fill 1024 bots"):
        World(WorldConfig.from_block({**BLOCK, "mesh": {"rows": 32, "cols": 32, "tile": 16}}),
              1, keys=corpus[0][:2], vectors=corpus[1])


def test_energy_layer_follows_live_cells_and_delivered_shards(corpus):
    energy = {"half_life": 10, "trail_half_life": 50, "gradient": 0.6}
    world = _world(corpus, 4, 4, energy=energy)
    events = world.run(200)
    assert world.energy is not None and world.energy.field.total > 0
    delivered = [e.payload["bot"] for e in events if e.type == "shard.delivered"]
    assert delivered  # seed 1 delivers within 200 ticks
    assert world.energy.trails.energy[delivered[-1]] > 0


def _imports(path):
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {n for n in found if n.startswith("cybermesh_cli")}


def _modules():
    package = REPO / "cybermesh_cli"
    modules = {}
    for path in package.rglob("*.py"):
        name = ".".join(("cybermesh_cli", *path.relative_to(package).with_suffix("").parts))
        modules[name.removesuffix(".__init__")] = _imports(path)
    return modules


def test_imports_point_down_and_have_no_cycles():
    modules = _modules()
    above = {"phases", "dashboard", "cli", "runner", "sweeps"}
    below = {"errors", "events", "paths", "spec", "topology", "substrate", "shards", "pulses",
             "world", "runs"}
    for name, imported in modules.items():
        part = name.split(".")[1] if "." in name else ""
        if part in below:
            upward = {i for i in imported if i.split(".")[1] in above}
            assert not upward, f"{name} imports {upward}"
    state = {}

    def visit(name, trail):
        state[name] = "open"
        for other in modules.get(name, ()):
            other = other if other in modules else other.rsplit(".", 1)[0]
            if other == name:
                continue
            if state.get(other) == "open":
                raise AssertionError("import cycle: " + " -> ".join([*trail, other]))
            if other in modules and other not in state:
                visit(other, [*trail, other])
        state[name] = "done"

    for name in modules:
        if name not in state:
            visit(name, [name])


def test_the_readme_builds_a_world_without_the_cli(capsys):
    readme = (REPO / "README.md").read_text()
    section = readme.split("## The world as a library", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    world = namespace["world"]
    assert world.tick == 99 and world.config.bots == 100
    assert namespace["delivered"] and "delivered" in capsys.readouterr().out


def test_the_front_door_exports_what_it_lists_and_loads_neither_torch_nor_ray():
    code = ("import sys\nfrom cybermesh_cli import World, WorldConfig, load_corpus, HashEmbedder\n"
            "print(sorted(m for m in ('torch', 'ray', 'peft', 'faiss') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, check=True)
    assert done.stdout.strip() == "[]"
    import cybermesh_cli

    assert cybermesh_cli.__all__ == sorted(cybermesh_cli.__all__)
    torch = importlib.util.find_spec("torch") is not None
    for name in cybermesh_cli.__all__:
        if name != "PulseEngine" or torch:  # the pulse engine is the [ml] extra's
            assert getattr(cybermesh_cli, name) is not None, name
    with pytest.raises(AttributeError):
        cybermesh_cli.NotAName  # noqa: B018 - the attribute access is the test


# Digests of the events of cybermesh 0.2.0's world, whose carriers were Python objects tracked
# one at a time: the compiled passes must not change one event.
EVENTS_BEFORE_KERNELS = {
    (5, 400): "24521bedabd930384a4a0f0645ea363f",  # pragma: allowlist secret
    (16, 300): "3104678cb35fb979d87572647e8fc14f",  # pragma: allowlist secret
    (40, 150): "f10f62668c1e18a33dceea5f352e6a0a",  # pragma: allowlist secret
}


@pytest.mark.parametrize("side, ticks", sorted(EVENTS_BEFORE_KERNELS))
def test_events_are_those_of_the_python_world_before_the_kernels(corpus, side, ticks):
    digest = hashlib.sha256()
    for event in _world(corpus, side, side).run(ticks):
        digest.update(json.dumps([event.tick, event.type, event.payload],
                                 sort_keys=True).encode())
    assert digest.hexdigest()[:32] == EVENTS_BEFORE_KERNELS[side, ticks]


def test_a_shards_legs_give_its_path_and_hops():
    shard = ShardState(0, text_index=0, origin=3, goal_hint=5, bot=3, injected=0)
    shard.board(carrier=7, tick=10)
    shard.hop(4, 15)
    shard.hop(5, 20)
    shard.leave(22)
    assert shard.path() == [3] + [3] * 4 + [4] * 5 + [5] * 3 and shard.hops() == 2
    shard.board(carrier=8, tick=30)  # lost the next tick: a leg of no tick
    shard.leave(30)
    assert shard.carrier is None and len(shard.legs) == 3 and shard.hops() == 2
    shard.board(carrier=9, tick=40)
    shard.hop(6, 41)  # left the tile at once
    shard.leave(41)
    assert shard.path()[-1:] == [6] and shard.hops() == 3


def test_the_oracle_in_slices_of_keys_is_argmax_of_the_whole_product():
    """Slices of keys give argmax(vectors @ keys.T), the first of equal keys across slices.

    Small integers make every product exact, whatever order BLAS sums in, so equal keys are
    equal in every slice and the answers must match the whole product's exactly.
    """
    rng = np.random.default_rng(5)
    keys = rng.integers(-3, 4, (2 * ORACLE_KEYS + 77, 32)).astype(np.float32)
    vectors = rng.integers(-3, 4, (300, 32)).astype(np.float32)
    early = np.argmax(vectors @ keys[:ORACLE_KEYS].T, axis=1)
    keys[ORACLE_KEYS + np.arange(300)] = keys[early]  # each vector's best so far, again, later
    expected = np.argmax(vectors @ keys.T, axis=1)
    assert (expected < ORACLE_KEYS).sum() > 100  # ties across slices, the earlier key wins
    assert np.array_equal(most_similar(vectors, keys), expected)
    assert np.array_equal(most_similar(vectors, keys[:100]), np.argmax(vectors @ keys[:100].T,
                                                                         axis=1))


def test_the_oracle_finds_the_most_similar_unit_key_to_within_rounding():
    """With real unit vectors the key found is the most similar one, up to float32 rounding.

    BLAS may round a product differently in a slice than in the whole matrix, so two keys
    within rounding of each other may swap; any other answer is a wrong key.
    """
    rng = np.random.default_rng(6)
    keys = rng.standard_normal((2 * ORACLE_KEYS + 77, 64)).astype(np.float32)
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    vectors = keys[rng.integers(0, len(keys), 300)] + np.float32(0.5) * rng.standard_normal(
        (300, 64)).astype(np.float32)
    exact = vectors.astype(np.float64) @ keys.astype(np.float64).T
    found = most_similar(vectors, keys)
    assert np.abs(exact[np.arange(300), found] - exact.max(axis=1)).max() < 1e-5
    assert (found == exact.argmax(axis=1)).mean() > 0.99
