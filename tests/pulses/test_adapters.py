"""The adapter registry, training reproducibility, refusals, switching and pulses on tiles."""

from tests.conftest import needs

needs("ml")

import shutil

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from cybermesh_cli.errors import InputError
from cybermesh_cli.pulses.adapters import PulseEngine
from cybermesh_cli.pulses.registry import WEIGHTS, Registry
from cybermesh_cli.pulses.nca import NeuralCA
from cybermesh_cli.pulses.persistence import kernel_stepper
from cybermesh_cli.pulses.training import train_adapter
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import CONWAY
from cybermesh_cli.world import World, WorldConfig
from tests.conftest import REPO, cli

SHIPPED = REPO / "adapters"


def _spec(name: str = "glider-guard") -> dict:
    return yaml.safe_load((REPO / "experiments" / "adapters" / f"{name}.yaml").read_text())


def _soups(count: int = 30, size: int = 40) -> np.ndarray:
    return (np.random.default_rng(8).random((count, size, size)) < 0.35).astype(np.uint8)


@pytest.mark.slow
def test_training_from_the_shipped_spec_is_reproducible_and_learns(tmp_path):
    """The same spec trains the same weights twice, of the shipped adapter's shape.

    Bit for bit against the shipped file holds only on the CPU that trained it: torch's CPU
    kernels round differently on another vendor's CPU, and training amplifies it.
    """
    weights = []
    for attempt in ("first", "second"):
        trained = train_adapter(_spec())
        Registry(tmp_path / attempt).save(trained.model, "glider-guard", _spec(), trained.metrics)
        weights.append(load_file(str(tmp_path / attempt / "glider-guard" / WEIGHTS)))
        assert trained.metrics["bayes_agreement"] > trained.metrics["base_bayes_agreement"]
    shipped = load_file(str(SHIPPED / "glider-guard" / WEIGHTS))
    assert weights[0].keys() == shipped.keys() and len(shipped) == 4  # A and B of two layers
    for key in shipped:
        assert weights[0][key].shape == shipped[key].shape
        torch.testing.assert_close(weights[0][key], weights[1][key], rtol=1e-5, atol=1e-6)


def test_saved_adapter_loads_back_to_the_same_cells(tmp_path):
    spec = _spec() | {"name": "tiny", "scenes": _spec()["scenes"] | {"batches": 4},
                      "fit": {"steps": 200, "lr": 0.01}}
    trained = train_adapter(spec)
    soups = _soups()
    with torch.no_grad():
        before = (trained.model(torch.from_numpy(soups).float()[:, None]) > 0.5)[:, 0].numpy()
    Registry(tmp_path).save(trained.model, "tiny", spec, trained.metrics)
    engine = PulseEngine(NeuralCA(CONWAY, spec["hidden"]), Registry(tmp_path))
    assert np.array_equal(engine.apply(soups, "tiny"), before.astype(np.uint8))


def test_switching_back_restores_the_base_rule_exactly():
    engine = PulseEngine(NeuralCA(CONWAY, 64), Registry(SHIPPED))
    soups = _soups()
    kernel = kernel_stepper(CONWAY)(soups)
    assert np.array_equal(engine.apply(soups, None), kernel)
    guard = engine.apply(soups, "glider-guard")
    dust = engine.apply(soups, "dust-guard")
    assert not np.array_equal(guard, kernel) and not np.array_equal(guard, dust)
    assert np.array_equal(engine.apply(soups, "glider-guard"), guard)
    assert np.array_equal(engine.apply(soups, None), kernel)


def test_pickled_weights_are_refused_before_loading(tmp_path):
    shutil.copytree(SHIPPED / "glider-guard", tmp_path / "glider-guard")
    (tmp_path / "glider-guard" / "adapter_model.bin").write_bytes(b"not loaded")
    with pytest.raises(InputError, match="pickled adapter weights are refused"):
        PulseEngine(NeuralCA(CONWAY, 64), Registry(tmp_path)).load("glider-guard")
    done = cli("adapter", "show", "glider-guard", "--registry", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2 and "adapter_model.bin" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_an_adapter_for_another_network_is_refused():
    engine = PulseEngine(NeuralCA(CONWAY, 32), Registry(SHIPPED))
    with pytest.raises(InputError, match="64 hidden units; this CA is B3/S23 with 32"):
        engine.load("glider-guard")


@pytest.mark.parametrize(("args", "message"), [
    (("show", "no-such"), "no adapter 'no-such'"),
    (("show", "../escape"), "adapter name '../escape'"),
    (("switch", "Upper"), "adapter name 'Upper'"),
])
def test_bad_adapter_names_are_one_line_errors(tmp_path, args, message):
    done = cli("adapter", *args, "--registry", str(SHIPPED), cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_bad_training_spec_names_file_and_key(tmp_path):
    spec = _spec()
    spec["lora"]["rank"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    done = cli("adapter", "train", str(path), "--registry", str(tmp_path / "reg"), cwd=tmp_path)
    assert done.returncode == 2 and "bad.yaml: lora.rank" in done.stderr
    assert not (tmp_path / "reg").exists()


def test_adapter_cli_lists_shows_and_switches(tmp_path):
    listed = cli("adapter", "list", "--registry", str(SHIPPED), cwd=tmp_path)
    assert listed.returncode == 0 and "glider-guard" in listed.stdout
    assert "dust-guard" in listed.stdout
    shown = cli("adapter", "show", "dust-guard", "--registry", str(SHIPPED), cwd=tmp_path)
    assert shown.returncode == 0 and "mode: dust" in shown.stdout and WEIGHTS in shown.stdout
    switched = cli("adapter", "switch", "glider-guard", "--registry", str(SHIPPED), cwd=tmp_path)
    assert switched.returncode == 0 and "identical to the Numba kernel" in switched.stdout


def test_a_pulse_changes_only_its_light_cone_and_the_base_resumes_after_it():
    ticks = 6
    start = _soups(1, 48)[0]
    world = World(WorldConfig(CONWAY, 3, 3, 16), seed=0, cells=start,
                  engine=PulseEngine(NeuralCA(CONWAY, 64), Registry(SHIPPED)))
    assert world.pulses is not None
    world.pulses.start(4, "glider-guard", tick=0, ticks=ticks)  # the centre tile
    plain = Grid(start, CONWAY)
    events = world.run(ticks)
    plain.step(ticks)
    assert [e.type for e in events if e.type.startswith("pulse")] == []
    differs = world.grid.cells != plain.cells
    assert differs.any()
    reach = world.tiling.mask([4])
    for _ in range(ticks):  # information travels one cell a tick
        reach |= np.roll(reach, 1, 0) | np.roll(reach, -1, 0)
        reach |= np.roll(reach, 1, 1) | np.roll(reach, -1, 1)
    assert not (differs & ~reach).any()
    after = Grid(world.grid.cells, CONWAY)
    assert [e.type for e in world.run(10) if e.type.startswith("pulse")] == ["pulse.end"]
    after.step(10)
    assert np.array_equal(world.grid.cells, after.cells)


@pytest.mark.parametrize("weight", [0.0, float("inf")])
def test_training_on_nothing_or_infinity_saves_nothing_over_the_old_adapter(tmp_path, weight):
    registry = tmp_path / "reg"
    shutil.copytree(SHIPPED / "glider-guard", registry / "glider-guard")
    before = (registry / "glider-guard" / WEIGHTS).read_bytes()
    spec = _spec()
    spec["scenes"].update(batches=2, near_weight=weight, far_weight=weight)
    path = tmp_path / "nothing.yaml"
    path.write_text(yaml.safe_dump(spec))
    done = cli("adapter", "train", str(path), "--registry", str(registry), cwd=tmp_path)
    assert done.returncode == 2 and "nothing" not in done.stdout
    assert "glider-guard" in done.stderr and "Traceback" not in done.stderr
    assert (registry / "glider-guard" / WEIGHTS).read_bytes() == before
    assert sorted(p.name for p in registry.iterdir()) == ["glider-guard"]
