"""RLE: exact round trips (hypothesis), the pattern library's files, located errors."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cybermesh_cli.errors import InputError
from cybermesh_cli.substrate.evolve import background, evolve, evolve_live
from cybermesh_cli.substrate.rle import MAX_LINE, Pattern, format_rle, parse_rle, read_rle
from cybermesh_cli.substrate.rules import CONWAY, Bounds, parse_rule, parse_rule_spec
from cybermesh_cli.substrate.shapes import trim
from tests.conftest import REPO, cli
from tests.reference import reference_step

PATTERNS = sorted((REPO / "experiments" / "patterns").glob("*.rle"))
comments = st.lists(st.from_regex(r"#[CNO] [a-zA-Z0-9 .,]{0,40}", fullmatch=True), max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    cells=st.integers(1, 40).flatmap(
        lambda h: st.integers(1, 90).flatmap(
            lambda w: arrays(np.uint8, (h, w), elements=st.integers(0, 1)))
    ),
    rule=st.sampled_from([None, "B3/S23", "B36/S23", "B3/S23:P40,30", "B3/S23:T0,50"]),
    notes=comments,
    position=st.none() | st.tuples(st.integers(-10**9, 10**9), st.integers(-10**9, 10**9)),
    generation=st.none() | st.integers(1, 10**12),
)
def test_round_trip_is_exact(cells, rule, notes, position, generation):
    dense = Pattern.from_cells(cells, rule=rule, comments=tuple(notes))
    pattern = Pattern(dense.live, dense.width, dense.height, rule, dense.comments, position,
                      generation)
    text = format_rle(pattern)
    assert parse_rle(text) == pattern
    assert format_rle(parse_rle(text)) == text
    assert all(len(line) <= MAX_LINE for line in text.splitlines() if not line.startswith("#"))


def test_library_files_are_canonical():
    assert len(PATTERNS) >= 17
    for path in PATTERNS:
        text = path.read_text()
        assert format_rle(read_rle(path)) == text, path.name


def test_reads_lifewiki_style_input():
    text = "#N Glider\n#O Richard K. Guy\nx = 3, y = 3, rule = B3/S23\nbob$2bo$\n3o!\n"
    pattern = parse_rle(text)
    assert pattern.name == "Glider"
    np.testing.assert_array_equal(pattern.cells, [[0, 1, 0], [0, 0, 1], [1, 1, 1]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no RLE header"),
        ("#C only a comment\n", "no RLE header"),
        ("x = 3 y = 3\nbo!\n", ":1: expected the header"),
        ("x = 3, y = 3\nbo$2bo$3*!\n", ":2: unexpected '\\*' at column 9"),
        ("#N x\nx = 2, y = 1\n\n2o$C!\n", ":4: cell state 3 \\('C'\\) in a two-state pattern"),
        ("#CXRLE Pos=1\nx = 2, y = 1\n2o!\n", "bad #CXRLE field Pos=1"),
        (f"x = 2, y = 1\n{1 << 41}o!\n", ":2: a cell beyond"),
    ],
)
def test_malformed_rle_names_the_line(text, message):
    with pytest.raises(InputError, match=message):
        parse_rle(text, "bad.rle")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_rle(Path(tmp_path / "none.rle"))


def test_read_as_tolerantly_as_golly():
    text = ("#N split\n#O someone\n#R 0 0\n#P 0 0\n#C note\nx = 5, y = 2, rule = B3/S23\n"
            "2o2\nbx$3\nz!\n")
    pattern = parse_rle(text)  # z is skipped with its count, as Golly 3.3 does
    np.testing.assert_array_equal(pattern.cells, [[1, 1, 0, 0, 1], [0, 0, 0, 0, 0]])
    assert pattern.comments == ("#N split", "#O someone", "#R 0 0", "#P 0 0", "#C note")
    assert parse_rle(format_rle(pattern)) == pattern
    assert parse_rle("x = 0, y = 0\n!\n").cells.shape == (0, 0)


@pytest.mark.parametrize("text", ["B3/S23", "b3s23", "23/3", "S23/B3", "s23b3", "B3/S23:T30,20"])
def test_every_spelling_of_life_golly_accepts(text):
    rule, bounds = parse_rule_spec(text)
    assert rule == CONWAY and bounds == (Bounds("T", 30, 20) if ":T" in text else None)
    assert parse_rule("S245/B368") == parse_rule("245/368") == parse_rule("B368/S245")


@pytest.mark.parametrize(("text", "family"), [
    ("23/3/3", "Generations"), ("B2/S/C3", "Generations"), ("B2e3ai/S23", "non-totalistic"),
    ("B2/S34H", "hexagonal or von Neumann"), ("LifeHistory", "named"),
])
def test_rules_that_cannot_run_are_named_by_family(text, family):
    with pytest.raises(InputError, match=family):
        parse_rule(text)


def _plane_reference(cells, rule, gens):
    """Independent: a torus far wider than the light cone, its own uniform background.

    Under B0 and S8, Golly's cells are holes in a live world from generation 0.
    """
    pad = gens + 2
    start = np.full((3, 3), rule.birth & 1 and rule.survive >> 8 & 1, np.uint8)
    big = reference_step(np.pad(cells, pad) ^ start[0, 0], rule.birth, rule.survive, True, gens)
    empty = reference_step(start, rule.birth, rule.survive, True, gens)
    return trim(big ^ empty[0, 0])


@pytest.mark.parametrize("rule_text", ["B0124/S025", "B013468/S023", "B03/S238", "B0/S8",
                                       "B3/S23"])
def test_b0_rules_on_the_plane_match_an_independent_stepper(rule_text):
    rule = parse_rule(rule_text)
    rng = np.random.default_rng(7)
    for _ in range(4):
        cells = (rng.random((9, 11)) < 0.4).astype(np.uint8)
        for gens in (1, 2, 7, 20):
            expected = _plane_reference(cells, rule, gens)
            got = evolve(cells, gens, rule)
            assert got.shape == expected.shape and np.array_equal(got, expected), (rule_text,
                                                                                    gens)
            assert background(rule, gens) == int(
                reference_step(np.zeros((3, 3), np.uint8), rule.birth, rule.survive, True,
                               gens)[0, 0])


@pytest.mark.parametrize("rule_text", ["B0124/S025", "B013468/S023"])
def test_b0_live_cells_match_an_independent_stepper_every_generation_to_200(rule_text):
    rule = parse_rule(rule_text)
    cells = (np.random.default_rng(11).random((17, 17)) < 0.6).astype(np.uint8)
    pad = 202
    grid = np.pad(cells, pad)
    live = np.argwhere(cells)
    for gens in range(1, 201):
        grid = reference_step(grid, rule.birth, rule.survive, True, 1)
        expected = np.argwhere(grid ^ grid[0, 0]) - pad
        got = evolve_live(live, gens, rule)
        assert set(map(tuple, got.tolist())) == set(map(tuple, expected.tolist())), gens


def test_the_torus_suffix_sets_the_torus_and_is_written_back(tmp_path):
    glider = (REPO / "experiments" / "patterns" / "glider.rle").read_text()
    path = tmp_path / "g.rle"
    path.write_text(glider.replace("rule = B3/S23", "rule = B3/S23:T8,6"))
    done = cli("ca", "step", str(path), "-o", str(tmp_path / "o.rle"), "--gens", "24",
               cwd=tmp_path)
    assert done.returncode == 0 and "on a 8x6 torus" in done.stderr
    stepped = read_rle(tmp_path / "o.rle")
    assert stepped.rule == "B3/S23:T8,6" and stepped.cells.shape == (6, 8)
    assert (stepped.position, stepped.generation) == ((-4, -3), 24)  # the grid's top-left
    start = np.zeros((6, 8), np.uint8)  # Golly centres a 3x3 box: top 6//2 - 1, left 8//2 - 1
    start[2:5, 3:6] = read_rle(path).cells
    expected = reference_step(start, CONWAY.birth, CONWAY.survive, True, 24)
    assert np.array_equal(stepped.cells, expected)
    cli("ca", "step", str(tmp_path / "o.rle"), "-o", str(tmp_path / "twice.rle"), "--gens",
        "13", cwd=tmp_path)
    twice = read_rle(tmp_path / "twice.rle")
    assert twice.generation == 37 and np.array_equal(
        twice.cells, reference_step(start, CONWAY.birth, CONWAY.survive, True, 37))
    done = cli("ca", "step", str(path), "-o", str(tmp_path / "p.rle"), "--torus", "10x10",
               cwd=tmp_path)
    assert read_rle(tmp_path / "p.rle").cells.shape == (10, 10)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_real_files_give_a_pattern_or_one_located_error(data):
    text = data.draw(st.sampled_from(PATTERNS)).read_text()
    cut = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.text(alphabet="0123456789bo$!xyz.#\n =,", max_size=6))
    mutated = text[:cut] + insert + text[cut + data.draw(st.integers(0, 4)):]
    try:
        pattern = parse_rle(mutated, "m.rle")
    except InputError as exc:
        assert str(exc).startswith("m.rle") and "\n" not in str(exc)
    else:
        assert pattern.cells.ndim == 2
