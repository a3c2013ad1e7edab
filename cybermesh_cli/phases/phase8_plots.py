"""Phase 8's plot: recall@k against bots probed (mesh and IVF), then across sizes and horizons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def plot_recall(path: Path, mesh: Sequence[Mapping[str, Any]], ivf: Sequence[Mapping[str, Any]],
                trained: Sequence[Mapping[str, Any]], mesh_all: Mapping[int, float],
                sizes: Sequence[Mapping[str, Any]], horizons: Sequence[Mapping[str, Any]],
                bots: int) -> None:
    """Write three panels into ``path`` (PNG): recall against the bots a query costs first.

    The mesh's recall (against everything stored) is drawn against the bots its walk visits,
    IVF's against the lists it scans: what each pays for its answer.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (probes, scale, reach) = plt.subplots(1, 3, figsize=(13, 3.6))
    probes.plot([m["visited"] for m in mesh], [mesh_all[m["probe"]] for m in mesh], "o-",
                label="mesh: bots visited")
    probes.plot([i["probe"] for i in ivf], [i["recall"] for i in ivf], "s--",
                label="IVF-flat, bots' keys: lists scanned")
    probes.plot([i["probe"] for i in trained], [i["recall"] for i in trained], "^--",
                label="IVF-flat, k-means: lists scanned")
    probes.axhline(0.95, color="red", linewidth=0.8, linestyle=":", label="goal 0.95")
    probes.axvline(0.1 * bots, color="grey", linewidth=0.8, linestyle=":", label="10% of bots")
    probes.set(xscale="log", xlabel="bots visited / lists scanned", ylabel="recall@10",
               title=f"{bots} bots: recall against everything stored", ylim=(0, 1.02))
    probes.legend(fontsize=7)
    for axis, rows, key, label in ((scale, sizes, "bots", "bots (mesh side squared)"),
                                   (reach, horizons, "horizon", "gossip horizon (hops)")):
        axis.plot([r[key] for r in rows], [r["recall"] for r in rows], "o-", label="mesh")
        axis.plot([r[key] for r in rows], [r["ivf_recall"] for r in rows], "s--", label="IVF")
        axis.set(xlabel=label, ylabel="recall@10 at 10% of bots probed", ylim=(0, 1.02))
        axis.legend(fontsize=7)
    scale.set(xscale="log", title="mesh size")
    reach.set(title="knowledge per bot")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
