"""Recipe → snapshot: select, clean, dedup, split (stratified by source), mix toward a budget, add replay, tokenize,
and write parquet + manifest.json + a dataset card. The id is a content hash of the recipe and the input files."""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
from collections import defaultdict
from pathlib import Path

import sqlite_utils
import yaml

from backend.corpus.catalogue import get_source, list_sources, load_documents
from backend.corpus.cleaning import clean_documents
from backend.corpus.dedup import dedup_documents
from backend.corpus.readers import CorpusInputError
from backend.corpus.recipe import Recipe
from backend.corpus.tokens import count_tokens
from frbio_core.registry import now
from backend.lineage import snapshot_allowed

PIPELINE_VERSION = 1  # bump when a change to the pipeline changes what a recipe produces
SPLIT_FILES = {"train": "train.parquet", "validation": "validation.parquet",
               "general_validation": "general_validation.parquet"}
COLUMNS = ["id", "text", "source", "document_type", "license", "commercial_use", "language", "n_words", "n_tokens"]
# the documents removed as duplicates, each with the one it duplicates (read by backend.corpus.doc_view); a snapshot
# built before this file existed has none, and says so
DUPLICATES_FILE = "dropped_duplicates.parquet"
DUPLICATE_COLUMNS = ["id", "text", "source", "document_type", "license", "commercial_use", "language", "n_words",
                     "kept_id", "kept_source", "kind", "similarity"]
ROW_GROUP_ROWS = 256  # small row groups: a page of documents reads a few of them, not the whole split


def select_sources(db: sqlite_utils.Database, recipe: Recipe) -> dict[str, list[dict]]:
    """Catalogue rows the recipe uses: domain, replay (general train) and general validation (dev/test).
    Raises CorpusInputError for unknown or unusable sources and weights."""
    domain_all = {r["name"]: r for r in list_sources(db, "domain")}
    general_all = {r["name"]: r for r in list_sources(db, "general")}
    for name in recipe.sources:
        if name not in domain_all:
            hint = " (it is a general-domain source: use general_sources)" if name in general_all else ""
            raise CorpusInputError(f"recipe.sources: unknown domain source '{name}'{hint}")
    for name in recipe.weights:
        if name not in domain_all:
            raise CorpusInputError(f"recipe.weights: unknown domain source '{name}'")
    for name in recipe.general_sources:
        if name not in general_all:
            raise CorpusInputError(f"recipe.general_sources: unknown general-domain source '{name}'")
    chosen = [domain_all[n] for n in recipe.sources] if recipe.sources else list(domain_all.values())
    broken = [r["name"] for r in chosen if r["status"] != "ok" and recipe.sources]
    if broken:
        raise CorpusInputError(f"recipe.sources: '{broken[0]}' cannot be read: {get_source(db, broken[0])['error']}")
    chosen = [r for r in chosen if r["status"] == "ok"]
    if recipe.license_mode == "commercial":
        excluded = [r["name"] for r in chosen if not r["commercial_use"] and recipe.sources]
        if excluded:
            raise CorpusInputError(f"recipe.sources: {', '.join(excluded)} do(es) not allow commercial use; "
                                   "remove it or set license_mode: research")
        chosen = [r for r in chosen if r["commercial_use"]]
    if recipe.document_types:
        chosen = [r for r in chosen if r["document_type"] in recipe.document_types]
    if not chosen:
        raise CorpusInputError("the recipe selects no domain source (check sources, license_mode, document_types)")
    general_ok = [r for r in general_all.values() if r["status"] == "ok"]
    if recipe.general_sources:
        replay = [general_all[n] for n in recipe.general_sources]
    else:
        replay = [r for r in general_ok if r["split"] in ("train", None) and r["language"] == "fr"]
    if recipe.replay_fraction > 0 and not replay:
        raise CorpusInputError("recipe.replay_fraction > 0 but no general-domain training source is catalogued")
    if recipe.license_mode == "commercial":
        replay = [r for r in replay if r["commercial_use"]]
    general_val = [r for r in general_ok if r["split"] in ("dev", "test", "validation")]
    return {"domain": chosen, "replay": replay if recipe.replay_fraction > 0 else [], "general_val": general_val}


def snapshot_id(recipe: Recipe, rows: dict[str, list[dict]]) -> str:
    inputs = sorted({(r["name"], r["file_hash"]) for group in rows.values() for r in group})
    key = json.dumps({"recipe": recipe.content_key(), "inputs": inputs, "pipeline": PIPELINE_VERSION},
                     sort_keys=True, ensure_ascii=False)
    return "snap-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def split_by_source(docs: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Hold out `fraction` of each source (at least one document when the source has two or more)."""
    by_source: dict[str, list[dict]] = defaultdict(list)
    for d in docs:
        by_source[d["source"]].append(d)
    train, val = [], []
    for source in sorted(by_source):
        group = by_source[source]
        n_val = max(1, round(fraction * len(group))) if len(group) >= 2 else 0
        held = set(random.Random(f"{seed}:{source}").sample(range(len(group)), n_val))
        for i, d in enumerate(group):
            (val if i in held else train).append(d)
    return train, val


def sample_tokens(docs: list[dict], factor: float, rng: random.Random) -> list[dict]:
    """Repeat whole documents floor(factor) times, then add a random subset worth the fractional part in tokens."""
    out = docs * int(math.floor(factor))
    rest = factor - math.floor(factor)
    if rest > 1e-9 and docs:
        budget = rest * sum(d["n_tokens"] for d in docs)
        order = list(range(len(docs)))
        rng.shuffle(order)
        taken = 0
        for i in order:
            if taken >= budget:
                break
            out.append(docs[i])
            taken += docs[i]["n_tokens"]
    return out


def mix(train: list[dict], replay_pool: list[dict], recipe: Recipe) -> tuple[list[dict], dict[str, float]]:
    """Up/down-sample each source by its weight (toward target_tokens if set), then add replay; shuffled."""
    rng = random.Random(recipe.seed)
    by_source: dict[str, list[dict]] = defaultdict(list)
    for d in train:
        by_source[d["source"]].append(d)
    tokens = {s: sum(d["n_tokens"] for d in ds) for s, ds in by_source.items()}
    weighted = sum(recipe.weights.get(s, 1.0) * t for s, t in tokens.items())
    domain_budget = recipe.target_tokens * (1 - recipe.replay_fraction) if recipe.target_tokens else weighted
    scale = domain_budget / weighted if weighted else 0.0
    factors = {s: recipe.weights.get(s, 1.0) * scale for s in sorted(by_source)}
    mixed = [d for s in sorted(by_source) for d in sample_tokens(by_source[s], factors[s], rng)]
    if recipe.replay_fraction > 0 and replay_pool:
        domain_tokens = sum(d["n_tokens"] for d in mixed)
        pool_tokens = sum(d["n_tokens"] for d in replay_pool) or 1
        want = recipe.replay_fraction / (1 - recipe.replay_fraction) * domain_tokens
        factors["(replay)"] = want / pool_tokens
        mixed += sample_tokens(replay_pool, factors["(replay)"], rng)
    rng.shuffle(mixed)
    if not mixed:
        raise CorpusInputError("the recipe leaves no training document (all weights are 0 or every document "
                               "was removed by cleaning and length bounds)")
    return mixed, factors


def _write_parquet(docs: list[dict], path: Path, columns: list[str] = COLUMNS) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"commercial_use": pa.bool_(), "n_words": pa.int64(), "n_tokens": pa.int64(), "similarity": pa.float64()}
    table = pa.table({c: pa.array([d.get(c) for d in docs], types.get(c, pa.string())) for c in columns})
    pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS)


def _duplicate_rows(docs: list[dict], dropped: list[tuple]) -> list[dict]:
    """One row per document removed as a duplicate: its cleaned text and fields, and the document it duplicates."""
    return [{**docs[i], "n_words": len(docs[i]["text"].split()), "kept_id": docs[j]["id"],
             "kept_source": docs[j]["source"], "kind": kind, "similarity": round(float(sim), 3)}
            for i, j, kind, sim in dropped]


def _stats(docs: list[dict]) -> dict:
    out: dict[str, dict] = defaultdict(lambda: {"docs": 0, "words": 0, "tokens": 0})
    for d in docs:
        s = out[d["source"]]
        s["docs"] += 1
        s["words"] += d["n_words"]
        s["tokens"] += d["n_tokens"]
    return dict(out)


def existing_snapshot(db: sqlite_utils.Database, snap_id: str) -> dict | None:
    rows = list(db["snapshots"].rows_where("id = ?", [snap_id]))
    if rows and (Path(rows[0]["path"]) / "manifest.json").is_file():
        return rows[0]
    return None


def build_snapshot(db: sqlite_utils.Database, home: Path, recipe: Recipe, progress=None, workers: int = 1,
                   owner: str | None = None) -> dict:
    """Build (or reuse) the snapshot for `recipe`; returns its manifest summary. Writes to a temporary folder
    and renames it into place, so a failure leaves no half-written snapshot."""
    from backend.corpus.card import write_card
    from backend.default_model import load_tokenizer

    step = progress or (lambda f, m: None)
    rows = select_sources(db, recipe)
    snap_id = snapshot_id(recipe, rows)
    found = existing_snapshot(db, snap_id)
    if found:
        manifest = json.loads((Path(found["path"]) / "manifest.json").read_text("utf-8"))
        return {**summary(manifest), "reused": True}
    tokenizer = load_tokenizer(recipe.tokenizer, home)

    step(0.02, "reading sources")
    raw = [d for r in rows["domain"] for d in load_documents(r)]
    if recipe.document_types:
        raw = [d for d in raw if d["document_type"] in recipe.document_types]
    words_in = _word_counts(raw)
    step(0.10, f"cleaning {len(raw):,} documents")
    cleaned, cleaning_report = clean_documents(raw, recipe.cleaning, workers=workers,
                                               progress=lambda f, m: step(0.10 + 0.35 * f, m))
    step(0.45, "removing duplicates")
    dropped: list[tuple] = []
    unique, dedup_report = dedup_documents(cleaned, recipe.cleaning, workers=workers, dropped=dropped,
                                           progress=lambda f, m: step(0.45 + 0.2 * f, m))
    for d in unique:
        d["n_words"] = len(d["text"].split())
    kept = [d for d in unique if d["n_words"] >= recipe.min_words and
            (not recipe.max_words or d["n_words"] <= recipe.max_words)]
    length_report = {"removed": len(unique) - len(kept), "by_source": _removed_by_source(unique, kept)}

    step(0.65, "reading general-domain text")
    general_val, _ = clean_documents([d for r in rows["general_val"] for d in load_documents(r)],
                                     recipe.cleaning, workers=1)
    replay_pool, _ = clean_documents([d for r in rows["replay"] for d in load_documents(r)],
                                     recipe.cleaning, workers=1)
    step(0.70, "counting tokens")
    everything = kept + general_val + replay_pool
    for d, n in zip(everything, count_tokens([d["text"] for d in everything], tokenizer)):
        d["n_tokens"] = n
        d["n_words"] = len(d["text"].split())

    step(0.85, "splitting and mixing")
    train_unique, val = split_by_source(kept, recipe.validation_fraction, recipe.seed)
    train, factors = mix(train_unique, replay_pool, recipe)

    step(0.90, "writing parquet files")
    final = home / "snapshots" / snap_id
    tmp = final.with_name(f".{snap_id}.tmp-{os.getpid()}")  # two identical builds at once must not collide
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for split, docs in (("train", train), ("validation", val), ("general_validation", general_val)):
            _write_parquet(docs, tmp / SPLIT_FILES[split])
        _write_parquet(_duplicate_rows(cleaned, dropped), tmp / DUPLICATES_FILE, DUPLICATE_COLUMNS)
        licenses = sorted({(r["name"], r["license"], bool(r["commercial_use"]), r.get("attribution"))
                           for r in rows["domain"] + rows["replay"]})
        commercial = snapshot_allowed(train + val)
        manifest = {
            "id": snap_id, "name": recipe.name or snap_id, "created_at": now(), "pipeline_version": PIPELINE_VERSION,
            "recipe": recipe.model_dump(mode="json"), "tokenizer": recipe.tokenizer, "commercial_use": commercial,
            "inputs": [{"source": r["name"], "kind": r["kind"], "path": r["path"], "file_hash": r["file_hash"],
                        "license": r["license"], "commercial_use": bool(r["commercial_use"])}
                       for g in ("domain", "replay", "general_val") for r in rows[g]],
            "licenses": [{"source": n, "license": lic, "commercial_use": c, "attribution": a}
                         for n, lic, c, a in licenses],
            "counts": {"in": {"docs": len(raw), "words": sum(words_in.values())},
                       "after_cleaning": {"docs": len(cleaned)}, "after_dedup": {"docs": len(unique)},
                       "after_length_filter": {"docs": len(kept)}},
            "splits": {"train": _stats(train), "validation": _stats(val), "general_validation": _stats(general_val)},
            "mixing_factors": factors, "cleaning": cleaning_report, "dedup": dedup_report,
            "length_filter": length_report,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), "utf-8")
        write_card(tmp / "README.md", manifest)
        (tmp / "recipe.yaml").write_text(yaml.safe_dump(manifest["recipe"], allow_unicode=True, sort_keys=False))
        if existing_snapshot(db, snap_id):  # an identical build finished first: keep it, drop ours
            shutil.rmtree(tmp)
            return {**summary(load_manifest(db, snap_id)), "reused": True}
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    db["snapshots"].upsert({
        "id": snap_id, "name": manifest["name"], "created_at": manifest["created_at"], "path": str(final),
        "recipe": json.dumps(manifest["recipe"]), "commercial_use": int(commercial),
        "licenses": json.dumps(sorted({lic for _, lic, _, _ in licenses})),
        "sources": json.dumps(sorted(manifest["splits"]["train"])),
        "n_train_docs": len(train), "n_val_docs": len(val), "n_general_val_docs": len(general_val),
        "n_words": sum(d["n_words"] for d in train), "n_tokens": sum(d["n_tokens"] for d in train),
        "tokenizer": recipe.tokenizer, "owner": owner}, pk="id")
    step(1.0, "done")
    return {**summary(manifest), "reused": False}


def _word_counts(docs: list[dict]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for d in docs:
        out[d["source"]] += len(d["text"].split())
    return out


def _removed_by_source(before: list[dict], after: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for d in before:
        counts[d["source"]] += 1
    for d in after:
        counts[d["source"]] -= 1
    return {s: n for s, n in counts.items() if n}


def summary(manifest: dict) -> dict:
    """The CLI's JSON summary of a snapshot: ids, counts in and out, removals, licence status."""
    def total(split: str, key: str) -> int:
        return sum(s[key] for s in manifest["splits"][split].values())

    rules = manifest["cleaning"].get("rules", {})
    return {
        "snapshot_id": manifest["id"], "name": manifest["name"], "commercial_use": manifest["commercial_use"],
        "path_hint": f"snapshots/{manifest['id']}",
        "in": manifest["counts"]["in"],
        "out": {split: {"docs": total(split, "docs"), "words": total(split, "words"), "tokens": total(split, "tokens")}
                for split in ("train", "validation", "general_validation")},
        "removed_per_rule": {name: {"docs": r.get("docs_removed", 0), "words": r.get("words_removed", 0)}
                             for name, r in rules.items()},
        "exact_duplicates_removed": manifest["dedup"].get("exact", {}).get("removed", 0),
        "near_duplicates_removed": manifest["dedup"].get("near", {}).get("removed", 0),
        "length_filter_removed": manifest["length_filter"]["removed"],
        "sources": sorted(manifest["splits"]["train"]),
    }


def list_snapshots(db: sqlite_utils.Database) -> list[dict]:
    return list(db["snapshots"].rows_where(order_by="created_at desc")) if db["snapshots"].exists() else []


def load_manifest(db: sqlite_utils.Database, snap_id: str) -> dict:
    row = existing_snapshot(db, snap_id)
    if not row:
        raise CorpusInputError(f"unknown snapshot '{snap_id}'")
    return json.loads((Path(row["path"]) / "manifest.json").read_text("utf-8"))


def snapshot_lengths(db: sqlite_utils.Database, snap_id: str, split: str = "train") -> dict[str, list[int]]:
    """Words per document, by source, for a snapshot split (for the length histogram)."""
    import pyarrow.parquet as pq

    row = existing_snapshot(db, snap_id)
    if not row:
        raise CorpusInputError(f"unknown snapshot '{snap_id}'")
    table = pq.read_table(Path(row["path"]) / SPLIT_FILES[split], columns=["source", "n_words"]).to_pydict()
    out: dict[str, list[int]] = defaultdict(list)
    for source, n in zip(table["source"], table["n_words"]):
        out[source].append(n)
    return dict(out)


def snapshot_files(db: sqlite_utils.Database, snap_id: str) -> list[Path]:
    row = existing_snapshot(db, snap_id)
    if not row:
        raise CorpusInputError(f"unknown snapshot '{snap_id}'")
    folder = Path(row["path"])
    return [folder / n for n in ("README.md", "manifest.json", "recipe.yaml")] + [folder / f for f in SPLIT_FILES.values()]
