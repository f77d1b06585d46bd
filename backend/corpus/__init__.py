"""Corpus studio: source catalogue, cleaning, deduplication, recipes and snapshots."""
