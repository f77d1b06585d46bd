"""Benchmark: clean + deduplicate every commercial source of the shared corpus (9 sources, ~4.2 M words),
OURS against a BASELINE, in the same run.

BASELINE  single process, library defaults: datasets.Dataset.from_list(docs).map(clean_text) (the same cleaning
          function), exact dedup by sha1, datasketch MinHash(num_perm=128) fed one 5-word shingle at a time with
          `update` (sha1 hash), MinHashLSH(threshold=0.8) with default weights; a document is dropped when a kept
          one has estimated Jaccard >= 0.8 with it.
OURS      backend.corpus.cleaning.clean_documents(workers=2) + backend.corpus.dedup.dedup_documents: vectorised
          MinHash signatures (bit-identical to datasketch's for the same shingle hashes), datasketch MinHashLSH
          with recall-leaning band weights, candidates confirmed by signature, union-find, earliest kept.

Each variant runs in a fresh Python process (`--child VARIANT`), documents loaded before the clock starts. The
parent samples memory over that process and all its descendants with psutil every 20 ms (OURS runs pools of
worker processes): summed RSS, and summed PSS (shared pages divided among sharers, so forked memory is not
counted twice). The child also records getrusage ru_maxrss of itself.

    .venv/bin/python bench/corpus_clean_bench.py [--repeat 3] [--workers 2]

Writes bench/results/corpus_clean.json. Data: $FRBIO_SHARED_DATA, else ../shared/data. Importable pieces:
load_commercial_docs, run_baseline, run_ours, measure.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import time
from pathlib import Path

import harness
from harness import shared_data

harness.env_defaults(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")

RESULTS = harness.BENCH / "results" / "corpus_clean.json"
VARIANTS = ("baseline", "ours", "ours_w1")  # ours_w1: OURS in-process (workers=1), for the single-core figure

def load_commercial_docs(data: Path | None = None) -> list[dict]:
    """Every record of every source whose commercial_use is true, in file-name order."""
    docs = []
    for path in sorted(((data or shared_data()) / "corpus").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        docs += [r for r in records if r.get("commercial_use")]
    return docs


def _shingles(text: str, n: int) -> set[str]:
    words = text.split()
    if len(words) < n:
        return {" ".join(words)}
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def run_baseline(docs: list[dict]) -> dict:
    """The straightforward single-process way with library defaults."""
    stages = harness.Stages(digits=3)  # stages.cpu_s: the main process only, not its workers
    stages.mark("imports")
    import datasets
    from datasketch import MinHash, MinHashLSH

    from backend.corpus.cleaning import CleaningConfig, clean_text

    datasets.disable_progress_bars()
    cfg = CleaningConfig()
    stages.mark("clean")
    ds = datasets.Dataset.from_list([{"id": d["id"], "source": d["source"], "text": d["text"]} for d in docs])
    ds = ds.map(lambda ex: {"text": clean_text(ex["text"], cfg)})
    ds = ds.filter(lambda ex: ex["text"] is not None)
    docs_after_cleaning = len(ds)

    stages.mark("exact_dedup")
    texts, ids = ds["text"], ds["id"]
    seen: set[bytes] = set()
    exact_removed, keep = [], []
    for i, text in enumerate(texts):
        digest = hashlib.sha1(text.encode("utf-8")).digest()
        (exact_removed.append(ids[i]) if digest in seen else keep.append(i))
        seen.add(digest)

    stages.mark("near_dedup")
    lsh = MinHashLSH(threshold=cfg.near_threshold, num_perm=cfg.num_perm)
    near_removed, kept = [], {}
    for i in keep:
        m = MinHash(num_perm=cfg.num_perm)
        for shingle in _shingles(texts[i], cfg.ngram):
            m.update(shingle.encode("utf-8"))
        if any(m.jaccard(kept[j]) >= cfg.near_threshold for j in lsh.query(m)):
            near_removed.append(ids[i])
            continue
        lsh.insert(i, m)
        kept[i] = m
    stages.mark(None)
    return {"stages_s": stages.seconds, "main_process_cpu_s": stages.cpu_s, "docs_in": len(docs),
            "docs_after_cleaning": docs_after_cleaning,
            "docs_out": len(kept), "exact_removed_ids": exact_removed, "near_removed_ids": near_removed}


def run_ours(docs: list[dict], workers: int = 2) -> dict:
    stages = harness.Stages(digits=3)  # stages.cpu_s: the main process only, not its workers
    stages.mark("imports")
    from backend.corpus.cleaning import CleaningConfig, clean_documents
    from backend.corpus.dedup import dedup_documents, exact_duplicates, near_duplicates

    cfg = CleaningConfig()
    stages.mark("clean")
    cleaned, report = clean_documents(docs, cfg, workers=workers)
    # dedup_documents' two steps, timed apart (same calls, same order)
    stages.mark("exact_dedup")
    texts = [d["text"] for d in cleaned]
    exact = exact_duplicates(texts)
    dropped = {i for i, _ in exact}
    rest = [i for i in range(len(cleaned)) if i not in dropped]
    stages.mark("near_dedup")
    near = near_duplicates([texts[i] for i in rest], threshold=cfg.near_threshold, ngram=cfg.ngram,
                           num_perm=cfg.num_perm, workers=workers)
    stages.mark(None)
    # untimed: dedup_documents is the same composition; and what datasketch's default LSH bands would find
    unique, dedup_report = dedup_documents(cleaned, cfg, workers=workers)
    assert dedup_report["exact"]["removed"] == len(exact) and dedup_report["near"]["removed"] == len(near)
    near_default_bands = near_duplicates([texts[i] for i in rest], threshold=cfg.near_threshold, ngram=cfg.ngram,
                                         num_perm=cfg.num_perm, workers=1, weights=(0.5, 0.5))
    return {"stages_s": stages.seconds, "main_process_cpu_s": stages.cpu_s, "workers": workers,
            "near_removed_with_default_lsh_bands": len(near_default_bands), "docs_in": len(docs),
            "docs_after_cleaning": len(cleaned),
            "docs_out": len(unique), "exact_removed_ids": [cleaned[i]["id"] for i, _ in exact],
            "near_removed_ids": [cleaned[rest[i]]["id"] for i, _, _ in near],
            "cleaning_report": {name: {k: v for k, v in r.items() if k != "examples"}
                                for name, r in report["rules"].items()},
            "words_in": report["words_in"], "words_after_cleaning": report["words_out"]}


# ---------------------------------------------------------------- one variant in a child process

def child(variant: str, workers: int, result: Path) -> None:
    docs = load_commercial_docs()
    rss_loaded = harness.maxrss_mb()
    out = run_baseline(docs) if variant == "baseline" else run_ours(docs, 1 if variant == "ours_w1" else workers)
    out["wall_s"] = round(sum(out["stages_s"].values()), 3)  # the timed stages are contiguous
    out["self_maxrss_mb"] = round(harness.maxrss_mb(), 1)
    out["self_maxrss_after_loading_mb"] = round(rss_loaded, 1)
    result.write_text(json.dumps(out))


def measure(variant: str, workers: int = 2) -> dict:
    """Run one variant in a fresh process; its result plus the peak memory of its process tree (every 20 ms)."""
    run = harness.run_child(__file__, ["--child", variant, "--workers", workers], name=variant, interval=0.02,
                            pss=True)
    return {**run.result, "peak_tree_rss_mb": round(run.peak_rss_mb, 1), "peak_tree_pss_mb": round(run.peak_pss_mb, 1)}


# ---------------------------------------------------------------- parent: both variants, comparison, table

def _median_run(runs: list[dict]) -> dict:
    return {**harness.median_run(runs), "wall_s_runs": [r["wall_s"] for r in runs]}


def compare(baseline: dict, ours: dict) -> dict:
    b_exact, o_exact = set(baseline["exact_removed_ids"]), set(ours["exact_removed_ids"])
    b_near, o_near = set(baseline["near_removed_ids"]), set(ours["near_removed_ids"])
    b_all, o_all = b_exact | b_near, o_exact | o_near
    return {"same_docs_after_cleaning": baseline["docs_after_cleaning"] == ours["docs_after_cleaning"],
            "same_exact_duplicates": b_exact == o_exact, "exact_removed": [len(b_exact), len(o_exact)],
            "near_removed": [len(b_near), len(o_near)], "near_removed_by_both": len(b_near & o_near),
            "near_only_baseline": len(b_near - o_near), "near_only_ours": len(o_near - b_near),
            "all_removed_jaccard": round(len(b_all & o_all) / max(1, len(b_all | o_all)), 3)}


def table(results: dict[str, dict]) -> str:
    rows = [("variant", "wall (s)", "clean", "exact", "near", "peak PSS MB", "peak RSS MB", "docs out",
             "exact rm", "near rm")]
    for name, r in results.items():
        s = r["stages_s"]
        rows.append((name, f"{r['wall_s']:.2f}", f"{s['clean']:.2f}", f"{s['exact_dedup']:.2f}",
                     f"{s['near_dedup']:.2f}", f"{r['peak_tree_pss_mb']:.0f}", f"{r['peak_tree_rss_mb']:.0f}",
                     str(r["docs_out"]), str(len(r["exact_removed_ids"])), str(len(r["near_removed_ids"]))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows)


def main() -> None:
    parser = harness.bench_parser(__doc__, RESULTS)
    parser.add_argument("--workers", type=int, default=2, help="worker processes for OURS (default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant; the median run is reported")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workers, args.result)
        return
    if not (shared_data() / "corpus").is_dir():
        raise SystemExit(f"no corpus at {shared_data()} (set FRBIO_SHARED_DATA)")
    order = harness.run_order(VARIANTS, args.repeat)
    runs = harness.run_all(order, lambda v: measure(v, args.workers), "round {round}/{rounds}: {variant}")
    results = {v: _median_run([r for (_, w), r in zip(order, runs) if w == v]) for v in VARIANTS}
    baseline, ours = results["baseline"], results["ours"]
    out = {
        "benchmark": "corpus_clean: clean + exact + near dedup of every commercial source of the shared corpus",
        "baseline": "datasets.Dataset.from_list(...).map(clean_text) single process; sha1 exact dedup; datasketch "
                    "MinHash(num_perm=128) with one update() per 5-word shingle; MinHashLSH(threshold=0.8)",
        "ours": f"clean_documents(workers={args.workers}) + exact_duplicates + near_duplicates (vectorised "
                "signatures, datasketch MinHashLSH, recall-leaning bands)",
        "timing": "wall time in a fresh process per variant, documents already loaded; imports included",
        "memory": "psutil, sampled every 20 ms, summed over the variant's process and all descendants (RSS and PSS);"
                  " getrusage ru_maxrss of the main process also given",
        "machine": harness.machine_info("cpus", "python", "platform", "load_average_after=load_averages"),
        "repeat": args.repeat, "date": time.strftime("%Y-%m-%d %H:%M"),
        "speedup_wall": round(baseline["wall_s"] / ours["wall_s"], 1),
        "speedup_wall_in_process": round(baseline["wall_s"] / results["ours_w1"]["wall_s"], 1),
        "comparison": compare(baseline, ours),
        "results": results,
    }
    harness.write_results(args.out, out)
    print(table(results))
    print(json.dumps(out["comparison"]))
    print(f"speed-up (wall): {out['speedup_wall']}x ({out['speedup_wall_in_process']}x in-process); "
          f"load average after: {out['machine']['load_average_after']}; written to {args.out}")


if __name__ == "__main__":
    main()
