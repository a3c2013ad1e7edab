"""The CLI: help everywhere, python -m, and a start-up path free of heavy imports."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, assert_sweep_passed, cli


def test_module_entry_point_and_help_list_the_commands():
    done = cli("--help", cwd=REPO)
    assert done.returncode == 0
    for command in ("run", "replay", "spec", "runs", "gate"):
        assert command in done.stdout


@pytest.mark.parametrize("args", [["run"], ["replay"], ["spec", "check"], ["runs", "list"],
                                  ["gate", "validate"], ["gate", "security"], ["sweep"],
                                  ["sweep", "report"], ["sweep", "phase1"]])
def test_every_command_explains_itself(args):
    for flag in ("--help", "-h"):
        done = cli(*args, flag, cwd=REPO)
        assert done.returncode == 0 and "Usage" in done.stdout, flag


def test_sweep_report_is_its_own_command_and_a_spec_still_sweeps():
    usage = {args: cli(*args, "--help", cwd=REPO).stdout for args in (
        ("sweep",), ("sweep", "report"), ("sweep", "phase1"))}
    assert "report" in usage[("sweep",)] and "run" in usage[("sweep",)]
    assert "--json" in usage[("sweep", "report")] and "--seeds" not in usage[("sweep", "report")]
    assert "--seeds" in usage[("sweep", "phase1")]


def test_start_up_imports_no_heavy_library():
    code = ("import sys, cybermesh_cli.cli; "
            "print(sorted(m for m in ('torch', 'peft', 'transformers', 'numba', 'numpy') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_unknown_flag_is_a_usage_error():
    done = cli("run", "experiments/phase0.yaml", "--colour", "red", cwd=REPO)
    assert done.returncode == 2 and "No such option" in done.stderr


def test_bundled_specs_and_patterns_work_by_name_from_any_folder(tmp_path):
    done = cli("ca", "step", "glider", "--gens", "4", "-o", "g.rle", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "g.rle").read_text().count("o") >= 3
    done = cli("sweep", "phase1", "--seeds", "0..1", "--backend", "serial", "--out", "out",
               cwd=tmp_path)
    (folder,) = (tmp_path / "out").iterdir()
    assert_sweep_passed(done, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.rle", "out"]
    done = cli("ca", "step", "no-such-pattern", "-o", "x.rle", cwd=tmp_path)
    assert done.returncode == 2 and "no-such-pattern" in done.stderr


def test_examples_say_what_each_needs_and_list_the_patterns(tmp_path):
    done = cli("examples", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    needs = {e["name"]: e["needs"] for e in listed["examples"]}
    assert needs["phase0"] == [] and needs["phase7"] == ["dashboard", "ml"]
    assert needs["memory"] == ["index", "ml"] and "scale" in needs
    assert {"glider", "lwss", "gosper_glider_gun"} <= set(listed["patterns"])


def test_spec_check_json_gives_one_object_a_file(tmp_path):
    done = cli("spec", "check", "phase1", str(tmp_path / "none.yaml"), "--json", cwd=tmp_path)
    assert done.returncode == 2
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first == {"file": "phase1", "ok": True, "phase": 1, "name": "phase1-ca-grid"}
    assert second["ok"] is False and "no such file" in second["error"]
