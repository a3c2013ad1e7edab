// Draws the dashboard's frames and acknowledges each one (seq + the event ids it showed).
"use strict";

const STATE_COLOURS = {
  idle: "#3c3c3c", routing: "#2e9e44", holding: "#e0c020", pulsing: "#9b4dff",
  overloaded: "#e53935",
};
const SPACESHIP = "#ff8c00", OTHER = "#5a8dee", SHARD = "#ff3da5", WAVE = "#00e5ff";
const ROUTE = "#7cfc00";
const ARROWS = { N: [-1, 0], NE: [-1, 1], E: [0, 1], SE: [1, 1], S: [1, 0], SW: [1, -1],
                 W: [0, -1], NW: [-1, -1] };

const canvas = document.getElementById("world");
const ctx = canvas.getContext("2d");
const state = { states: [], drawn: 0, lastFrame: null, arrivals: [], socket: null,
                recall: null };
window.dashboard = state;  // read by the browser test

function legend(states) {
  document.getElementById("legend").innerHTML = states.map(
    (s) => `<div><span class="swatch" style="background:${STATE_COLOURS[s]}"></span>${s}</div>`
  ).join("");
}

function unpack(grid) {
  const bytes = Uint8Array.from(atob(grid.bits), (c) => c.charCodeAt(0));
  const cells = new Uint8Array(grid.h * grid.w);
  for (let i = 0; i < cells.length; i++) cells[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return cells;
}

function draw(frame) {
  const { h, w } = frame.grid;
  const scale = canvas.width / w;
  const { rows, cols, tile } = frame.mesh;
  const side = tile * scale;
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  // bots: each tile tinted with its state's colour, ringed when it holds the adapter
  for (let bot = 0; bot < rows * cols; bot++) {
    const x = (bot % cols) * side, y = Math.floor(bot / cols) * side;
    ctx.globalAlpha = 0.25;
    ctx.fillStyle = STATE_COLOURS[state.states[frame.bots[bot]]];
    ctx.fillRect(x, y, side, side);
    ctx.globalAlpha = 1;
    if (frame.wave.complete.includes(bot)) {
      ctx.strokeStyle = WAVE;
      ctx.lineWidth = 2;
      ctx.strokeRect(x + 10, y + 10, side - 20, side - 20);
    }
  }
  // the CA grid (cells inset by a pixel, so grid lines stay dark)
  const cells = unpack(frame.grid);
  ctx.fillStyle = "#f0f0f0";
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (cells[y * w + x]) ctx.fillRect(x * scale + 1, y * scale + 1, scale - 2, scale - 2);
    }
  }
  // shards and their hop trails
  ctx.strokeStyle = SHARD;
  ctx.lineWidth = 1.5;
  for (const [, points] of frame.trails) {
    ctx.beginPath();
    points.forEach(([y, x], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x * scale, y * scale));
    ctx.stroke();
  }
  ctx.fillStyle = SHARD;
  for (const [, y, x] of frame.shards) {
    ctx.beginPath();
    ctx.arc(x * scale, y * scale, 4, 0, 2 * Math.PI);
    ctx.fill();
  }
  // detection overlay, spaceships last so they stay on top: boxes and heading arrows
  for (const [top, left, bh, bw, heading, kind] of [...frame.objects].reverse()) {
    ctx.strokeStyle = kind === 0 ? SPACESHIP : OTHER;
    ctx.lineWidth = kind === 0 ? 2 : 1;
    ctx.strokeRect(left * scale - 2, top * scale - 2, bw * scale + 4, bh * scale + 4);
    if (heading && ARROWS[heading]) {
      const [dy, dx] = ARROWS[heading];
      const cy = (top + bh / 2) * scale, cx = (left + bw / 2) * scale;
      ctx.beginPath();
      ctx.moveTo(cx, cy);
      ctx.lineTo(cx + dx * 3 * scale, cy + dy * 3 * scale);
      ctx.stroke();
    }
  }
  // the last memory query: its walk from tile centre to tile centre, rings on probed bots
  if (frame.route) {
    const centre = (bot) => [((bot % cols) + 0.5) * side, (Math.floor(bot / cols) + 0.5) * side];
    ctx.strokeStyle = ROUTE;
    ctx.lineWidth = 3;
    ctx.beginPath();
    frame.route.path.forEach((bot, i) => {
      const [x, y] = centre(bot);
      (i ? ctx.lineTo : ctx.moveTo).call(ctx, x, y);
    });
    ctx.stroke();
    for (const bot of frame.route.probed) {
      const [x, y] = centre(bot);
      ctx.beginPath();
      ctx.arc(x, y, side / 5, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
  // each bot's state as a solid band along the top of its tile, drawn last so it is never hidden
  for (let bot = 0; bot < rows * cols; bot++) {
    ctx.fillStyle = STATE_COLOURS[state.states[frame.bots[bot]]];
    ctx.fillRect((bot % cols) * side + 2, Math.floor(bot / cols) * side + 2, side - 4, 6);
  }
}

function counters(frame, bytes) {
  const now = performance.now();
  state.arrivals.push(now);
  while (state.arrivals.length && now - state.arrivals[0] > 5000) state.arrivals.shift();
  const span = (state.arrivals[state.arrivals.length - 1] - state.arrivals[0]) / 1000;
  const fps = span > 0 ? (state.arrivals.length - 1) / span : 0;
  const c = frame.counters;
  const set = (id, text) => { document.getElementById(id).textContent = text; };
  set("c-tick", frame.tick);
  set("c-seq", frame.seq);
  set("c-fps", fps.toFixed(2));
  set("c-latency", c.latency_ms === null ? "-" : c.latency_ms.toFixed(1));
  set("c-drops", c.drops);
  set("c-shards", `${c.delivered} / ${c.dropped} / ${c.in_flight}`);
  set("c-wave", `${frame.wave.complete.length} of ${frame.bots.length}`);
  set("c-bytes", bytes);
}

function connect() {
  const socket = new WebSocket(`ws://${location.host}/ws`);
  state.socket = socket;
  socket.onmessage = (message) => {
    const frame = JSON.parse(message.data);
    if (frame.hello) {
      state.states = frame.hello.states;
      legend(state.states);
      return;
    }
    draw(frame);
    counters(frame, message.data.length);
    state.lastFrame = frame;
    state.drawn += 1;
    socket.send(JSON.stringify({ ack: frame.seq, events: frame.events,
                                 drawn_ms: performance.now() }));
  };
}

document.getElementById("pause").onclick = () => state.socket.send('{"cmd":"pause"}');
document.getElementById("resume").onclick = () => state.socket.send('{"cmd":"resume"}');
document.getElementById("speed").onchange = (e) =>
  state.socket.send(JSON.stringify({ cmd: "speed", value: Number(e.target.value) }));
document.getElementById("recall-form").onsubmit = async (e) => {
  e.preventDefault();
  const text = document.getElementById("recall-text").value;
  const reply = await fetch(`/recall?text=${encodeURIComponent(text)}`);
  const result = await reply.json();
  state.recall = result;
  const list = document.getElementById("recall-hits");
  list.innerHTML = "";
  if (result.error) {
    list.textContent = result.error;
    return;
  }
  for (const hit of result.hits) {
    const item = document.createElement("li");
    item.textContent = `${hit.similarity.toFixed(3)}  bot ${hit.bot}, ${hit.hops} hops: ${hit.text}`;
    list.appendChild(item);
  }
};
connect();
