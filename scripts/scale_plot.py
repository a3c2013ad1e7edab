"""Plot where shards end, by mesh size, for one or more scale studies side by side.

python scripts/scale_plot.py before=/tmp/before/summary.json after=/tmp/after/summary.json \
        --out docs/scale.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ENDS = ("right bot", "other bot (best it knew)", "dropped (carriers lost)", "held at the end",
        "aboard at the end")
COLOURS = ("#2e7d32", "#f9a825", "#c62828", "#6a1b9a", "#1565c0")


def main() -> None:
    """Draw stacked bars: one a size and study, each split by where its judged shards ended."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="+", help="label=path/to/summary.json")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    bars = []
    for item in args.studies:
        label, path = item.split("=", 1)
        for size in json.loads(Path(path).read_text())["sizes"]:
            judged = max(size["judged"], 1)
            bars.append((size["side"], label, [size["ends"].get(e, 0) / judged for e in ENDS],
                         size.get("tile_stretch")))
    bars.sort(key=lambda b: (b[0], [s.split("=")[0] for s in args.studies].index(b[1])))
    figure, axes = plt.subplots(figsize=(1.1 * len(bars) + 2, 4.2))
    names = [f"{side}x{side}\n{label}" for side, label, _, _ in bars]
    bottom = [0.0] * len(bars)
    for index, (end, colour) in enumerate(zip(ENDS, COLOURS, strict=True)):
        shares = [b[2][index] for b in bars]
        axes.bar(names, shares, bottom=bottom, color=colour, label=end)
        bottom = [a + b for a, b in zip(bottom, shares, strict=True)]
    for name, (_, _, _, stretch) in zip(names, bars, strict=True):
        if stretch is not None:  # studies before the tile stretch was kept have none
            axes.text(name, 1.01, f"x{stretch:.2f}", ha="center", va="bottom", fontsize=7)
    axes.set_ylabel("share of judged shards")
    axes.set_ylim(0, 1.08)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes.set_title("Where shards end, by mesh size (pooled over seeds; x: mean tile stretch)",
                   fontsize=9)
    figure.tight_layout()
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
