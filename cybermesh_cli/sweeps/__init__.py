"""Sweeps: a spec over seeds and a parameter grid, run in parallel, resumable, aggregated."""
