"""The dashboard server: FastAPI + uvicorn, one WebSocket that streams frames, one page.

Frames: the simulation advances ``ticks_per_frame`` ticks every ``1 / fps`` seconds; the new
frame (orjson text, its grid bit-packed) gets a sequence number, the tick and the sequence
numbers of the events it shows (their lines in the event log). Each client has a one-frame
mailbox: a frame that arrives before the last one was sent replaces it and counts as dropped, so
a slow client gets the newest frame, never a queue. The server logs every send
(``dashboard.frame``) and every acknowledgement (``dashboard.ack``, with the round trip), so the
backend's and the page's events correlate one for one.
"""

from __future__ import annotations

import asyncio
import errno
import math
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse

from cybermesh_cli.dashboard.simulation import BOT_STATES, Simulation
from cybermesh_cli.errors import InputError
from cybermesh_cli.runs.events import EventLog

STATIC = Path(__file__).parent / "static"
MAX_TICKS_PER_FRAME = 64
MAX_MESSAGE_BYTES = 64 * 1024  # a client's acknowledgement or command; larger ends its socket


@dataclass
class Client:
    """One connected page: its mailbox and what it has been sent."""

    id: int
    pending: bytes | None = None
    pending_seq: int = -1
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    sent: dict[int, tuple[float, list[int]]] = field(default_factory=dict)  # seq -> (t, ids)
    dropped: int = 0


@dataclass
class Stats:
    """What the criteria need, kept as the server runs."""

    frames: int = 0
    sent: int = 0
    acked: int = 0
    mismatched: int = 0
    dropped: int = 0
    rtt_ms: list[float] = field(default_factory=list)
    payload_bytes: list[int] = field(default_factory=list)
    first_send: float | None = None
    last_send: float | None = None


class Dashboard:
    """Runs the simulation on a clock and fans frames out to the connected pages."""

    def __init__(self, simulation: Simulation, events: EventLog, fps: float,
                 ticks_per_frame: int) -> None:
        """Hold the simulation and the log; nothing runs until :meth:`produce` is started."""
        self.simulation = simulation
        self.events = events
        self.fps = fps
        self.ticks_per_frame = ticks_per_frame
        self.paused = False
        self.clients: dict[int, Client] = {}
        self.stats = Stats()
        self.seq = 0
        self.tick = -1  # the tick of the newest frame: what frame and ack events are logged at
        self._next_client = 0
        self._t0 = time.monotonic()

    def now_ms(self) -> float:
        """Milliseconds since the server started (the clock frames and acks are logged on)."""
        return (time.monotonic() - self._t0) * 1000

    async def produce(self, stop: asyncio.Event) -> None:
        """Advance and publish a frame every ``1 / fps`` seconds until ``stop`` is set."""
        period = 1.0 / self.fps
        deadline = time.monotonic()
        while not stop.is_set():
            deadline += period
            if not self.paused:
                events = await asyncio.to_thread(self.simulation.advance, self.ticks_per_frame)
                ids = [self.events.emit(e.type, e.tick, e.payload) for e in events]
                self.publish(self.simulation.frame(), ids)
            delay = deadline - time.monotonic()
            if delay < 0:  # running late: skip ahead instead of bursting
                deadline = time.monotonic()
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(delay, 0.0))
            except TimeoutError:
                pass

    def publish(self, frame: dict[str, Any], event_ids: list[int]) -> None:
        """Give the frame its number and put it in every client's mailbox, replacing any unsent."""
        self.seq += 1
        self.tick = frame["tick"]
        self.stats.frames += 1
        frame = {**frame, "seq": self.seq, "events": event_ids, "t": round(self.now_ms(), 3),
                 "counters": self.counters()}
        data = orjson.dumps(frame)
        for client in self.clients.values():
            if client.pending is not None:
                client.sent.pop(client.pending_seq, None)  # never sent, so never acknowledged
                client.dropped += 1
                self.stats.dropped += 1
                self.events.emit("dashboard.dropped", frame["tick"], {
                    "client": client.id, "seq": client.pending_seq, "replaced_by": self.seq})
            client.pending, client.pending_seq = data, self.seq
            client.sent[self.seq] = (0.0, event_ids)
            client.ready.set()

    def counters(self) -> dict[str, Any]:
        """Live counters shown on the page."""
        recent = self.stats.rtt_ms[-20:]
        return {"latency_ms": round(sorted(recent)[len(recent) // 2], 2) if recent else None,
                "drops": self.stats.dropped, "fps_target": self.fps,
                "ticks_per_frame": self.ticks_per_frame, "paused": self.paused,
                **self.simulation.frame_counts()}

    async def serve_client(self, socket_: WebSocket) -> None:
        """Send frames from the client's mailbox and read its acknowledgements and commands."""
        await socket_.accept()
        client = Client(self._next_client)
        self._next_client += 1
        self.clients[client.id] = client
        await socket_.send_text(orjson.dumps({"hello": {"states": BOT_STATES,
                                                        "client": client.id}}).decode())
        receiver = asyncio.create_task(self._receive(socket_, client))
        try:
            while not receiver.done():
                await client.ready.wait()
                client.ready.clear()
                data, seq = client.pending, client.pending_seq
                client.pending = None
                if data is None:
                    continue
                sent_at = self.now_ms()
                await socket_.send_text(data.decode())
                client.sent[seq] = (sent_at, client.sent[seq][1])
                self.stats.sent += 1
                self.stats.payload_bytes.append(len(data))
                self.stats.first_send = self.stats.first_send or sent_at
                self.stats.last_send = sent_at
                self.events.emit("dashboard.frame", self.tick, {
                    "client": client.id, "seq": seq, "bytes": len(data), "sent_ms": sent_at,
                    "events": client.sent[seq][1]})
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            receiver.cancel()
            self.clients.pop(client.id, None)

    async def _receive(self, socket_: WebSocket, client: Client) -> None:
        while True:
            try:
                message = orjson.loads(await socket_.receive_text())
            except (WebSocketDisconnect, RuntimeError):
                client.ready.set()
                return
            except orjson.JSONDecodeError:
                continue  # not JSON: ignored, as a command it does not know
            if isinstance(message, dict):
                self._command(client, message)

    def _command(self, client: Client, message: dict[str, Any]) -> None:
        """Act on one acknowledgement or command; a malformed one is ignored."""
        if isinstance(message.get("ack"), int):
            self._ack(client, message)
        elif message.get("cmd") in ("pause", "resume"):
            self.paused = message["cmd"] == "pause"
        elif message.get("cmd") == "speed" and isinstance(message.get("value"), int):
            self.ticks_per_frame = max(1, min(MAX_TICKS_PER_FRAME, message["value"]))

    def _ack(self, client: Client, message: dict[str, Any]) -> None:
        seq = message["ack"]
        sent = client.sent.pop(seq, None)
        if sent is None:
            return
        rtt = self.now_ms() - sent[0]
        matched = message.get("events", []) == sent[1]
        drawn = message.get("drawn_ms")
        drawn_ms = round(float(drawn), 3) if isinstance(drawn, int | float) and \
            not isinstance(drawn, bool) and math.isfinite(drawn) else None
        self.stats.acked += 1
        self.stats.mismatched += not matched
        self.stats.rtt_ms.append(rtt)
        self.events.emit("dashboard.ack", self.tick, {
            "client": client.id, "seq": seq, "rtt_ms": round(rtt, 3), "events_match": matched,
            "drawn_ms": drawn_ms})


def create_app(dashboard: Dashboard) -> FastAPI:
    """Build the app: the page, its script, the frame socket, and memory queries."""
    app = FastAPI(title="CyberMesh dashboard", docs_url=None, redoc_url=None)

    @app.get("/")
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/app.js")
    async def script() -> FileResponse:
        return FileResponse(STATIC / "app.js", media_type="text/javascript")

    @app.get("/recall")
    async def recall(text: str, k: int = 10, probe: int | None = None,
                     origin: int = 0) -> JSONResponse:
        try:
            return JSONResponse(dashboard.simulation.recall(text, k, probe, origin))
        except InputError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    @app.websocket("/ws")
    async def frames(socket_: WebSocket) -> None:
        await dashboard.serve_client(socket_)

    return app


def bind(host: str, port: int, attempts: int = 20) -> socket.socket:
    """Bind a listening socket; port 0 picks a free one; "address in use" tries the next port.

    Any other failure (an address this machine does not have, a name that does not resolve)
    is the host's fault, and says so.
    """
    last: OSError | None = None
    for offset in range(attempts if port else 1):
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port + offset if port else 0))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise InputError(f"--host {host}: cannot listen there ({exc})") from None
            last = exc
            continue
        sock.listen(128)
        return sock
    raise InputError(f"--port {port}: no free port in {port}..{port + attempts - 1} ({last})")


class Running:
    """The server and the simulation clock on a background thread (for runs and tests)."""

    def __init__(self, dashboard: Dashboard, host: str = "127.0.0.1", port: int = 0,
                 sock: socket.socket | None = None) -> None:
        """Bind now (or take ``sock``, already bound), so the URL is known; serve on start."""
        self.dashboard = dashboard
        self.sock = sock or bind(host, port)
        address = self.sock.getsockname()
        self.url = f"http://{host if ':' not in host else f'[{host}]'}:{address[1]}/"
        self._thread: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._server: Any = None
        self.error: BaseException | None = None

    async def main(self, until: float | None = None) -> None:
        """Serve and produce frames until stopped (or for ``until`` seconds)."""
        import uvicorn

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        config = uvicorn.Config(create_app(self.dashboard), log_level="warning", lifespan="off",
                                ws_ping_interval=None, ws_max_size=MAX_MESSAGE_BYTES)
        self._server = uvicorn.Server(config)
        producer = asyncio.create_task(self.dashboard.produce(self._stop))
        serving = asyncio.create_task(self._server.serve(sockets=[self.sock]))
        if until is not None:
            self._loop.call_later(until, self._stop.set)
        await self._stop.wait()
        self._server.should_exit = True
        await asyncio.gather(producer, serving)

    def start(self) -> None:
        """Run :meth:`main` on a daemon thread; return once frames are being produced."""
        import threading

        started = threading.Event()

        def target() -> None:
            async def run() -> None:
                started_task = asyncio.create_task(self.main())
                await asyncio.sleep(0)
                started.set()
                await started_task

            try:
                asyncio.run(run())
            except BaseException as exc:  # noqa: BLE001 - reported by stop()
                self.error = exc
                started.set()

        self._thread = threading.Thread(target=target, name="dashboard", daemon=True)
        self._thread.start()
        started.wait(30)

    def stop(self) -> None:
        """Stop serving and wait for the thread; re-raise what it died of, if anything."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)
        if self.error is not None:
            raise self.error
