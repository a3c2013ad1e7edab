"""Phase 3's plots: shard-to-carrier distance, hops per shard, memory over time (PNG)."""

from __future__ import annotations

from pathlib import Path

from cybermesh_cli.world.tally import Tally


def write_plots(folder: Path, tally: Tally) -> list[str]:
    """Write the three PNG files into ``folder``; return their names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    figure, axis = plt.subplots(figsize=(6, 3))
    ticks = [t for t, _ in tally.memory]
    axis.plot(ticks, tally.mean_distance_by_tick)
    axis.axhline(2.5, color="red", linestyle="--", label="criterion 2.5 cells")
    axis.set(xlabel="tick", ylabel="cells", title="shard to true carrier centroid (mean)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "distance.png", dpi=100)
    names.append("distance.png")
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(6, 3))
    counts = sorted(tally.hops_per_shard.items())
    axis.bar([h for h, _ in counts], [n for _, n in counts], width=0.8)
    axis.set(xlabel="hops", ylabel="shards", title="hops per shard")
    figure.tight_layout()
    figure.savefig(folder / "hops.png", dpi=100)
    names.append("hops.png")
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(6, 3))
    axis.plot(ticks, [m for _, m in tally.memory])
    axis.set(xlabel="tick", ylabel="MiB", title="resident memory")
    figure.tight_layout()
    figure.savefig(folder / "memory.png", dpi=100)
    names.append("memory.png")
    plt.close(figure)
    return names
