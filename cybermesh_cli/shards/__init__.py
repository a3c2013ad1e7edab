"""Tier 2, the shards: text embedders, the bot mesh, and routing with local knowledge."""
