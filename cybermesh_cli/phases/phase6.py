"""Phase 6, energy hints: the same shards searched for with and without delivery trails.

Workloads (`shards/hints.py` has the protocol): ``shards`` shards, one a tick, from random
origins; a shard's goal is the bot whose key is most like it. Uniform draws shards at random;
skewed draws a topic by Zipf popularity (exponent ``zipf``, topics in a seeded random order),
then a shard of it. Each workload is searched with the same shards and origins without hints,
with trails, and without hints over tables gossiped one round further (each arm with its own
random stream); judged on both workloads and against that round. Compute time is the median
of ``repeats`` timed runs of each arm, taken alternately in one process. Decay: one deposit,
then free decay, fitted against the configured half-life. A half-life sweep shows what the
trail's memory does.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file

from cybermesh_cli.events import Event
from cybermesh_cli.phases.base import PhaseResult, RunContext
from cybermesh_cli.phases.embedding import VECTORS_FILE, embed_corpus
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.shards.hints import search
from cybermesh_cli.topology import Mesh
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.shards.layout import place_topics
from cybermesh_cli.shards.routing import RoutingTables
from cybermesh_cli.substrate.energy import Trails
from cybermesh_cli.spec import Spec

SECTION = "phase_6_energy_hints"
WORKLOADS = ("uniform", "skewed")


def _tables(block: Mapping[str, Any], keys: Vectors, seeds: Seeds) -> RoutingTables:
    mesh = Mesh(block["mesh"]["rows"], block["mesh"]["cols"])
    placement = place_topics(mesh, keys, seeds)
    return RoutingTables(mesh, keys[placement], block["horizon"])


def workload(kind: str, block: Mapping[str, Any], tables: RoutingTables, shards: Vectors,
             labels: NDArray[np.int64], rng: np.random.Generator
             ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Goal bots and origin bots of ``block['shards']`` shards."""
    count = block["shards"]
    if kind == "uniform":
        picked = rng.integers(0, len(shards), count)
    else:
        topics = np.unique(labels)
        weight = 1.0 / np.arange(1, len(topics) + 1) ** block["zipf"]
        popularity = weight[rng.permutation(len(topics))]
        chosen = rng.choice(topics, count, p=popularity / popularity.sum())
        members = {t: np.flatnonzero(labels == t) for t in topics}
        picked = np.array([rng.choice(members[t]) for t in chosen])
    goals = np.argmax(shards[picked] @ tables.keys.T, axis=1)
    origins = rng.integers(0, tables.mesh.size, count)
    return goals.astype(np.int64), origins.astype(np.int64)


def run_arm(tables: RoutingTables, goals: NDArray[np.int64], origins: NDArray[np.int64],
            seeds: Seeds, half_life: float | None, block: Mapping[str, Any]
            ) -> tuple[dict[str, Any], float]:
    """Search every shard in order (one a tick); return the arm's summary and its CPU seconds.

    CPU time of this thread, not the wall clock: another process on the machine does not
    change it, so the two arms can be compared on a busy machine. The arm's random choices
    come from its own child of ``seeds`` (``plain`` or ``hints-<half-life>``).
    """
    rng = seeds.child("plain" if half_life is None else f"hints-{half_life:g}").rng()
    trails = None if half_life is None else Trails(tables.mesh.size, half_life, block["gradient"])
    hops = np.empty(len(goals), np.int64)
    delivered = most_entries = 0
    bound = 2 * (tables.mesh.size - 1)
    within_bound = 0
    digest = hashlib.blake2b(digest_size=16)
    started = time.thread_time()
    for index, (goal, origin) in enumerate(zip(goals.tolist(), origins.tolist(), strict=True)):
        if trails is not None:
            trails.tick()
        found, path = search(tables, goal, origin, rng, trails, block["max_hops"])
        hops[index] = found.hops
        delivered += found.delivered
        within_bound += found.hops <= bound
        most_entries = max(most_entries, found.most_entries)
        digest.update(bytes(found.moves))
        if trails is not None and found.delivered:
            trails.deposit(path)
    seconds = time.thread_time() - started
    degree = max(len(n) for n in tables.mesh.neighbours)
    return {
        "shards": len(goals), "delivered": delivered, "mean_hops": round(float(hops.mean()), 4),
        "p50_hops": float(np.percentile(hops, 50)), "p95_hops": float(np.percentile(hops, 95)),
        "max_hops": int(hops.max()), "within_search_bound": within_bound,
        "most_entries_of_a_bot": most_entries, "entry_bound": degree + 1,
        "moves_digest": digest.hexdigest()}, seconds


def _median_interval(values: NDArray[np.float64], rng: np.random.Generator,
                     resamples: int = 2000) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the median."""
    draws = rng.choice(values, (resamples, len(values)), replace=True)
    medians = np.median(draws, axis=1)
    return float(np.percentile(medians, 2.5)), float(np.percentile(medians, 97.5))


def decay_check(block: Mapping[str, Any]) -> dict[str, float]:
    """Deposit once, decay freely for three half-lives, fit the half-life (log-linear)."""
    half_life = block["half_life"]
    trails = Trails(1, half_life, 1.0)
    trails.deposit([0])
    values = []
    for _ in range(int(3 * half_life) + 2):
        trails.tick()
        values.append(float(trails.energy[0]))
    slope = np.polyfit(np.arange(len(values)), np.log(values), 1)[0]
    measured = float(-np.log(2) / slope)
    return {"half_life_set": half_life, "half_life_measured": round(measured, 6),
            "relative_error": abs(measured - half_life) / half_life}


def hint_events(block: Mapping[str, Any], keys: Vectors, shards: Vectors,
                labels: NDArray[np.int64], seeds: Seeds) -> Iterator[Event]:
    """Both workloads with and without hints, the half-life sweep, one more gossip round, decay.

    The gossip baseline searches the same shards without hints over tables gossiped one round
    further (horizon + 1): the other way to spend messages on shorter paths.
    """
    tables = _tables(block, keys, seeds)
    wider = RoutingTables(tables.mesh, tables.keys, tables.horizon + 1)
    tick = 0
    for kind in WORKLOADS:
        goals, origins = workload(kind, block, tables, shards, labels,
                                  seeds.child("workload").child(kind).rng())
        for half_life in [None, block["half_life"], *block["half_life_sweep"]]:
            summary, _ = run_arm(tables, goals, origins, seeds.child("search").child(kind),
                                 half_life, block)
            yield Event(tick, "hints.arm", {"workload": kind, "half_life": half_life,
                                               **summary})
            tick += 1
        summary, _ = run_arm(wider, goals, origins, seeds.child("gossip").child(kind), None,
                             block)
        yield Event(tick, "hints.gossip", {"workload": kind, "horizon": wider.horizon,
                                           "gossip_messages": wider.messages,
                                           "base_gossip_messages": tables.messages, **summary})
        tick += 1
    yield Event(tick, "hints.decay", decay_check(block))


class Phase6:
    """Driver for experiments/phase6.yaml."""

    phase = 6
    replayed_types = ("hints.arm", "hints.gossip", "hints.decay")
    logged_types = {"hints.timing": ("workload", "plain_cpu_s", "hints_cpu_s", "overhead",
                                     "overhead_ci95", "pairs")}  # logged, not re-simulated

    def run(self, ctx: RunContext) -> PhaseResult:
        """Embed, route both workloads with and without hints, time the arms side by side."""
        block = ctx.spec.block("phase6")
        corpus = embed_corpus(ctx, block)
        arms: dict[tuple[str, float | None], dict[str, Any]] = {}
        gossip: dict[str, dict[str, Any]] = {}
        decay: dict[str, float] = {}
        arm_count = 2 * (3 + len(block["half_life_sweep"])) + 1
        with ctx.progress("search arms (no hints, hints, half-life sweep)", arm_count) as advance:
            for event in hint_events(block, corpus.keys, corpus.shards, corpus.labels,
                                     ctx.seeds):
                ctx.events.write([event])
                advance(1)
                if event.type == "hints.arm":
                    arms[(event.payload["workload"], event.payload["half_life"])] = \
                        event.payload
                elif event.type == "hints.gossip":
                    gossip[event.payload["workload"]] = event.payload
                else:
                    decay = event.payload
        ctx.events.flush()
        overhead = self._timing(ctx, block, corpus.keys, corpus.shards, corpus.labels)
        half_life = block["half_life"]
        change, against_gossip = hint_gains(arms, gossip, half_life)
        trail_messages = {kind: _trail_messages(arms[(kind, half_life)]) for kind in WORKLOADS}
        judged = block["judged_on"]
        looping = sum(a["shards"] - a["within_search_bound"] for a in arms.values()) + sum(
            a["most_entries_of_a_bot"] > a["entry_bound"] for a in arms.values()) + sum(
            a["shards"] - a["delivered"] for a in arms.values())
        return PhaseResult(
            measured={
                f"{SECTION}.path_length.min_reduction": -change[judged],
                f"{SECTION}.compute.max_overhead": overhead[judged]["overhead"],
                f"{SECTION}.path_length.min_reduction_every_workload": -max(change.values()),
                f"{SECTION}.baseline.min_gain_over_more_gossip": min(against_gossip.values()),
                f"{SECTION}.trails.max_relative_error": decay["relative_error"],
                f"{SECTION}.routing.max_loops_or_deadlocks": float(looping),
            },
            figures={"judged_on": judged,
                     "path_length_change": {k: round(v, 4) for k, v in change.items()},
                     "more_gossip": {k: {"mean_hops": gossip[k]["mean_hops"],
                                         "horizon": gossip[k]["horizon"],
                                         "extra_gossip_messages": gossip[k]["gossip_messages"]
                                         - gossip[k]["base_gossip_messages"],
                                         "trail_messages_at_most": trail_messages[k],
                                         "hints_shorter_by": round(against_gossip[k], 4)}
                                     for k in WORKLOADS},
                     "compute": overhead, "decay": decay,
                     "arms": [{**a, "half_life": h} for (_, h), a in arms.items()]},
            plots=_plots(ctx.dir, arms, gossip, half_life),
        )

    def _timing(self, ctx: RunContext, block: Mapping[str, Any], keys: Vectors,
                shards: Vectors, labels: NDArray[np.int64]) -> dict[str, dict[str, Any]]:
        """Overhead of hints in CPU time: a pair of arms a repeat, alternating which goes first.

        The value judged is the median of the paired overheads; the figures give its 95%
        bootstrap interval (not replayed: timings differ from run to run).
        """
        seeds = ctx.seeds
        tables = _tables(block, keys, seeds)
        result = {}
        for kind in WORKLOADS:
            goals, origins = workload(kind, block, tables, shards, labels,
                                      seeds.child("workload").child(kind).rng())
            times: dict[str, list[float]] = {"plain": [], "hints": []}
            for repeat in range(block["repeats"]):
                arms = ("plain", "hints") if repeat % 2 == 0 else ("hints", "plain")
                for arm in arms:
                    half_life = None if arm == "plain" else block["half_life"]
                    times[arm].append(run_arm(tables, goals, origins,
                                              seeds.child("search").child(kind), half_life,
                                              block)[1])
            paired = np.array(times["hints"]) / np.array(times["plain"]) - 1.0
            low, high = _median_interval(paired, seeds.child("bootstrap").child(kind).rng())
            result[kind] = {"plain_cpu_s": round(float(np.median(times["plain"])), 5),
                            "hints_cpu_s": round(float(np.median(times["hints"])), 5),
                            "overhead": round(float(np.median(paired)), 4),
                            "overhead_ci95": [round(low, 4), round(high, 4)],
                            "pairs": len(paired)}
            ctx.events.emit("hints.timing", ctx.events.last_tick, {"workload": kind,
                                                                   **result[kind]})
        return result

    def resimulate(
        self, spec: Spec, events: Sequence[Mapping[str, Any]], run_dir: Path
    ) -> Iterator[Event]:
        """Re-route every arm from the seed and the stored vectors."""
        stored = load_file(str(run_dir / VECTORS_FILE))
        return hint_events(spec.block("phase6"), stored["keys"], stored["shards"],
                           stored["labels"], Seeds.of(spec.seed))

    def state_bytes(self, spec: Spec) -> int | None:
        """Return None: the hint experiment keeps no grid."""
        return None


def hint_gains(arms: Mapping[tuple[str, float | None], Mapping[str, Any]],
               gossip: Mapping[str, Mapping[str, Any]], half_life: float
               ) -> tuple[dict[str, float], dict[str, float]]:
    """Return, per workload, the hints' change in mean hops and their gain over more gossip.

    The change is against no hints (negative: shorter paths); the gain is how much longer one
    more gossip round's paths are than the hints' (negative: the hints lose).
    """
    hinted = {kind: float(arms[(kind, half_life)]["mean_hops"]) for kind in gossip}
    change = {kind: hinted[kind] / arms[(kind, None)]["mean_hops"] - 1.0 for kind in gossip}
    against_gossip = {kind: gossip[kind]["mean_hops"] / hinted[kind] - 1.0 for kind in gossip}
    return change, against_gossip


def _trail_messages(arm: Mapping[str, Any]) -> int:
    """Bound the messages trails cost: a deposit reaches each bot of a delivered path once."""
    return int(round(arm["delivered"] * (arm["mean_hops"] + 1)))


def _plots(folder: Path, arms: Mapping[tuple[str, float | None], Mapping[str, Any]],
           gossip: Mapping[str, Mapping[str, Any]], half_life: float) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    x = np.arange(len(WORKLOADS))
    bars = {"no hints": [arms[(k, None)] for k in WORKLOADS],
            "hints": [arms[(k, half_life)] for k in WORKLOADS],
            "one more gossip round": [gossip[k] for k in WORKLOADS]}
    for offset, (label, rows) in zip((-0.27, 0.0, 0.27), bars.items(), strict=True):
        left.bar(x + offset, [r["mean_hops"] for r in rows], 0.27, label=f"{label} (mean)")
        left.scatter(x + offset, [r["p95_hops"] for r in rows], marker="_", s=200,
                     color="black")
    left.set(xticks=x, xticklabels=WORKLOADS, ylabel="hops per shard",
             title="path length (bars: mean, ticks: p95)")
    left.legend()
    for kind in WORKLOADS:
        sweep = sorted((h, a["mean_hops"]) for (k, h), a in arms.items()
                       if k == kind and h is not None)
        right.plot([h for h, _ in sweep], [m for _, m in sweep], marker="o", label=kind)
        right.axhline(arms[(kind, None)]["mean_hops"], linestyle="--", color="grey")
    right.set(xscale="log", xlabel="trail half-life (ticks; one shard a tick)",
              ylabel="mean hops", title="hints against trail memory (dashed: no hints)")
    right.legend()
    figure.tight_layout()
    figure.savefig(folder / "hints.png", dpi=100)
    plt.close(figure)
    return ["hints.png"]


DRIVER = Phase6()
