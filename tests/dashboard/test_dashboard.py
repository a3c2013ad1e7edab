"""The dashboard: frames, mailboxes, ports, and the page driven in Debian's Chromium."""

from tests.conftest import needs

needs("ml", "dashboard")

import json
import re

import numpy as np
import orjson
import pytest

from cybermesh_cli.dashboard.browser import SPACESHIP_COLOUR, open_page, probe
from cybermesh_cli.dashboard.server import Dashboard, Running, bind
from cybermesh_cli.dashboard.simulation import BOT_STATES, build_replay, pack_cells
from cybermesh_cli.errors import InputError
from cybermesh_cli.pulses.registry import Registry
from cybermesh_cli.runs.events import EventLog, read_events
from cybermesh_cli.spec import load_spec
from tests.conftest import REPO, cli, run_spec, tampered_copy

WAVE = load_spec(REPO / "experiments" / "phase7.yaml").block("phase7")["wave"]
ARROW = {"NE": (-1, 1), "NW": (-1, -1), "SE": (1, 1), "SW": (1, -1), "N": (-1, 0), "S": (1, 0),
         "E": (0, 1), "W": (0, -1)}


@pytest.fixture(scope="module")
def phase3_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("dash")
    return run_spec(root, "phase3.yaml", "--set", "duration.ticks=40",
                    failing=("delivery.min_delivered_lower_ci",
                             "delivery.min_right_bot_lower_ci"))  # 40 ticks: none judged


def test_packed_grid_unpacks_row_major_most_significant_bit_first():
    cells = (np.random.default_rng(2).random((80, 80)) < 0.3).astype(np.uint8)
    import base64

    raw = np.frombuffer(base64.b64decode(pack_cells(cells)), np.uint8)
    assert raw.size == 800
    assert np.array_equal(np.unpackbits(raw).reshape(80, 80), cells)


class _Still:
    def frame_counts(self):
        return {"delivered": 0, "dropped": 0, "in_flight": 0}


def test_a_slow_client_gets_the_newest_frame_and_the_drop_is_counted(tmp_path):
    from cybermesh_cli.dashboard.server import Client

    with EventLog(tmp_path / "events.jsonl") as events:
        board = Dashboard(_Still(), events, fps=2, ticks_per_frame=1)
        board.clients[0] = client = Client(0)
        board.publish({"tick": 1}, [])
        board.publish({"tick": 2}, [5])
    assert client.pending_seq == 2 and orjson.loads(client.pending)["events"] == [5]
    assert set(client.sent) == {2}  # the replaced frame will never be acknowledged
    assert client.dropped == board.stats.dropped == 1
    lines = [orjson.loads(x) for x in (tmp_path / "events.jsonl").read_bytes().splitlines()]
    (dropped,) = [e for e in lines if e["type"] == "dashboard.dropped"]
    assert dropped["payload"] == {"client": 0, "seq": 1, "replaced_by": 2}


def test_a_busy_port_moves_on_to_the_next_free_one():
    taken = bind("127.0.0.1", 0)
    port = taken.getsockname()[1]
    try:
        other = bind("127.0.0.1", port)
        assert other.getsockname()[1] != port
        other.close()
        with pytest.raises(InputError, match="no free port"):
            bind("127.0.0.1", port, attempts=1)
    finally:
        taken.close()
    assert bind("127.0.0.1", 0).getsockname()[0] == "127.0.0.1"


@pytest.mark.slow
def test_the_page_draws_states_follows_gliders_and_acknowledges_every_frame(phase3_run):
    simulation = build_replay(phase3_run, WAVE, Registry(REPO / "adapters"))
    with EventLog(phase3_run / "dashboard.jsonl") as events:
        events.emit("run.start", -1, {"name": "dashboard-test"})
        board = Dashboard(simulation, events, fps=6, ticks_per_frame=4)
        running = Running(board)
        running.start()
        probes = []
        try:
            with open_page(running.url) as page:
                page.wait_for_function("window.dashboard.drawn >= 1")
                while len(probes) < 25:
                    drawn = page.evaluate("window.dashboard.drawn")
                    page.wait_for_function(f"window.dashboard.drawn > {drawn}")
                    probes.append(probe(page))
                page.click("#pause")
                page.wait_for_timeout(600)
                paused_at = page.evaluate("window.dashboard.lastFrame.seq")
                page.wait_for_timeout(700)
                assert page.evaluate("window.dashboard.lastFrame.seq") == paused_at
                page.select_option("#speed", "16")
                page.click("#resume")
                page.wait_for_function(f"window.dashboard.lastFrame.seq > {paused_at + 2}")
                ticks = page.evaluate("window.dashboard.lastFrame.tick")
                page.wait_for_function(f"window.dashboard.lastFrame.tick > {ticks}")
                assert page.evaluate("window.dashboard.lastFrame.tick") - ticks == 16
                board.paused = True
                page.wait_for_timeout(800)
                page.screenshot(path=str(phase3_run / "dashboard.png"))
        finally:
            running.stop()
    assert (phase3_run / "dashboard.png").stat().st_size > 10_000
    # every bot's band has its state's colour, and every state name is a known one
    assert all(b["drawn"] == b["expected"] for p in probes for b in p["bots"])
    assert {b["state"] for p in probes for b in p["bots"]} <= set(BOT_STATES)
    # spaceship boxes are drawn, and some box moves one cell along its heading a frame
    boxes = [(p["tick"], b) for p in probes for b in p["boxes"]]
    assert boxes and all(b["drawn"] == SPACESHIP_COLOUR for _, b in boxes)
    followed = sum(
        1 for (t0, a) in boxes for (t1, b) in boxes
        if t1 == t0 + 4 and a["heading"] == b["heading"] in ("NE", "NW", "SE", "SW")
        and (b["top"] - a["top"], b["left"] - a["left"]) == ARROW[a["heading"]])
    assert followed >= 1
    # acknowledgements: every frame sent was acknowledged with the event ids it carried
    stats = board.stats
    assert stats.sent >= 25 and stats.acked == stats.sent and stats.mismatched == 0
    log = read_events(phase3_run / "dashboard.jsonl").events
    sent = {e["payload"]["seq"] for e in log if e["type"] == "dashboard.frame"}
    acked = {e["payload"]["seq"] for e in log if e["type"] == "dashboard.ack"}
    assert sent == acked and len(sent) == stats.sent


@pytest.mark.slow
def test_dashboard_run_passes_its_criteria(tmp_path):
    run = run_spec(tmp_path, "phase7.yaml", "--set", "phase7.seconds=15")
    metrics = json.loads((run / "metrics.json").read_text())
    assert all(c["passed"] for c in metrics["criteria"]) and len(metrics["criteria"]) == 8
    figures = metrics["figures"]
    assert figures["frames"]["dropped"] == 0 and figures["frames"]["acked"] >= 15
    assert figures["spaceship_boxes_checked"] > 0 and figures["bots_checked"] >= 25 * 5
    assert (run / "dashboard.png").stat().st_size > 10_000
    replayed = cli("replay", str(run), cwd=tmp_path)
    verified = re.search(r"re-simulation verified (\d+) events", replayed.stdout)
    assert replayed.returncode == 0 and verified and int(verified.group(1)) > 20
    copy, line, _ = tampered_copy(run, lambda raw: b'"carrier.launched"' in raw,
                                  lambda e: e["payload"].update(bot=-1))
    tampered = cli("replay", str(copy), cwd=tmp_path)
    assert tampered.returncode == 1 and f"line {line}" in tampered.stdout


@pytest.mark.slow
def test_dashboard_command_refuses_bad_input_in_one_line(tmp_path, phase3_run):
    outside = cli("dashboard", str(REPO / "experiments" / "phase7.yaml"), "--replay",
                  str(tmp_path), cwd=tmp_path)
    assert outside.returncode == 2 and "not a run folder" in outside.stderr
    wrong = cli("dashboard", str(REPO / "experiments" / "phase3.yaml"), cwd=tmp_path)
    assert wrong.returncode == 2 and "needs a phase 7 spec" in wrong.stderr
    assert "Traceback" not in outside.stderr + wrong.stderr


def test_a_bad_host_is_named_and_nothing_is_written(tmp_path):
    with pytest.raises(InputError, match="--host 10.255.255.1: cannot listen there"):
        bind("10.255.255.1", 0)  # an address this machine does not have
    taken = bind("127.0.0.1", 0)
    try:
        for args, message in ((("--host", "no-such-host.invalid"), "--host no-such-host.invalid"),
                              (("--port", str(taken.getsockname()[1]), "--host", "127.0.0.1"),
                               None)):
            done = cli("dashboard", "phase7", *args, "--minutes", "0.01", cwd=tmp_path)
            if message is None:  # a taken port moves on to the next free one
                assert done.returncode == 0, done.stderr
                continue
            assert done.returncode == 2 and message in done.stderr, done.stderr
            assert "Traceback" not in done.stderr and not (tmp_path / "runs").exists()
    finally:
        taken.close()


def test_run_folders_started_in_the_same_second_never_collide(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from cybermesh_cli.runs.record import new_run_folder

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: new_run_folder(tmp_path, "dashboard"), range(24)))
    assert len(set(made)) == 24 and all(folder.is_dir() for folder in made)


def test_acknowledgements_are_bounded_and_malformed_messages_ignored(tmp_path):
    from cybermesh_cli.dashboard.server import Client

    with EventLog(tmp_path / "events.jsonl") as events:
        board = Dashboard(_Still(), events, fps=2, ticks_per_frame=1)
        board.clients[0] = client = Client(0)
        board.publish({"tick": 1}, [])
        for message in ({"ack": "1"}, {"ack": None}, {"cmd": "speed", "value": "9" * 5000},
                        {"cmd": "speed", "value": [1]}, {"cmd": "jump"}, {"ack": 1,
                        "drawn_ms": "x" * 100_000, "events": {"a": 1}}):
            board._command(client, message)
    assert board.ticks_per_frame == 1 and board.stats.acked == 1 and board.stats.mismatched == 1
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    (ack,) = [orjson.loads(x) for x in lines if b'"dashboard.ack"' in x]
    assert ack["payload"]["drawn_ms"] is None and len(max(lines, key=len)) < 1000


@pytest.mark.slow
def test_dashboard_command_serves_a_replay_for_a_while_and_logs_it(phase3_run):
    root = phase3_run.parent.parent
    done = cli("dashboard", "phase7", "--replay", f"runs/{phase3_run.name}", "--minutes",
               "0.05", cwd=root)  # the bundled spec by name, from a folder without it
    assert done.returncode == 0, done.stderr
    assert "http://127.0.0.1:" in done.stderr and "frames" in done.stderr
    (folder,) = (root / "runs").glob("*-dashboard-replay")
    log = read_events(folder / "events.jsonl").events
    assert log[-1]["type"] == "run.end" and sum(e["type"] == "shard.injected" for e in log) > 0
    listed = cli("runs", "list", cwd=root)
    assert listed.returncode == 0, listed.stderr


@pytest.mark.slow
def test_the_page_queries_the_live_worlds_memory_and_draws_the_route(phase3_run):
    simulation = build_replay(phase3_run, WAVE, Registry(REPO / "adapters"))
    simulation.advance(400)
    held = len(simulation.world.memory.store)
    assert held > 0
    with EventLog(phase3_run / "recall-dashboard.jsonl") as events:
        board = Dashboard(simulation, events, fps=4, ticks_per_frame=1)
        running = Running(board)
        running.start()
        try:
            with open_page(running.url) as page:
                page.wait_for_function("window.dashboard.drawn >= 1")
                page.fill("#recall-text", "ships crossing the ocean")
                page.click("#recall-go")
                page.wait_for_function("window.dashboard.recall !== null", timeout=60_000)
                result = page.evaluate("window.dashboard.recall")
                drawn = page.evaluate("window.dashboard.drawn")
                page.wait_for_function(f"window.dashboard.drawn > {drawn + 1}")
                route = page.evaluate("window.dashboard.lastFrame.route")
                items = page.locator("#recall-hits li").count()
                scale = 640 / (simulation.world.mesh.cols * simulation.world.tiling.tile)
                side = simulation.world.tiling.tile * scale
                bot = result["path"][0]
                x, y = ((bot % 5) + 0.5) * side, ((bot // 5) + 0.5) * side
                pixel = page.evaluate(
                    f"Array.from(document.getElementById('world').getContext('2d')"
                    f".getImageData({int(x)}, {int(y)}, 1, 1).data)")
                bad = page.evaluate("fetch('/recall?text=x&origin=99').then(r => r.status)")
        finally:
            running.stop()
    in_probed = sum(len(simulation.world.memory.store.entries(b)) for b in result["probed"])
    assert len(result["hits"]) == items == min(10, in_probed) and result["probe"] == 2
    assert route == {"path": result["path"], "probed": result["probed"]}
    mesh = simulation.world.mesh
    assert all(mesh.hops[a, b] == 1 for a, b in zip(route["path"], route["path"][1:]))
    if len(route["path"]) > 1:
        assert pixel[:3] == [124, 252, 0]  # the walk is drawn through its first bot's centre
    assert bad == 400
