"""Before/after previews of cleaning on sample documents, as diff segments a UI can highlight."""
from __future__ import annotations

import difflib
import random

import sqlite_utils

from backend.corpus.catalogue import get_source, load_documents
from backend.corpus.cleaning import CleaningConfig, clean_text

EXCERPT = 1200  # characters shown per document


def diff_segments(before: str, after: str) -> list[tuple[str, str]]:
    """[(text, op)] with op '=' kept, '-' removed, '+' inserted."""
    out: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.append((before[i1:i2], "="))
        else:
            if i2 > i1:
                out.append((before[i1:i2], "-"))
            if j2 > j1:
                out.append((after[j1:j2], "+"))
    return out


def preview_cleaning(db: sqlite_utils.Database, source: str, cfg: CleaningConfig, n: int = 3,
                     seed: int = 0) -> list[dict]:
    """Up to n sample documents of `source`, preferring ones the cleaning changes, with their diff."""
    docs = load_documents(get_source(db, source))
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    changed, unchanged = [], []
    for i in order[:400]:
        excerpt = docs[i]["text"][:EXCERPT]
        full_after = clean_text(docs[i]["text"], cfg)
        after = clean_text(excerpt, cfg) if full_after is not None else None
        item = {"id": docs[i]["id"], "before": excerpt, "after": after, "dropped": full_after is None,
                "segments": diff_segments(excerpt, after or "")}
        (changed if after != excerpt else unchanged).append(item)
        if len(changed) >= n:
            break
    return (changed + unchanged)[:n]
