"""A live estimate of what a recipe will produce, from catalogue counts only (no file is read): fast enough to run
on every change of the recipe form. Cleaning and deduplication are not yet applied, so it is an upper bound."""
from __future__ import annotations

import sqlite_utils

from backend.corpus.recipe import Recipe
from backend.corpus.snapshot import select_sources
from backend.corpus.tokens import cached_source_tokens
from backend.lineage import snapshot_allowed

WORDS_TO_TOKENS = 1.6  # French words → SmolLM2 tokens, measured on the shared corpus; used until counts are cached


def estimate(db: sqlite_utils.Database, recipe: Recipe) -> dict:
    rows = select_sources(db, recipe)
    known = cached_source_tokens(db, rows["domain"] + rows["replay"], recipe.tokenizer)
    per_source = {}
    for r in rows["domain"]:
        tokens = known.get(r["name"], int(r["n_words"] * WORDS_TO_TOKENS))
        per_source[r["name"]] = {"docs": r["n_docs"], "words": r["n_words"], "tokens": tokens,
                                 "weight": recipe.weights.get(r["name"], 1.0), "exact_tokens": r["name"] in known}
    weighted = sum(s["weight"] * s["tokens"] for s in per_source.values())
    domain_budget = recipe.target_tokens * (1 - recipe.replay_fraction) if recipe.target_tokens else weighted
    scale = domain_budget / weighted if weighted else 0.0
    for s in per_source.values():
        s["factor"] = s["weight"] * scale
    train_frac = 1 - recipe.validation_fraction
    domain = {k: sum(s[k] * s["factor"] * train_frac for s in per_source.values()) for k in ("docs", "words", "tokens")}
    replay = {"docs": 0.0, "words": 0.0, "tokens": 0.0}
    if recipe.replay_fraction > 0 and rows["replay"]:
        pool = {k: sum(r[f"n_{k}"] for r in rows["replay"]) for k in ("docs", "words")}
        pool["tokens"] = sum(known.get(r["name"], int(r["n_words"] * WORDS_TO_TOKENS)) for r in rows["replay"])
        factor = recipe.replay_fraction / (1 - recipe.replay_fraction) * domain["tokens"] / max(pool["tokens"], 1)
        replay = {k: v * factor for k, v in pool.items()}
    commercial = snapshot_allowed(rows["domain"] + rows["replay"])
    return {
        "sources": per_source,
        "train": {k: int(domain[k] + replay[k]) for k in domain},
        "replay_tokens": int(replay["tokens"]),
        "commercial_use": commercial,
        "licenses": sorted({r["license"] for r in rows["domain"] + rows["replay"]}),
        "tokens_exact": all(s["exact_tokens"] for s in per_source.values()),
    }
