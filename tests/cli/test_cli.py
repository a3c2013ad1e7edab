"""The CLI: help everywhere, python -m, and a start-up path free of heavy imports."""

import subprocess
import sys

import pytest

from tests.conftest import REPO, cli


def test_module_entry_point_and_help_list_the_commands():
    done = cli("--help", cwd=REPO)
    assert done.returncode == 0
    for command in ("run", "replay", "spec", "runs", "gate"):
        assert command in done.stdout


@pytest.mark.parametrize("args", [["run"], ["replay"], ["spec", "check"], ["runs", "list"],
                                  ["gate", "validate"], ["gate", "security"]])
def test_every_command_explains_itself(args):
    for flag in ("--help", "-h"):
        done = cli(*args, flag, cwd=REPO)
        assert done.returncode == 0 and "Usage" in done.stdout, flag


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
