"""Object separation as apgsearch does it, apgcodes for any periodic object, the soup census."""

import json

import numpy as np
import pytest

from cybermesh_cli.substrate.detect import detect
from cybermesh_cli.substrate.rle import read_rle
from cybermesh_cli.substrate.rules import parse_rule
from cybermesh_cli.substrate.separate import periodicity, separate, step_plane
from tests.conftest import REPO, cli
from tests.reference import reference_step


def _codes(cells):
    return sorted(p.apgcode for p in separate(np.array(cells, np.uint8)))


def test_a_traffic_light_is_four_blinkers_and_two_near_blocks_are_two_blocks():
    light = np.zeros((9, 9), np.uint8)
    light[0, 3:6] = light[8, 3:6] = 1
    light[3:6, 0] = light[3:6, 8] = 1
    assert [p.apgcode for p in separate(light)] == ["xp2_7"] * 4
    for gap in (1, 2):  # one or two dead columns between them
        blocks = np.zeros((2, 4 + gap), np.uint8)
        blocks[:, :2] = blocks[:, 2 + gap:] = 1
        assert _codes(blocks) == ["xs4_33", "xs4_33"]
        whole = detect(np.pad(blocks, 3), torus=False)
        assert [d.apgcode for d in whole] == (["unknown"] if gap == 1 else ["xs4_33"] * 2)
        split = detect(np.pad(blocks, 3), torus=False, separate_unknown=True)
        assert [(d.name, d.population) for d in split] == [("block", 4)] * 2
    found = detect(np.pad(light, 4), torus=True, separate_unknown=True)
    assert [(d.name, d.population) for d in found] == [("blinker", 3)] * 4
    long_boat = np.pad(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 1]],
                                np.uint8), 3)
    assert [d.apgcode for d in detect(long_boat, separate_unknown=True)] == ["xs7_25ac"]


def test_ca_census_of_a_file_splits_a_traffic_light(tmp_path):
    (tmp_path / "light.rle").write_text("x = 7, y = 7\n2b3o2$o5bo$o5bo$o5bo2$2b3o!\n")
    done = cli("ca", "census", str(tmp_path / "light.rle"), "--json", cwd=tmp_path)
    objects = json.loads(done.stdout)["objects"]
    assert [(o["name"], o["count"]) for o in objects] == [("blinker", 4)]


def test_objects_that_interact_stay_together():
    assert _codes([[1, 1], [1, 0]]) == ["unknown"]  # becomes a block: not yet an object
    beacon = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 1]], np.uint8)
    assert _codes(beacon) == ["xp2_318c"]  # two touching halves that need each other


def test_objects_outside_the_library_get_catagolue_codes():
    long_boat = np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 1]], np.uint8)
    assert periodicity(long_boat).apgcode == "xs7_25ac"
    lwss = np.array([[0, 1, 0, 0, 1], [1, 0, 0, 0, 0], [1, 0, 0, 0, 1], [1, 1, 1, 1, 0]],
                    np.uint8)
    assert periodicity(lwss).apgcode == "xq4_6frc"
    assert separate((np.random.default_rng(1).random((12, 12)) < 0.5).astype(np.uint8))[
        0].apgcode == "unknown"  # a soup still evolving never repeats


@pytest.mark.parametrize("rule", ["B3/S23", "B36/S23", "B3678/S34678"])
def test_the_small_stepper_equals_the_reference(rule):
    parsed = parse_rule(rule)
    cells = (np.random.default_rng(2).random((20, 20)) < 0.4).astype(np.uint8)
    padded = np.pad(cells, 3)
    assert np.array_equal(step_plane(padded, parsed),
                          reference_step(padded, parsed.birth, parsed.survive, False))


@pytest.mark.slow
def test_a_soup_census_reproduces_catagolue_within_15_percent(tmp_path):
    """The issue's figure: 1000 soups, seed 1 (about 90 s on two cores)."""
    done = cli("ca", "census", "--soups", "1000", "--seed", "1", "--json", "--haul", "h.txt",
               cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["soups"] == 1000 and report["unknown_fraction"] < 0.01
    for row in report["comparison"]:
        assert abs(row["difference"]) <= 0.15, row
    assert report["counts"]["xp2_7"] > 0.85 * report["counts"]["xs4_33"]
    header, table = (tmp_path / "h.txt").read_text().split("@CENSUS TABLE\n")
    fields = dict(line.split(" ", 1) for line in header.splitlines() if line.startswith("@"))
    counts = [(code, int(n)) for code, n in (line.split() for line in table.splitlines())]
    named = {k: v for k, v in report["counts"].items() if k != "unknown"}
    assert dict(counts) == named and [n for _, n in counts] == sorted(named.values(), reverse=True)
    assert (fields["@RULE"], fields["@SYMMETRY"], fields["@NUM_SOUPS"]) == ("b3s23", "C1", "1000")
    assert int(fields["@NUM_OBJECTS"]) == sum(named.values())


def test_census_input_errors_are_one_line(tmp_path):
    done = cli("ca", "census", cwd=tmp_path)
    assert done.returncode == 2 and "--soups N" in done.stderr
    glider = str(REPO / "experiments" / "patterns" / "glider.rle")
    both = cli("ca", "census", glider, "--soups", "2", cwd=tmp_path)
    assert both.returncode == 2 and "not both" in both.stderr
    haul = cli("ca", "census", glider, "--haul", "h.txt", cwd=tmp_path)
    assert haul.returncode == 2 and "--soups" in haul.stderr and not (tmp_path / "h.txt").exists()


RLE = REPO / "tests" / "data" / "rle"
APART = ("copperhead", "coeship", "cross", "smiley", "roteightor", "34p14shuttle",
         "queenbeeshuttle", "twinbeesshuttle", "p40bheptominoshuttle", "schickengine",
         "pentadecathlon", "sidecar")  # parts 3 or more cells apart in some phase
LONG_PERIODS = {"110p62": 62, "34p64": 64, "78p70": 70, "60p72": 72, "47p72": 72, "77p77": 77,
                "126p781": 78, "122p801": 80, "114p84": 84, "84p87": 87, "49p88": 88,
                "106p135": 135, "92p156": 156, "104p177": 177, "60p312": 312}


def _answers(phases, orientations=8):
    """Name what detect finds from each phase in each orientation (rotations, reflections)."""
    seen = set()
    for phase in phases:
        for turn in range(orientations):
            cells = np.rot90(phase, turn % 4)[:, ::-1] if turn >= 4 else np.rot90(phase, turn)
            found = detect(np.pad(cells, 12), torus=False, separate_unknown=True)
            seen.add(tuple(sorted(d.apgcode for d in found)))
    return seen


def test_every_library_object_gets_one_apgcode_in_every_phase_and_orientation():
    named = 0
    for path in sorted((REPO / "experiments" / "patterns").glob("*.rle")):
        whole = periodicity(read_rle(path).cells)
        if whole is None:
            continue  # a gun or a methuselah: no object
        assert _answers(whole.phases) == {(whole.apgcode,)}, path.name
        named += 1
    assert named >= 15


@pytest.mark.slow
@pytest.mark.parametrize("name", APART)
def test_an_object_whose_parts_lie_apart_gets_one_apgcode_in_every_phase(name):
    """Issue 27's misses: a copperhead, shuttles, a Schick engine... named whole every time."""
    whole = periodicity(read_rle(RLE / f"{name}.rle").cells)
    assert _answers(whole.phases) == {(whole.apgcode,)}


# Named by phase before envelopes: parts that touch in some phases (killer toads, a flotilla),
# oscillators whose envelopes meet (figure eight on pentadecathlon), gliders in flight, a
# phase of Achim's p11 that looks like blocks and blinkers, halves 20 cells apart (centinal).
ENVELOPED = ("figureeightonpentadecathlon", "pentadecathlononsnacker", "moldonpentadecathlon",
             "figureeighton34p13", "killertoads", "lwssonhwss", "achimsp11", "p42glidershuttle",
             "244p3", "quasar2", "centinal", "zweiback", "sealtagalong")


@pytest.mark.slow
@pytest.mark.parametrize("name", ENVELOPED)
def test_objects_whose_envelopes_meet_get_one_apgcode_in_every_phase(name):
    """Six phases spread over the period, each in 8 orientations: one answer, the whole's."""
    whole = periodicity(read_rle(RLE / f"{name}.rle").cells)
    assert _answers(whole.phases[::max(1, whole.period // 6)]) == {(whole.apgcode,)}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LONG_PERIODS))
def test_oscillators_of_period_61_to_1000_are_named(name):
    """The corpus's oscillators of periods 62-312 (the number after p in the file's name)."""
    whole = periodicity(read_rle(RLE / f"{name}.rle").cells)
    period = LONG_PERIODS[name]
    assert whole is not None and whole.period == period
    assert whole.apgcode.startswith(f"xp{period}_")
    assert _answers(whole.phases[::max(1, period // 2)], orientations=8) == {(whole.apgcode,)}
