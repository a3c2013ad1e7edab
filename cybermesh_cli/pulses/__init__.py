"""Tier 3, pulses: a neural CA of the substrate's rule, LoRA adapters on it, and their wave."""
