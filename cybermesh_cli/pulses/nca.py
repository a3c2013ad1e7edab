"""A neural CA that computes a Life-like rule exactly: a perceive module plus an update module.

Perceive is a fixed 3x3 convolution with circular padding (a torus) whose nine output channels
are the nine cells of each neighbourhood, so an update can tell neighbours apart and an adapter
can learn rules beyond outer-totalistic ones. Update is a per-cell MLP of 1x1 convolutions; its
base weights are built, not trained, to give the rule exactly:

* the hidden layer sees ``a = neighbours + 9 * centre`` (0..17, one value per state and count)
  and unit ``m`` computes ``relu(a - m)`` for m = -1..18;
* the output sums those ramps with weights ``g(m+1) - 2 g(m) + g(m-1)``, where g(a) is the rule's
  next state: a sum of unit bumps ``relu(x+1) - 2 relu(x) + relu(x-1)``, exact in float32
  because every term is a small integer.

Spare hidden units (bias 1, output weight 0) change nothing until an adapter uses them.
"""

from __future__ import annotations

import torch
from torch import nn

from cybermesh_cli.substrate.rules import Rule

CENTRE = 4  # index of the centre cell among the nine neighbourhood channels
RAMPS = 20  # relu(a - m) for m = -1 .. 18
THRESHOLD = 0.5  # a cell is alive when the update's output exceeds this


class Perceive(nn.Module):
    """Fixed: the nine cells of each 3x3 neighbourhood on a torus, as nine channels."""

    def __init__(self) -> None:
        """Build the one-hot 3x3 kernels; they are buffers of the rule, never trained."""
        super().__init__()
        self.conv = nn.Conv2d(1, 9, 3, padding=1, padding_mode="circular", bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            for index in range(9):
                self.conv.weight[index, 0, index // 3, index % 3] = 1.0
        self.conv.weight.requires_grad_(False)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) cells -> (N, 9, H, W) neighbourhoods."""
        out: torch.Tensor = self.conv(state)
        return out


class Update(nn.Module):
    """Per-cell MLP of 1x1 convolutions; LoRA adapters attach to ``hidden`` and ``out``."""

    def __init__(self, hidden: int) -> None:
        """Allocate ``hidden`` units (at least the rule's ramps); weights come from the rule."""
        super().__init__()
        self.hidden = nn.Conv2d(9, hidden, 1)
        self.out = nn.Conv2d(hidden, 1, 1)

    def forward(self, neighbourhood: torch.Tensor) -> torch.Tensor:
        """(N, 9, H, W) neighbourhoods -> (N, 1, H, W) next-state values."""
        out: torch.Tensor = self.out(torch.relu(self.hidden(neighbourhood)))
        return out


class NeuralCA(nn.Module):
    """Perceive then update; ``step`` thresholds the update's output into 0/1 cells."""

    def __init__(self, rule: Rule, hidden: int = 32) -> None:
        """Build the network whose base weights compute ``rule`` exactly."""
        super().__init__()
        if hidden < RAMPS:
            raise ValueError(f"hidden must be at least {RAMPS}, got {hidden}")
        self.rule = rule
        self.hidden_units = hidden
        self.perceive = Perceive()
        self.update = Update(hidden)
        _set_rule_weights(self.update, rule)
        for parameter in self.parameters():
            parameter.requires_grad_(False)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) float cells -> next-state values (exactly 0 or 1 for the base)."""
        out: torch.Tensor = self.update(self.perceive(state))
        return out

    @torch.no_grad()
    def step(self, state: torch.Tensor) -> torch.Tensor:
        """One generation: (N, 1, H, W) float 0/1 cells -> the same."""
        out: torch.Tensor = self(state)
        return (out > THRESHOLD).to(state.dtype)


def next_state_table(rule: Rule) -> list[float]:
    """g(a) for a = neighbours + 9 * centre, a = 0..17: the rule as one lookup table."""
    return [float(rule.birth >> a & 1) for a in range(9)] + [
        float(rule.survive >> n & 1) for n in range(9)
    ]


def _set_rule_weights(update: Update, rule: Rule) -> None:
    table = next_state_table(rule)

    def g(a: int) -> float:
        return table[a] if 0 <= a < len(table) else 0.0

    hidden_bias = torch.ones(update.hidden.out_channels)  # spare units: constant 1 ...
    hidden_weight = torch.zeros_like(update.hidden.weight)
    out_weight = torch.zeros_like(update.out.weight)  # ... silenced by a zero out weight
    for unit in range(RAMPS):
        m = unit - 1
        hidden_weight[unit, :, 0, 0] = 1.0
        hidden_weight[unit, CENTRE, 0, 0] = 9.0
        hidden_bias[unit] = -float(m)
        out_weight[0, unit, 0, 0] = g(m + 1) - 2.0 * g(m) + g(m - 1)
    update.hidden.weight = nn.Parameter(hidden_weight)
    update.hidden.bias = nn.Parameter(hidden_bias)
    update.out.weight = nn.Parameter(out_weight)
    update.out.bias = nn.Parameter(torch.zeros(1))
