"""Real RLE files nobody here wrote (tests/data/rle, see SOURCES.md), and Golly's sparse reading.

Every file either reads and steps exactly as an independent set-of-cells stepper does on the
infinite plane, or gives one line naming the file and what is wrong with it.
"""

import time

import numpy as np
import pytest

from cybermesh_cli.errors import InputError
from cybermesh_cli.substrate.evolve import evolve_live, far_apart_groups
from cybermesh_cli.substrate.rle import format_rle, parse_rle, read_rle
from cybermesh_cli.substrate.rules import parse_rule_spec
from tests.conftest import REPO, cli
from tests.reference import reference_live_step, reference_step

CORPUS = sorted((REPO / "tests" / "data" / "rle").glob("*.rle"))
CHECKED_AT = (1, 12)


def _as_set(live):
    return set(map(tuple, np.asarray(live).tolist()))


def _read(path):
    """Return the pattern and its rule, or the one-line error the file gives."""
    try:
        pattern = read_rle(path)
        return pattern, parse_rule_spec(pattern.rule or "B3/S23")[0], None
    except InputError as exc:
        return None, None, str(exc)


def test_the_corpus_is_large_and_its_sources_are_listed():
    sources = (REPO / "tests" / "data" / "rle" / "SOURCES.md").read_text()
    assert len(CORPUS) >= 1900
    assert "cellular-automata-patterns" in sources and "ISC" in sources


@pytest.mark.parametrize("chunk", range(8))
def test_every_real_file_matches_the_reference_or_gives_one_line(chunk):
    read = errors = 0
    for path in CORPUS[chunk::8]:
        pattern, rule, error = _read(path)
        if error is not None:
            assert error.startswith(str(path)) and "\n" not in error, error
            errors += 1
            continue
        read += 1
        once = format_rle(pattern)
        assert parse_rle(once) == pattern and format_rle(parse_rle(once)) == once, path.name
        if rule.birth & 1:
            cells = pattern.cells
            pad = max(CHECKED_AT) + 2
            expected = reference_step(np.pad(cells, pad), rule.birth, rule.survive, True,
                                      CHECKED_AT[0])
            got = evolve_live(pattern.live, CHECKED_AT[0], rule)
            background = int(expected[0, 0])
            assert _as_set(got) == _as_set(np.argwhere(expected ^ background) - pad), path.name
            continue
        live, done = pattern.live, 0
        for gens in CHECKED_AT:
            live = reference_live_step(live, rule.birth, rule.survive, gens - done)
            done = gens
            assert _as_set(evolve_live(pattern.live, gens, rule)) == _as_set(live), (path.name,
                                                                                      gens)
    assert read > 10 * errors


@pytest.mark.parametrize(("name", "message"), [
    ("briansbrainp3.rle", "Generations"), ("lifehistoryexample.rle", "named"),
    ("pole3rotor.rle", "non-totalistic"), ("kleinbottle.rle", "a Klein bottle"),
])
def test_rules_the_tool_cannot_run_are_named_before_the_body_is_read(name, message):
    _, _, error = _read(REPO / "tests" / "data" / "rle" / name)
    assert error is not None and message in error and ":4: rule" in error


def test_golly_tolerances_headerless_latin1_empty_and_life():
    data = REPO / "tests" / "data" / "rle"
    headerless = read_rle(data / "44p123.rle")
    assert headerless.population == 44 and (headerless.width, headerless.height) == (14, 14)
    assert read_rle(data / "fireship.rle").name == "Fireship"
    empty = read_rle(data / "empty.rle")
    assert empty.population == 0 and (empty.width, empty.height) == (0, 0)
    assert read_rle(data / "figure8on22p36.rle").population > 0
    assert parse_rule_spec("Life")[0] == parse_rule_spec("B3/S23")[0]


def _sparse_text():
    """Return a glider and an R-pentomino 200,000 cells apart, in a 210515 x 183739 box."""
    return ("#N two far apart\nx = 210515, y = 183739, rule = B3/S23\n"
            "bo$2bo$3o183733$210512b2o$210511b2o$210512bo!\n")


def test_a_sparse_pattern_is_read_by_its_cells_and_stepped_per_group():
    started = time.perf_counter()
    pattern = parse_rle(_sparse_text())
    stepped = evolve_live(pattern.live, 200, parse_rule_spec("B3/S23")[0])
    elapsed = time.perf_counter() - started
    assert pattern.population == 10 and pattern.live.nbytes < 1000
    assert _as_set(stepped) == _as_set(reference_live_step(pattern.live, 8, 12, 200))
    assert len(far_apart_groups(pattern.live, 402)) == 2
    assert elapsed < 5, "reading a sparse box must not allocate it"
    with pytest.raises(InputError, match="declared box"):
        _ = pattern.cells


def test_show_step_and_census_work_on_a_sparse_file(tmp_path):
    path = tmp_path / "far.rle"
    path.write_text(_sparse_text())
    shown = cli("ca", "show", str(path), "--gens", "100", cwd=tmp_path)
    assert shown.returncode == 0 and "drawn at 1:" in shown.stdout
    done = cli("ca", "step", str(path), "--gens", "100", "-o", str(tmp_path / "o.rle"),
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = read_rle(tmp_path / "o.rle")
    expected = reference_live_step(parse_rle(_sparse_text()).live, 8, 12, 100)
    assert _as_set(out.live) == _as_set(expected - expected.min(axis=0))
    census = cli("ca", "census", str(path), "--gens", "1200", "--json", cwd=tmp_path)
    assert census.returncode == 0 and '"glider"' in census.stdout
