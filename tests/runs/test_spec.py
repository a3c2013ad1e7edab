"""Experiment specs: validation, overrides, and one clear line (exit 2) for every bad input."""

import re

import pytest
import yaml

from cybermesh_cli.errors import InputError
from cybermesh_cli.spec import apply_overrides, load_spec
from tests.conftest import REPO, cli

GOOD = (REPO / "experiments" / "phase0.yaml").read_text()


def test_every_experiment_validates():
    for path in sorted((REPO / "experiments").glob("*.yaml")):
        spec = load_spec(path)
        assert spec.name and spec.block(f"phase{spec.phase}")


def test_overrides_and_seed_are_applied_and_revalidated(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    spec = load_spec(path, ["duration.ticks=7", "phase0.events_per_tick=3"], seed=11)
    assert spec.data["duration"]["ticks"] == 7
    assert spec.block("phase0")["events_per_tick"] == 3
    assert spec.seed == 11
    assert yaml.safe_load(spec.to_yaml())["seed"] == 11


def test_overrides_do_not_touch_the_original():
    original = {"a": {"b": 1}}
    changed = apply_overrides(original, ["a.b=2", "a.c=x"])
    assert original == {"a": {"b": 1}}
    assert changed == {"a": {"b": 2, "c": "x"}}


def test_error_names_the_line_of_the_key(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace("events_per_tick: 40", "events_per_tick: 0"))
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "events_per_tick" in t)
    with pytest.raises(InputError, match=rf"phase0.events_per_tick \(line {line}\): 0 is less"):
        load_spec(path)


# Each case: (what is wrong, spec text or None for a missing file, extra CLI args, text the
# one-line message must contain).
BAD = [
    ("yaml syntax", GOOD.replace("phase: 0", "phase: [0"), [], "YAML syntax error at line"),
    ("unknown key", GOOD + "colour: red\n", [], "colour"),
    ("wrong type", GOOD.replace("seed: 20251027", "seed: many"), [], "seed"),
    ("out of range", GOOD.replace("phase: 0", "phase: 9"), [], "phase"),
    ("missing key", GOOD.replace("name: phase0-setup\n", ""), [], "name"),
    ("missing file", None, [], "no such file"),
    ("empty file", "", [], "file is empty"),
    ("not a mapping", "- 1\n- 2\n", [], "top level must be a mapping"),
    ("bad override path", GOOD, ["--set", "seed.x=1"], "seed is not a mapping (it holds int)"),
    ("unknown override key", GOOD, ["--set", "duration.hours=2"], "duration.hours"),
    ("bad override value", GOOD, ["--set", "duration.ticks=-5"], "--set duration.ticks=-5"),
    ("override without =", GOOD, ["--set", "duration.ticks"], "expected KEY.PATH=VALUE"),
    ("bad seed flag", GOOD, ["--seed", "-1"], "seed"),
    ("missing phase block", GOOD.split("phase0:\n  living_docs")[0], [], "phase0: missing"),
    ("bad name", GOOD.replace("name: phase0-setup", "name: Phase Zero"), [], "name"),
    ("not utf-8", b"name: \xff\xfe\n", [], "cannot read"),
    ("a rule the substrate cannot run", (REPO / "experiments" / "phase1.yaml").read_text(),
     ["--set", "phase1.rule=B9/S23"], "phase1.rule: rule 'B9/S23'"),
    ("an adapter the registry lacks", (REPO / "experiments" / "phase4.yaml").read_text(),
     ["--set", "phase4.adapter=nope"], "phase4.adapter: "),
]


@pytest.mark.parametrize(("case", "text", "args", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_spec_exits_2_with_one_line_and_writes_nothing(tmp_path, case, text, args, expected):
    spec = tmp_path / "bad.yaml"
    if isinstance(text, bytes):
        spec.write_bytes(text)
    elif text is not None:
        spec.write_text(text)
    done = cli("run", str(spec), *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    message = done.stderr.strip()
    assert "Traceback" not in message
    assert len(message.splitlines()) == 1, message
    assert expected in message
    if not args or args[0] != "--set" or "without" in case:
        assert "bad.yaml" in message or "--set" in message
    assert not (tmp_path / "runs").exists()


def test_spec_check_reports_each_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD + "extra: 1\n")
    done = cli("spec", "check", str(REPO / "experiments" / "phase0.yaml"), str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert "ok" in done.stdout and "phase0.yaml" in done.stdout
    assert re.search(r"bad.yaml: extra \(line \d+\): Unexpected element", done.stderr)
