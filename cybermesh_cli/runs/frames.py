"""Show a re-simulated tick in the terminal, or export a run's frames as an animated GIF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cybermesh_cli.errors import UserError
from cybermesh_cli.runs.record import SPEC_FILE
from cybermesh_cli.spec import load_spec


def _phase3_frames(run_dir: Path, wanted: set[int]) -> Any:
    spec = load_spec(run_dir / SPEC_FILE)
    if spec.phase != 3:
        raise UserError(f"{run_dir}: --tick and --export need a phase 3 run (this is phase "
                        f"{spec.phase})")
    from cybermesh_cli.phases.phase3 import frames

    return frames(spec, run_dir, wanted)


def frame_at(run_dir: Path, tick: int) -> Any:
    """Return the world of a phase-3 run at ``tick``."""
    return next(iter(_phase3_frames(run_dir, {tick})))


def frame_image(frame: Any, scale: int = 4) -> Any:
    """Draw an RGB picture: live cells white, tile borders grey, carriers ringed in orange."""
    from PIL import Image, ImageDraw

    cells = np.asarray(frame.cells, np.uint8)
    rgb = np.zeros((*cells.shape, 3), np.uint8)
    rgb[::frame.tile, :, :] = 60
    rgb[:, ::frame.tile, :] = 60
    rgb[cells == 1] = 255
    image = Image.fromarray(rgb).resize((cells.shape[1] * scale, cells.shape[0] * scale),
                                        Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image)
    for y, x in frame.carriers:
        cy, cx = (y + 0.5) * scale, (x + 0.5) * scale
        draw.ellipse((cx - 3 * scale, cy - 3 * scale, cx + 3 * scale, cy + 3 * scale),
                     outline=(255, 140, 0), width=2)
    draw.text((4, 4), f"tick {frame.tick}", fill=(255, 140, 0))
    return image


def export_gif(run_dir: Path, out: Path, every: int, last: int) -> int:
    """Write an animated GIF of every ``every``-th tick up to ``last``; return frames written."""
    if out.suffix.lower() != ".gif":
        raise UserError(f"--export {out}: the file name must end in .gif")
    images = [frame_image(f) for f in _phase3_frames(run_dir, set(range(0, last + 1, every)))]
    images[0].save(out, save_all=True, append_images=images[1:], duration=80, loop=0)
    return len(images)
