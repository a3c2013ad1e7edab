"""Tier 1, the substrate: Life-like rules, Numba kernels, RLE patterns, detection, energy."""
