"""``cybermesh ca``: step against the reference, census as JSON, show, and bad input."""

import json

import numpy as np
import pytest

from cybermesh_cli.substrate.rle import read_rle
from tests.conftest import REPO, cli
from tests.reference import reference_step

PATTERNS = REPO / "experiments" / "patterns"


def test_step_on_a_torus_matches_the_reference(tmp_path):
    out = tmp_path / "out.rle"
    done = cli("ca", "step", str(PATTERNS / "r_pentomino.rle"), "--gens", "50", "--torus",
               "40x30", "--rule", "B36/S23", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    start = np.zeros((30, 40), np.uint8)
    start[:3, :3] = read_rle(PATTERNS / "r_pentomino.rle").cells
    result = read_rle(out)
    assert result.rule == "B36/S23:T40,30"  # a torus is written with Golly's suffix
    np.testing.assert_array_equal(result.cells, reference_step(start, 1 << 3 | 1 << 6,
                                                               1 << 2 | 1 << 3, True, 50))


def test_step_on_the_plane_is_exact(tmp_path):
    out = tmp_path / "out.rle"
    assert cli("ca", "step", str(PATTERNS / "glider.rle"), "--gens", "8", "-o", str(out),
               cwd=tmp_path).returncode == 0
    np.testing.assert_array_equal(read_rle(out).cells, read_rle(PATTERNS / "glider.rle").cells)


def test_census_json_counts_the_guns_gliders(tmp_path):
    done = cli("ca", "census", str(PATTERNS / "gosper_glider_gun.rle"), "--gens", "150",
               "--json", cwd=tmp_path)
    assert done.returncode == 0
    report = json.loads(done.stdout)
    gliders = next(o for o in report["objects"] if o["apgcode"] == "xq4_153")
    assert gliders["count"] == 5 and len(gliders["positions"]) == 5


def test_show_draws_the_pattern(tmp_path):
    done = cli("ca", "show", str(PATTERNS / "block.rle"), cwd=tmp_path)
    assert done.returncode == 0 and "\u2588\u2588" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ca", "show", "missing.rle"], "no such file"),
        (["ca", "show", "bad.rle"], "bad.rle:1: expected the header"),
        (["ca", "census", str(PATTERNS / "glider.rle"), "--rule", "B9/S"], "rule 'B9/S'"),
        (["ca", "census", str(PATTERNS / "glider.rle"), "--torus", "80by80"], "--torus"),
        (["ca", "census", str(PATTERNS / "pulsar.rle"), "--torus", "5x5"], "does not fit"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, args, message):
    (tmp_path / "bad.rle").write_text("hello\n")
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_writing_a_pattern_again_gives_the_same_bytes(tmp_path):
    first, second, third = (tmp_path / f"{n}.rle" for n in ("first", "second", "third"))
    assert cli("ca", "step", str(PATTERNS / "glider.rle"), "--gens", "0", "-o", str(first),
               cwd=tmp_path).returncode == 0
    assert cli("ca", "step", str(first), "--gens", "0", "-o", str(second),
               cwd=tmp_path).returncode == 0
    assert cli("ca", "step", str(second), "--gens", "0", "-o", str(third),
               cwd=tmp_path).returncode == 0
    assert second.read_bytes() == third.read_bytes() == first.read_bytes()
