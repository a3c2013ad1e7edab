"""Hostile input: bounded YAML, stored inputs that are missing or corrupt, forged logs."""

from tests.conftest import needs

needs("ml")

import json
import shutil

import numpy as np
import pytest

from tests.conftest import REPO, cli, run_spec, tampered_copy

LAUGHS = "name: lol\nphase: 0\nseed: 1\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + \
    "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("text, message", [
    (LAUGHS, "YAML aliases (*a) are not allowed"),
    ("a: " + "[" * 200 + "]" * 200 + "\n", "nested deeper than 32 levels"),
])
def test_bounded_yaml_is_refused_in_one_line_before_it_is_walked(tmp_path, text, message):
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    for command in (("spec", "check"), ("run",)):
        done = cli(*command, str(path), cwd=tmp_path, timeout=20)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and not (tmp_path / "runs").exists()


def test_markup_in_user_text_is_printed_literally(tmp_path):
    done = cli("run", str(tmp_path / "[bold]x[/bold].yaml"), cwd=tmp_path)
    assert done.returncode == 2 and "[bold]x[/bold].yaml: no such file" in done.stderr


@pytest.fixture(scope="module")
def phase3_run(tmp_path_factory):
    return run_spec(tmp_path_factory.mktemp("hostile"), "phase3.yaml", "--set",
                    "duration.ticks=120", failing=("delivery.min_delivered_lower_ci",
                                                   "delivery.min_right_bot_lower_ci"))


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_replay_with_a_stored_input_missing_or_corrupt_is_exit_2_not_a_divergence(
        phase3_run, tmp_path, damage):
    copy = tmp_path / "run"
    shutil.copytree(phase3_run, copy)
    vectors = copy / "vectors.safetensors"
    if damage == "missing":
        vectors.unlink()
    else:
        vectors.write_bytes(vectors.read_bytes()[:200])
    done = cli("replay", str(copy), cwd=tmp_path)
    assert done.returncode == 2 and "missing or corrupt" in done.stderr, done.stderr
    assert "diverged" not in done.stdout and "Traceback" not in done.stderr


def test_replay_refuses_a_forged_end_status_and_a_second_run_end(phase3_run):
    def flip(event):  # claim the other verdict than the criteria gave
        event["payload"]["status"] = {"passed": "failed"}.get(event["payload"]["status"],
                                                               "passed")

    forged, line, _ = tampered_copy(phase3_run, lambda raw: b'"run.end"' in raw, flip)
    done = cli("replay", str(forged), cwd=forged.parent)
    assert done.returncode == 1 and f"line {line}, run.end" in done.stdout
    twice = forged.parent / "twice"
    shutil.copytree(phase3_run, twice)
    lines = (twice / "events.jsonl").read_bytes().splitlines(keepends=True)
    end = json.loads(lines[-1])
    end["seq"] += 1
    (twice / "events.jsonl").write_bytes(b"".join(lines) + json.dumps(end).encode() + b"\n")
    done = cli("replay", str(twice), cwd=twice.parent)
    assert done.returncode == 2 and f":{len(lines) + 1}: 'run.end' after run.end" in done.stderr


@pytest.fixture(scope="module")
def phase1_run(tmp_path_factory):
    return run_spec(tmp_path_factory.mktemp("summaries"), "phase1.yaml")


def _add_key(payload):
    payload["bonus"] = 1


def _raise_accuracy(payload):
    payload["correct"] -= 1


def _clock_as_text(payload):
    payload["p99_cpu_ms"] = "fast"


def _drop_key(payload):
    del payload["half_life_measured"]


@pytest.mark.parametrize("kind, change", [
    ("detection.summary", _add_key), ("detection.summary", _raise_accuracy),
    ("detection.summary", _clock_as_text), ("energy.summary", _drop_key)])
def test_replay_recomputes_the_summaries_and_refuses_a_forged_one(phase1_run, tmp_path, kind,
                                                                   change):
    """A summary is recomputed from the seed; a forged one diverges at its line.

    A value, an extra or missing key, or a timing that is not a number: only the timings
    themselves are not compared.
    """
    run = tmp_path / "run"
    shutil.copytree(phase1_run, run)
    forged, line, _ = tampered_copy(run, lambda raw: kind.encode() in raw,
                                    lambda event: change(event["payload"]))
    done = cli("replay", str(forged), cwd=forged.parent)
    assert done.returncode == 1 and f"line {line}, {kind}" in done.stdout, done.stdout
    whole = cli("replay", str(phase1_run), cwd=phase1_run.parent)
    assert whole.returncode == 0, whole.stdout


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_replay_refuses_a_logged_event_with_a_key_too_many_or_too_few(tmp_path, change):
    """Events replay cannot recompute (wall-clock figures, checks) still have their keys."""
    run = run_spec(tmp_path, "phase0.yaml")

    def forge(event):
        if change == "extra":
            event["payload"]["verdict"] = "all good"
        else:
            del event["payload"]["tools"]

    forged, line, _ = tampered_copy(run, lambda raw: b'"setup.checked"' in raw, forge)
    done = cli("replay", str(forged), cwd=tmp_path)
    assert done.returncode == 1 and f"line {line}, setup.checked" in done.stdout, done.stdout
    assert cli("replay", str(run), cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("forged_type", ["shard.teleported", "query.end"])
def test_replay_refuses_an_event_of_a_type_the_phase_never_logs(phase3_run, tmp_path,
                                                                 forged_type):
    copy = tmp_path / "forged"
    shutil.copytree(phase3_run, copy)
    lines = (copy / "events.jsonl").read_bytes().splitlines(keepends=True)
    index = next(i for i, raw in enumerate(lines) if b'"shard.caught"' in raw)
    event = json.loads(lines[index])
    event["type"] = forged_type  # an unknown type, then one another phase logs
    lines[index] = json.dumps(event).encode() + b"\n"
    (copy / "events.jsonl").write_bytes(b"".join(lines))
    done = cli("replay", str(copy), cwd=tmp_path)
    assert done.returncode == 1 and f"line {index + 1}, {forged_type}" in done.stdout
    assert "types this phase logs" in done.stdout


def test_a_sweep_name_cannot_leave_the_output_folder(tmp_path):
    for name in ("../escape", str(tmp_path / "abs"), "a/b"):
        done = cli("sweep", str(REPO / "experiments" / "phase0.yaml"), "--seeds", "0..1",
                   "--name", name, "--backend", "serial", "--out", str(tmp_path / "out"),
                   cwd=tmp_path)
        assert done.returncode == 2 and "--name" in done.stderr, done.stderr
    assert not (tmp_path / "escape").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (("ca", "show", "HUGE"), "huge.rle:2: more than 268,435,456 live cells"),
    (("ca", "step", "GLIDER", "-o", "o.rle", "--torus", "1000000x1000000"),
     "the limit is 268,435,456 cells"),
    (("ca", "step", "GLIDER", "-o", "o.rle", "--gens", "100000000"), "--gens 100000000"),
    (("bench", "substrate", "--sizes", "1000000"), "--sizes 1000000"),
    (("sweep", "SPEC", "--seeds", "0..99999999999"), "more than 100,000 seeds"),
    (("ca", "step", "GLIDER", "-o", "/dev/full"), "/dev/full: cannot write"),
    (("run", "SPEC", "--out", "/dev/full/runs"), "/dev/full/runs"),
])
def test_sizes_and_paths_that_cannot_work_are_one_line_before_anything_is_allocated(
        tmp_path, args, message):
    (tmp_path / "huge.rle").write_text("x = 1000000000, y = 1\n300000000o!\n")
    swap = {"HUGE": str(tmp_path / "huge.rle"), "SPEC": str(REPO / "experiments" / "phase0.yaml"),
            "GLIDER": str(REPO / "experiments" / "patterns" / "glider.rle")}
    done = cli(*(swap.get(a, a) for a in args), cwd=tmp_path, timeout=30)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


DEEP = "[" * 3000 + "]" * 3000


@pytest.mark.parametrize("args, message", [
    (("run", "phase0", "--set", f"phase0.x={DEEP}"), "--set phase0.x: line 1: nested deeper"),
    (("run", "phase0", "--set", ".".join(["a"] * 3000) + "=1"), "nested deeper than 32"),
    (("sweep", "phase0", "--grid", f"phase0.x={DEEP}"), "--grid phase0.x: line 1: nested"),
    (("sweep", "phase0", "--grid", "phase0.x=" + ",".join(map(str, range(2000))), "--grid",
      "phase0.y=" + ",".join(map(str, range(2000)))), "2000 x 2000 points x 10 seeds"),
    (("sweep", "phase0", "--grid", "phase0.x=[1,"), "--grid phase0.x: YAML syntax error"),
])
def test_set_and_grid_values_are_bounded_before_they_are_expanded(tmp_path, args, message):
    done = cli(*args, cwd=tmp_path, timeout=30)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "runs").exists()


def _retensor(folder, change):
    from safetensors.numpy import load_file, save_file

    weights = str(folder / "adapter_model.safetensors")
    tensors = load_file(weights)
    change(tensors)
    save_file(tensors, weights)


def _reconfig(folder, **changes):
    config = folder / "adapter_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), **changes}))


def _wrong_shape(tensors):
    tensors[next(k for k in tensors if "lora_A" in k)] = np.zeros((3, 3, 1, 1), np.float32)


def _extra_tensor(tensors):
    tensors["base_model.model.perceive.conv.lora_A.weight"] = np.zeros((1, 1), np.float32)


BREAKS = {
    "garbage weights": lambda f: (f / "adapter_model.safetensors").write_bytes(b"\0junk" * 9),
    "huge header": lambda f: (f / "adapter_model.safetensors").write_bytes(
        (2**60).to_bytes(8, "little") + b"{}"),
    "truncated weights": lambda f: (f / "adapter_model.safetensors").write_bytes(
        (f / "adapter_model.safetensors").read_bytes()[:40]),
    "wrong shapes": lambda f: _retensor(f, _wrong_shape),
    "extra tensor": lambda f: _retensor(f, _extra_tensor),
    "config not json": lambda f: (f / "adapter_config.json").write_text("{not json"),
    "config a list": lambda f: (f / "adapter_config.json").write_text("[1, 2]"),
    "config targets the circular convolution":
        lambda f: _reconfig(f, target_modules=["perceive.conv"]),
    "config rank 0": lambda f: _reconfig(f, r=0),
    "config not lora": lambda f: _reconfig(f, peft_type="IA3"),
    "config missing": lambda f: (f / "adapter_config.json").unlink(),
    "training yaml broken": lambda f: (f / "training.yaml").write_text("a: [unclosed\n"),
    "training yaml a list": lambda f: (f / "training.yaml").write_text("- 1\n- 2\n"),
    "training hidden mismatch": lambda f: (f / "training.yaml").write_text(
        (f / "training.yaml").read_text().replace("hidden: 64", "hidden: 32")),
    "training without rule": lambda f: (f / "training.yaml").write_text("hidden: 64\n"),
    "metrics garbage": lambda f: (f / "metrics.json").write_text("{{{"),
    "metrics a number": lambda f: (f / "metrics.json").write_text("3"),
    "pickled weights": lambda f: (f / "adapter_model.bin").write_bytes(b"\x80\x04K\x01."),
}


@pytest.mark.parametrize("kind", sorted(BREAKS))
def test_a_broken_adapter_folder_is_one_line_before_peft_reads_it(tmp_path, kind):
    registry = tmp_path / "reg"
    shutil.copytree(REPO / "adapters" / "glider-guard", registry / "glider-guard")
    shutil.copytree(REPO / "adapters" / "dust-guard", registry / "dust-guard")
    BREAKS[kind](registry / "glider-guard")
    for command in ("show", "switch"):
        done = cli("adapter", command, "glider-guard", "--registry", str(registry),
                   cwd=tmp_path)
        assert done.returncode == 2, (kind, command, done.stdout + done.stderr)
        assert "Traceback" not in done.stderr and "glider-guard" in done.stderr, done.stderr
    listed = cli("adapter", "list", "--registry", str(registry), cwd=tmp_path)
    assert listed.returncode == 0 and "dust-guard" in listed.stdout and "BROKEN" in listed.stdout


def test_a_torn_sweep_plan_is_one_line(tmp_path):
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "sweep.json").write_text('{"sweep_id": "x", "runs": [')
    done = cli("sweep", "report", str(folder), cwd=tmp_path)
    assert done.returncode == 2 and "unreadable sweep plan" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("setting, message", [
    ("phase3.corpus=nope.yaml", "phase3.corpus: nope.yaml: no such file"),
    ("phase3.embedder.backend=ollama", "phase3.embedder: ollama at http://127.0.0.1:9"),
])
def test_late_input_checks_come_before_the_run_folder_and_in_spec_check(tmp_path, setting,
                                                                         message):
    env_host = ("--set", "phase3.embedder.host=http://127.0.0.1:9")  # nothing listens on 9
    done = cli("run", "phase3", "--set", setting, *env_host, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "runs").exists()
    spec = tmp_path / "bad.yaml"
    text = (REPO / "experiments" / "phase3.yaml").read_text()
    key, value = setting.split("=")
    if key == "phase3.corpus":
        text = text.replace("corpus: experiments/data/topics.yaml", f"corpus: {value}")
    else:
        text = text.replace("embedder: {backend: local, timeout_s: 30}",
                            "embedder: {backend: ollama, host: 'http://127.0.0.1:9', "
                            "timeout_s: 30}")
    spec.write_text(text)
    done = cli("spec", "check", str(spec), cwd=tmp_path)
    assert done.returncode == 2 and message in done.stdout + done.stderr
