"""Cleaning many documents: the rules of backend.corpus.cleaning applied to a corpus in chunks (in worker processes
for a large one), with a report per rule and per source (documents changed or removed, words and characters
removed, a few before/after examples)."""
from __future__ import annotations

import multiprocessing
from typing import Callable, Iterable

from backend.corpus.cleaning import RULE_FUNCS, RULES, TEXT_RULES, CleaningConfig, _enough_letter_words

SNIPPET = 200


def first_difference(a: str, b: str) -> int:
    """Index of the first character where a and b differ (binary search on prefixes, C-speed compares)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def change_example(source: str, doc_id: str, before: str, after: str | None) -> dict:
    """A ~200-character window around the first change; `offset` is where the change starts in both snippets."""
    after = after or ""
    first = first_difference(before, after)
    start = max(0, first - SNIPPET // 4)
    return {"source": source, "id": doc_id, "before": before[start:start + SNIPPET],
            "after": after[start:start + SNIPPET], "offset": first - start}


def _empty_rule_stats() -> dict:
    return {"docs_changed": 0, "docs_removed": 0, "words_removed": 0, "chars_removed": 0, "by_source": {},
            "examples": {}}


def _count(stats: dict, source: str, changed: int, removed: int, words: int, chars: int) -> None:
    stats["docs_changed"] += changed
    stats["docs_removed"] += removed
    stats["words_removed"] += words
    stats["chars_removed"] += chars
    per = stats["by_source"].setdefault(source, {"docs_changed": 0, "docs_removed": 0, "words_removed": 0})
    per["docs_changed"] += changed
    per["docs_removed"] += removed
    per["words_removed"] += words


_SAME_WORDS = {"nfc", "apostrophes", "whitespace"}  # rules that never split, join or delete words


def _clean_chunk(args: tuple) -> tuple[list[str | None], dict, tuple[int, int]]:
    """Clean (source, id, text) triples: cleaned texts (None = dropped), partial statistics, (words in, out)."""
    items, cfg_dict, n_examples = args
    cfg = CleaningConfig(**cfg_dict)
    active = [name for name in TEXT_RULES if getattr(cfg, name)]
    stats = {name: _empty_rule_stats() for name, _ in RULES}
    out, words_in, words_out = [], 0, 0
    for source, doc_id, text in items:
        words = len(text.split())
        words_in += words
        for name in active:
            new = RULE_FUNCS[name](text, cfg)
            if new is not text and new != text:
                new_words = words if name in _SAME_WORDS else len(new.split())
                _count(stats[name], source, 1, 0, words - new_words, len(text) - len(new))
                examples = stats[name]["examples"].setdefault(source, [])
                if len(examples) < n_examples:
                    examples.append(change_example(source, doc_id, text, new))
                text, words = new, new_words
        if cfg.short_docs and not _enough_letter_words(text, cfg):
            _count(stats["short_docs"], source, 1, 1, words, len(text))
            examples = stats["short_docs"]["examples"].setdefault(source, [])
            if len(examples) < n_examples:
                examples.append(change_example(source, doc_id, text, None))
            text = None
        else:
            words_out += words
        out.append(text)
    return out, stats, (words_in, words_out)


def _merge_stats(total: dict, part: dict, n_examples: int) -> None:
    for name, stats in part.items():
        into = total[name]
        for key in ("docs_changed", "docs_removed", "words_removed", "chars_removed"):
            into[key] += stats[key]
        for source, per in stats["by_source"].items():
            dest = into["by_source"].setdefault(source, {"docs_changed": 0, "docs_removed": 0, "words_removed": 0})
            for key, value in per.items():
                dest[key] += value
        for source, examples in stats["examples"].items():
            kept = into["examples"].setdefault(source, [])
            kept.extend(examples[: n_examples - len(kept)])


def pick_examples(per_source: dict[str, list[dict]], n: int) -> list[dict]:
    """Round-robin over sources (in first-seen order) so the examples show several sources."""
    picked, round_ = [], 0
    while len(picked) < n and any(len(ex) > round_ for ex in per_source.values()):
        picked.extend(ex[round_] for ex in per_source.values() if len(ex) > round_)
        round_ += 1
    return picked[:n]


def _chunks(items: list, n_chunks: int) -> list[list]:
    """Consecutive chunks of roughly equal total text length."""
    total = sum(len(t) for _, _, t in items) or 1
    target, chunks, current, size = total / n_chunks, [], [], 0
    for item in items:
        current.append(item)
        size += len(item[2])
        if size >= target:
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    return chunks


PARALLEL_MIN_CHARS = 2_000_000  # below this a pool costs more than it saves


def mp_context():
    """forkserver where available: safe to use from a threaded server (no fork of its threads), cheap per pool."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        ctx.set_forkserver_preload([__name__, __name__.rsplit(".", 1)[0] + ".dedup"])
    return ctx


def clean_documents(docs: Iterable[dict], cfg: CleaningConfig | None = None, workers: int = 1,
                    n_examples: int = 3, progress: Callable[[float, str], None] | None = None
                    ) -> tuple[list[dict], dict]:
    """Clean `docs`; returns the kept documents (copies with cleaned text, input order) and a per-rule report."""
    cfg = cfg or CleaningConfig()
    docs = list(docs)
    items = [(d.get("source", ""), str(d.get("id", i)), d["text"]) for i, d in enumerate(docs)]
    total_chars = sum(len(t) for _, _, t in items)
    jobs = [(chunk, cfg.model_dump(), n_examples) for chunk in _chunks(items, max(1, workers) * 8)]
    stats = {name: _empty_rule_stats() for name, _ in RULES}
    texts: list[str | None] = []
    words = [0, 0]

    def collect(results):
        for done, (out, part, (w_in, w_out)) in enumerate(results, 1):
            texts.extend(out)
            _merge_stats(stats, part, n_examples)
            words[0] += w_in
            words[1] += w_out
            if progress:
                progress(done / len(jobs), f"cleaned {len(texts)}/{len(items)} documents")

    if workers > 1 and total_chars >= PARALLEL_MIN_CHARS and len(jobs) > 1:
        with mp_context().Pool(workers) as pool:
            collect(pool.imap(_clean_chunk, jobs))
    else:
        collect(map(_clean_chunk, jobs))
    kept = [{**doc, "text": text} for doc, text in zip(docs, texts) if text is not None]
    for rule in stats.values():
        rule["examples"] = pick_examples(rule["examples"], n_examples)
    report = {"rules": stats, "docs_in": len(docs), "docs_out": len(kept), "words_in": words[0],
              "words_out": words[1]}
    return kept, report
