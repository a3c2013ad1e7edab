"""Train a LoRA adapter that makes gliders persist under noise.

The neural CA sees one 3x3 neighbourhood per cell, so everything an adapter can learn is a map
from the 512 neighbourhood patterns to a next state. Training therefore samples scenes (one
glider per torus, as the persistence experiment has), perturbs them with the experiment's
noise, and counts, for each noisy pattern, how often the clean next state was alive: cells
within two of the glider count ``near_weight``, the rest ``far_weight``. The adapter is then
fitted to the most likely next state of each pattern, a wrong decision weighted by how many
sampled cells it would get wrong (all 512 patterns in one batch): it converges in seconds and
is deterministic under the seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.pulses.nca import THRESHOLD, NeuralCA
from cybermesh_cli.pulses.persistence import glider_worlds, kernel_stepper
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.substrate.noise import Noise
from cybermesh_cli.substrate.rules import parse_rule

PATTERNS = 512
GAIN = 8.0  # logits = GAIN * (output - THRESHOLD): the base's 0/1 outputs sit at -4 and +4
LORA_TARGETS = ["update.hidden", "update.out"]  # the 1x1 layers; never the circular conv


def neighbourhood_codes(cells: NDArray[np.uint8]) -> NDArray[np.int64]:
    """(N, H, W) cells -> pattern codes 0..511; bit k is the perceive module's channel k."""
    codes = np.zeros(cells.shape, np.int64)
    for k in range(9):
        dy, dx = k // 3 - 1, k % 3 - 1
        codes |= np.roll(cells, (-dy, -dx), axis=(1, 2)).astype(np.int64) << k
    return codes


def all_patterns() -> torch.Tensor:
    """Return the 512 neighbourhoods as a (512, 9, 1, 1) batch, in code order."""
    bits = (np.arange(PATTERNS)[:, None] >> np.arange(9)) & 1
    return torch.from_numpy(bits.astype(np.float32)).view(PATTERNS, 9, 1, 1)


def pattern_statistics(config: dict[str, Any], rng: np.random.Generator) -> NDArray[np.float64]:
    """Weighted counts ``[code, next_state]`` over sampled noisy glider scenes."""
    rule = parse_rule(config["rule"])
    noise = Noise(config["noise"]["mode"], config["noise"]["rate"])
    scenes = config["scenes"]
    step = kernel_stepper(rule)
    counts = np.zeros((PATTERNS, 2))
    for _ in range(scenes["batches"]):
        clean = glider_worlds(scenes["batch"], scenes["size"], rule, rng)
        target = step(clean)
        noisy = noise.apply(clean, noise.mask(rng, clean.shape))
        near = np.zeros(clean.shape, bool)
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                near |= np.roll(clean, (dy, dx), axis=(1, 2)).astype(bool)
        weight = np.where(near, scenes["near_weight"], scenes["far_weight"])
        np.add.at(counts, (neighbourhood_codes(noisy).ravel(), target.ravel()), weight.ravel())
    return counts


@dataclass
class Trained:
    """A freshly trained adapter: the PEFT model holding it, and its training figures."""

    model: Any  # peft.PeftModel
    metrics: dict[str, float]


def attach_adapter(base: NeuralCA, name: str, rank: int, alpha: int) -> Any:
    """Wrap ``base`` in a PEFT model with a fresh LoRA adapter ``name`` on the 1x1 layers."""
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=rank, lora_alpha=alpha, target_modules=LORA_TARGETS, lora_dropout=0.0,
                      bias="none")
    return get_peft_model(base, lora, adapter_name=name)


def fit_decisions(model: Any, alive: torch.Tensor, cost: torch.Tensor, steps: int,
                  lr: float, on_step: Callable[[int, float], None] | None = None) -> float:
    """Fit the active adapter so each pattern's next state is ``alive[code]``.

    ``cost[code]`` weighs a wrong decision on that pattern; the loss is the cost-weighted
    cross-entropy over all 512 patterns at once. Returns the final loss.
    """
    update = model.base_model.model.update
    patterns = all_patterns()
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(parameters, lr=lr)

    def loss_now() -> torch.Tensor:
        logits = GAIN * (update(patterns).view(PATTERNS) - THRESHOLD)
        per_pattern = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, alive.float(), reduction="none")
        return (cost * per_pattern).sum()

    for step in range(steps):
        optimiser.zero_grad()
        loss = loss_now()
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        if on_step is not None:
            on_step(step + 1, float(loss))
    model.eval()
    with torch.no_grad():
        return float(loss_now())


def decisions(model: Any) -> torch.Tensor:
    """Next state of every pattern under the model's active adapter, as booleans."""
    with torch.no_grad():
        out: torch.Tensor = model.base_model.model.update(all_patterns()).view(PATTERNS)
    return out > THRESHOLD


def train_adapter(config: dict[str, Any],
                  on_step: Callable[[int, float], None] | None = None) -> Trained:
    """Sample statistics, attach a fresh LoRA adapter named ``config['name']`` and fit it.

    Refuses (one line) statistics that give nothing to fit and a fit whose loss is not finite.
    """
    started = time.perf_counter()
    seeds = Seeds.of(config["seed"])
    seeds.child("torch").seed_torch()
    counts = pattern_statistics(config, seeds.child("scenes").rng())
    totals = counts.sum(axis=1)
    if not np.isfinite(counts).all() or totals.sum() <= 0:
        raise InputError(f"adapter {config['name']}: the training scenes give no pattern "
                         "statistics to fit (check scenes and noise)")
    weight = torch.from_numpy(totals / totals.sum()).float()
    best = torch.from_numpy(counts[:, 1] > counts[:, 0])  # the Bayes decision
    # a wrong decision on a pattern costs |count(alive) - count(dead)| expected errors
    cost = torch.from_numpy(np.abs(counts[:, 1] - counts[:, 0]) / totals.sum()).float()
    model = attach_adapter(NeuralCA(parse_rule(config["rule"]), config["hidden"]),
                           config["name"], config["lora"]["rank"], config["lora"]["alpha"])
    loss = fit_decisions(model, best, cost, config["fit"]["steps"], config["fit"]["lr"],
                         on_step)
    if not np.isfinite(loss):
        raise InputError(f"adapter {config['name']}: the fit's loss is {loss}; nothing saved "
                         "(check fit.lr and the weights)")
    adapted = decisions(model)
    with model.disable_adapter():
        plain = decisions(model)
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return Trained(model, {
        "loss": round(loss, 6),
        "bayes_agreement": round(float(weight[adapted == best].sum()), 6),
        "base_bayes_agreement": round(float(weight[plain == best].sum()), 6),
        "patterns_changed": int((adapted != plain).sum()),
        "trainable_parameters": parameters,
        "seconds": round(time.perf_counter() - started, 2),
    })
