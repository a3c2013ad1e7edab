"""One seed tree a run: named children are independent, repeatable and enforced by ruff."""

import ast
import subprocess
import sys

import numpy as np
import pytest

from cybermesh_cli.seeds import Seeds
from cybermesh_cli.substrate.rules import CONWAY
from cybermesh_cli.world import World, WorldConfig
from cybermesh_cli.world.config import (
    EnergyConfig,
    MemoryConfig,
    NoiseConfig,
    ShardConfig,
    SoupConfig,
)
from tests.conftest import REPO, assert_streams_distinct, first_draws

PACKAGE = REPO / "cybermesh_cli"


def test_a_named_child_is_the_same_stream_every_time_and_others_differ():
    assert first_draws(3, "world/noise") == first_draws(3, "world/noise")
    assert first_draws(3, "world/noise") != first_draws(3, "world/soups")
    assert first_draws(3, "world/noise") != first_draws(4, "world/noise")
    assert first_draws(3, "a/b") != first_draws(3, "b/a")
    assert first_draws(3, "a") != first_draws(3, "")


def test_positional_spawns_collide_where_named_children_do_not():
    # the defect this module exists for: spawn(1)[0] and spawn(3)[0] are one stream
    one, three = (np.random.SeedSequence(7).spawn(n)[0] for n in (1, 3))
    assert (np.random.default_rng(one).integers(0, 2**62, 4).tolist()
            == np.random.default_rng(three).integers(0, 2**62, 4).tolist())
    assert first_draws(7, "layout") != first_draws(7, "noise")


def test_neighbouring_roots_share_no_stream():
    # a sweep's seeds 0..15: phase 5 once used seed + 1, which is the next run's root
    paths = ["load", "limit", "wall_clock", "world/noise", "world/soups"]
    draws = [first_draws(seed, path) for seed in range(16) for path in paths]
    assert len(set(draws)) == len(draws)


def test_a_seed_tree_refuses_what_is_not_a_seed():
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(TypeError):
            Seeds.of(bad)
    for bad in ("", "a/b"):
        with pytest.raises(ValueError, match="name"):
            Seeds.of(1).child(bad)


def test_every_stream_of_a_full_world_is_distinct():
    """A world with every random layer draws from named children only, each its own."""
    rng = np.random.default_rng(0)
    keys = rng.standard_normal((30, 16)).astype(np.float32)
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    config = WorldConfig(rule=CONWAY, rows=6, cols=6, tile=16,
                         soup=SoupConfig(0.3, 8, 0.4),
                         shards=ShardConfig(5, 0.2, 2, 3, "semantic"),
                         noise=NoiseConfig("flip", 0.001),
                         energy=EnergyConfig(20.0, 50.0, 1.0),
                         memory=MemoryConfig(8))
    seeds = Seeds.of(11).child("world")
    world = World(config, seeds, keys=keys, vectors=keys)
    world.run(3)
    drawn = seeds.drawn()
    assert set(drawn) == {"world/noise", "world/placement", "world/jitter", "world/layout",
                          "world/soups", "world/injections"}
    assert_streams_distinct(11, list(drawn))


def test_ruff_refuses_a_new_generator_outside_the_seed_module():
    source = "import numpy as np\n\nrng = np.random.default_rng(3)\n"
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--stdin-filename",
                           "cybermesh_cli/phases/phase9.py", "-"], input=source, text=True,
                          capture_output=True, cwd=REPO, check=False)
    assert done.returncode == 1 and "TID251" in done.stdout
    for banned in ("np.random.SeedSequence(3)", "torch.manual_seed(3)"):
        done = subprocess.run([sys.executable, "-m", "ruff", "check", "--stdin-filename",
                               "cybermesh_cli/world/x.py", "-"],
                              input=f"import numpy as np\nimport torch\n\n{banned}\n",
                              text=True, capture_output=True, cwd=REPO, check=False)
        assert done.returncode == 1 and "TID251" in done.stdout, banned


def test_only_the_seed_module_builds_generators():
    named = sorted(str(path.relative_to(REPO)) for path in PACKAGE.rglob("*.py")
                   if "default_rng" in path.read_text() or "SeedSequence" in path.read_text())
    assert named == ["cybermesh_cli/seeds.py"]


def test_no_module_imports_a_phase_but_the_registry_and_the_runner():
    """Phases are protocols: nothing imports from a phase module but the phases themselves."""
    runner = "cybermesh_cli/runner.py"  # the CLI's run: drives a phase
    registry_users = {runner, "cybermesh_cli/cli/replay.py", "cybermesh_cli/cli/spec.py",
                      "cybermesh_cli/cli/sweep.py", "cybermesh_cli/cli/examples.py"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        name = str(path.relative_to(REPO))
        inside = path.parent == PACKAGE / "phases" or name == runner
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
            elif isinstance(node, ast.Import):
                module = node.names[0].name
            else:
                continue
            deep = module.startswith("cybermesh_cli.phases.")
            registry = module == "cybermesh_cli.phases"
            if (deep and not inside) or (registry and not inside
                                         and name not in registry_users):
                offenders.append(f"{name}: {module}")
    assert offenders == []
