"""Draw a world's snapshots as pictures, and export them as an animated GIF."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cybermesh_cli.errors import InputError
from cybermesh_cli.files import replacing

if TYPE_CHECKING:
    from cybermesh_cli.world import Snapshot


def frame_image(frame: Snapshot, scale: int = 4) -> Any:
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


def export_gif(frames: Iterable[Snapshot], out: Path) -> int:
    """Write the frames as an animated GIF; return how many were written."""
    if out.suffix.lower() != ".gif":
        raise InputError(f"--export {out}: the file name must end in .gif")
    images = [frame_image(f) for f in frames]
    with replacing(out) as partial:
        images[0].save(partial, format="GIF", save_all=True, append_images=images[1:],
                       duration=80, loop=0)
    return len(images)
