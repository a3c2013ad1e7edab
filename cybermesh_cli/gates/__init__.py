"""Quality gates (lint, type, unit, docs, perf, security) and the policy's failure protocol."""
