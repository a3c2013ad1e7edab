"""RLE: exact round trips (hypothesis), the pattern library's files, located errors."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cybermesh_cli.errors import InputError
from cybermesh_cli.substrate.rle import MAX_LINE, Pattern, format_rle, parse_rle, read_rle
from tests.conftest import REPO

PATTERNS = sorted((REPO / "experiments" / "patterns").glob("*.rle"))
comments = st.lists(st.from_regex(r"#[CNO] [a-zA-Z0-9 .,]{0,40}", fullmatch=True), max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    cells=st.integers(1, 40).flatmap(
        lambda h: st.integers(1, 90).flatmap(
            lambda w: arrays(np.uint8, (h, w), elements=st.integers(0, 1)))
    ),
    rule=st.sampled_from([None, "B3/S23", "B36/S23"]),
    notes=comments,
)
def test_round_trip_is_exact(cells, rule, notes):
    pattern = Pattern(cells=cells, rule=rule, comments=tuple(notes))
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
        ("x = 3, y = 3\nbo$2bo$3o\n", ":2: the pattern does not end"),
        ("x = 3, y = 3\nbo$2bo$3q!\n", ":2: unexpected 'q' at column 9"),
        ("x = 2, y = 2\n2o$3o!\n", ":2: cells beyond the declared size 2x2"),
        ("#N x\nx = 2, y = 1\n\n2o$o!\n", ":4: cells beyond"),
    ],
)
def test_malformed_rle_names_the_line(text, message):
    with pytest.raises(InputError, match=message):
        parse_rle(text, "bad.rle")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_rle(Path(tmp_path / "none.rle"))
