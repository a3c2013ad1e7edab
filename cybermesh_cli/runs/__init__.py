"""Run records: the run directory, its manifest, the event log and replay."""
