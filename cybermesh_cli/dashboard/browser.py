"""Drive the dashboard page in a real browser: Debian's Chromium through Playwright.

``playwright install`` downloads browsers and cannot run here, so the page is opened in the
system's Chromium (``apt-get install chromium``), headless, with background networking off.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cybermesh_cli.errors import InputError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--mute-audio"]

# Runs inside the page in one go, so no frame is drawn while it reads the canvas. For the last
# frame drawn: each bot's state band against its state's colour, and each spaceship box's
# top-left corner against the overlay colour (boxes at the torus edges, or under a band, skipped).
PROBE = """() => {
  const s = window.dashboard, f = s.lastFrame;
  if (!f) return null;
  const canvas = document.getElementById("world"), ctx = canvas.getContext("2d");
  const scale = canvas.width / f.grid.w, side = f.mesh.tile * scale;
  const hex = (x, y) => '#' + Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3))
      .map((v) => v.toString(16).padStart(2, '0')).join('');
  const colours = {idle: "#3c3c3c", routing: "#2e9e44", holding: "#e0c020",
                   pulsing: "#9b4dff", overloaded: "#e53935"};
  const bots = f.bots.map((code, bot) => {
    const x = (bot % f.mesh.cols) * side + side / 2, y = Math.floor(bot / f.mesh.cols) * side + 5;
    return {state: s.states[code], expected: colours[s.states[code]], drawn: hex(x, y)};
  });
  const boxes = [];
  for (const [top, left, h, w, heading, kind] of f.objects) {
    if (kind !== 0 || top < 1 || left < 1 || top + h >= f.grid.h || left + w >= f.grid.w) continue;
    const x = left * scale - 3, y = top * scale - 3;
    if (y % side < 10) continue;
    boxes.push({top, left, h, w, heading, drawn: hex(x, y)});
  }
  return {seq: f.seq, tick: f.tick, drawn: s.drawn, bots, boxes};
}"""
SPACESHIP_COLOUR = "#ff8c00"


def find_chromium() -> str:
    """Path of the system's Chromium, or a one-line error saying how to install it."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise InputError("Chromium not found: install Debian's package (apt-get install chromium); "
                    "`playwright install` cannot download browsers here")


@contextmanager
def open_page(url: str, width: int = 1100, height: int = 760) -> Iterator[Any]:
    """Open ``url`` in headless Chromium and yield the page."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            yield page
        finally:
            browser.close()


def probe(page: Any) -> dict[str, Any] | None:
    """Read back what the page drew last from its canvas (see :data:`PROBE`)."""
    result: dict[str, Any] | None = page.evaluate(PROBE)
    return result
