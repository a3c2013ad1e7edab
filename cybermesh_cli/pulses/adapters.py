"""The engine that applies LoRA adapters from a registry (`registry.py`) to the neural CA.

Weights load only from safetensors: the registry refuses a folder with a pickled ``.bin``
adapter before PEFT sees it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.pulses.nca import NeuralCA
from cybermesh_cli.pulses.registry import AdapterInfo, Registry
from cybermesh_cli.substrate.rules import Rule, parse_rule


class PulseEngine:
    """The neural CA with adapters loaded by name; steps cells under one adapter or the base.

    ``apply`` switches to the adapter it is given; the base rule is the network with every
    adapter disabled, which is the unmodified base weights (PEFT adds LoRA deltas beside them).
    """

    def __init__(self, base: NeuralCA, registry: Registry, device: str = "cpu") -> None:
        """Wrap ``base``; adapters are loaded on first use."""
        self.base = base.to(device)
        self.registry = registry
        self.device = device
        self.model: Any = None  # peft.PeftModel once an adapter is loaded
        self.loaded: list[str] = []
        self.timings_ms: dict[str, list[float]] = {"load": [], "switch": [], "apply": []}

    @classmethod
    def for_adapter(cls, registry: Registry, adapter: str, rule: Rule | None = None,
                    device: str = "cpu", hidden: int | None = None) -> PulseEngine:
        """Build an engine whose base suits ``adapter``: its rule and hidden units unless given."""
        training = registry.info(adapter).training
        base = NeuralCA(rule or parse_rule(str(training.get("rule", ""))),
                        int(hidden if hidden is not None else training["hidden"]))
        return cls(base, registry, device)

    def load(self, name: str) -> AdapterInfo:
        """Load ``name`` from the registry (once) after checking it suits this base."""
        from peft import PeftModel

        info = self.registry.info(name)
        if name in self.loaded:
            return info
        rule = parse_rule(str(info.training.get("rule", "")))
        hidden = info.training.get("hidden")
        if rule != self.base.rule or hidden != self.base.hidden_units:
            raise InputError(f"{info.path}: adapter {name!r} was trained for {rule.name} with "
                            f"{hidden} hidden units; this CA is {self.base.rule.name} with "
                            f"{self.base.hidden_units}")
        started = time.perf_counter()
        if self.model is None:
            self.model = PeftModel.from_pretrained(self.base, str(info.path), adapter_name=name,
                                                   is_trainable=False)
        else:
            self.model.load_adapter(str(info.path), adapter_name=name, is_trainable=False)
        self.model.to(self.device).eval()
        self.timings_ms["load"].append((time.perf_counter() - started) * 1000)
        self.loaded.append(name)
        return info

    @torch.no_grad()
    def apply(self, cells: NDArray[np.uint8], name: str | None) -> NDArray[np.uint8]:
        """One generation of (N, H, W) 0/1 cells under adapter ``name`` (None: the base)."""
        state = torch.from_numpy(np.ascontiguousarray(cells, np.float32)).to(self.device)
        state = state.unsqueeze(1)
        if name is None:
            if self.model is None:
                out = self.base.step(state)
            else:
                with self.model.disable_adapter():
                    out = self.base.step(state)
        else:
            self.load(name)
            started = time.perf_counter()
            if self.model.active_adapter != name:
                self.model.set_adapter(name)
            switched = time.perf_counter()
            out = self.base.step(state)
            self.timings_ms["switch"].append((switched - started) * 1000)
            self.timings_ms["apply"].append((time.perf_counter() - switched) * 1000)
        result: NDArray[np.uint8] = out.squeeze(1).to(torch.uint8).cpu().numpy()
        return result
