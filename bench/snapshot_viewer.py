"""Benchmark: showing 20 documents of a ~50 MB snapshot (a page of one source, and a search), OURS against a BASELINE,
in the same run.

OURS      backend.corpus.viewer: `page` reads the split's `source` column, then only the row groups holding the page
          (a snapshot writes groups of 256 documents); `search` asks the snapshot's SQLite FTS5 index (built once,
          streamed from the parquet files, kept in the snapshot folder; its build is timed apart, once), then reads
          the 20 hits' row groups.
BASELINE  the usual way: `pandas.read_parquet(train.parquet)`, then filter the frame (`df[df.source == S]` and the
          page's slice; `df[df.text.str.contains(word, case=False)]` and its first 20).

The snapshot is synthesised from the real shared corpus (every document of corpus/, several times over with fresh
ids, shuffled, split 99/1 as a build does) and written by the snapshot builder's own parquet writer
(backend.corpus.snapshot._write_parquet) until its parquet files reach --target-mb. Each timed run is a fresh process
(imports done before the clock; nothing cached in it; the files in the OS cache, as for both variants after the first
round), the variants interleaved round by round (`--rounds`, the median reported). Each run times the first request
(what a user waits for when opening the page) and a second one (the next page, or the same search again). The pages
both variants show must hold the same documents (checked); for searches, FTS5 matches whole words without accents
and ranks them (bm25), pandas matches substrings in file order, so the counts differ a little and are both given.

    .venv/bin/python bench/snapshot_viewer.py [--rounds 3] [--target-mb 50]

Writes bench/results/snapshot_viewer.json and the table in bench/README.md.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import harness
from harness import shared_data

RESULTS = harness.BENCH / "results" / "snapshot_viewer.json"
VARIANTS = ("ours-page", "baseline-page", "ours-search", "baseline-search")
SOURCE, PAGE = "Cerimes", 7
WORDS = ("phéochromocytome", "insuffisance")        # a rare word and a common one


def synthesise(folder: Path, target_mb: float) -> dict:
    """A snapshot folder of the shared corpus's documents, copied with fresh ids until its files reach target_mb."""
    from backend.corpus.snapshot import SPLIT_FILES, _write_parquet

    docs = []
    for path in sorted((shared_data() / "corpus").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            docs += [json.loads(line) for line in f]
    rng = random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    copies = 1
    while True:
        rows = [{**d, "id": f"{d['id']}#{c}", "language": "fr", "n_words": len(d["text"].split()),
                 "n_tokens": None} for c in range(copies) for d in docs]
        rng.shuffle(rows)
        held = len(rows) // 100
        _write_parquet(rows[held:], folder / SPLIT_FILES["train"])
        _write_parquet(rows[:held], folder / SPLIT_FILES["validation"])
        size = sum((folder / SPLIT_FILES[s]).stat().st_size for s in ("train", "validation")) / 2**20
        if size >= target_mb * 0.95:
            break
        copies = max(copies + 1, round(copies * target_mb / size))
    (folder / "manifest.json").write_text(json.dumps({"id": folder.name, "name": "bench", "recipe": {}}))
    return {"documents": len(rows), "copies": copies, "parquet_mb": round(size, 1),
            "text_mb": round(sum(len(r["text"].encode()) for r in rows) / 2**20, 1)}


# ---------------------------------------------------------------- one variant in a fresh process

def child(variant: str, folder: Path, word: str, result: Path) -> None:
    import pandas as pd  # noqa: F401  (imports before the clock, for both variants)
    import pyarrow.parquet  # noqa: F401

    from backend.corpus import search_index, viewer  # noqa: F401

    train = folder / "train.parquet"
    timings, shown = [], []
    for attempt in range(2):
        start = time.perf_counter()
        if variant == "ours-page":
            out = viewer.page(folder, "train", SOURCE, PAGE + attempt)
            ids, total = [d["id"] for d in out["documents"]], out["total"]
        elif variant == "ours-search":
            out = viewer.search(folder, word, "train")
            ids, total = [d["id"] for d in out["documents"]], out["total"]
        else:
            import pandas as pd

            df = pd.read_parquet(train)
            if variant == "baseline-page":
                rows = df[df["source"] == SOURCE]
                first = (PAGE + attempt - 1) * viewer.PAGE_SIZE
                ids, total = rows["id"].iloc[first:first + viewer.PAGE_SIZE].tolist(), len(rows)
            else:
                mask = df["text"].str.contains(word, case=False, regex=False)
                ids, total = df.loc[mask, "id"].head(viewer.PAGE_SIZE).tolist(), int(mask.sum())
            del df
        timings.append(time.perf_counter() - start)
        shown.append({"ids": ids, "total": total})
    result.write_text(json.dumps({"first_s": timings[0], "second_s": timings[1], "shown": shown,
                                  "self_maxrss_mb": round(harness.maxrss_mb(), 1)}))


def measure(variant: str, folder: Path, word: str) -> dict:
    run = harness.run_child(__file__, ["--child", variant, "--folder", folder, "--word", word], name=variant,
                            interval=0.01, tree=False)
    return {**run.result, "peak_rss_mb": round(run.peak_rss_mb, 1), "process_s": round(run.wall_s, 2),
            "load_1min": round(os.getloadavg()[0], 2)}


# ---------------------------------------------------------------- parent

def main() -> int:
    parser = harness.bench_parser(__doc__, RESULTS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--target-mb", type=float, default=50)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--word", default=WORDS[0], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help="keep the synthesised snapshot here (reused when present)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder, args.word, args.result)
        return 0
    from backend.corpus import search_index, viewer

    load_before = os.getloadavg()
    with harness.work_dir("frbio-viewer-", args.work) as work:
        folder = work / "snap-bench"
        made = json.loads((work / "made.json").read_text()) if (work / "made.json").is_file() else None
        if made is None or made.get("target_mb") != args.target_mb:
            made = {**synthesise(folder, args.target_mb), "target_mb": args.target_mb}
            (work / "made.json").write_text(json.dumps(made))
        (folder / search_index.INDEX_FILE).unlink(missing_ok=True)
        start = time.perf_counter()
        index = search_index.ensure_index(folder, viewer.split_files(folder))
        index = {**index, "wall_s": round(time.perf_counter() - start, 2),
                 "file_mb": round((folder / search_index.INDEX_FILE).stat().st_size / 2**20, 1)}
        print(f"snapshot: {made}; search index built in {index['wall_s']} s ({index['file_mb']} MB)", file=sys.stderr)
        cases = [(v, w) for v in VARIANTS for w in (WORDS if "search" in v else (None,))]
        order = harness.run_order([f"{v}|{w or ''}" for v, w in cases], args.rounds)
        runs = harness.run_all(order, lambda key: measure(key.split("|")[0], folder, key.split("|")[1] or WORDS[0]),
                               "round {round}/{rounds}: {variant}",
                               lambda v, r: f"  first {r['first_s']:.3f} s, second {r['second_s']:.3f} s, "
                                            f"peak RSS {r['peak_rss_mb']:.0f} MB, load {r['load_1min']}")
    results = {}
    for key in dict.fromkeys(k for _, k in order):
        mine = [r for (_, k), r in zip(order, runs) if k == key]
        results[key] = {"first_s": round(statistics.median(r["first_s"] for r in mine), 3),
                        "second_s": round(statistics.median(r["second_s"] for r in mine), 3),
                        "first_s_runs": [round(r["first_s"], 3) for r in mine],
                        "peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in mine), 1),
                        "load_1min_runs": [r["load_1min"] for r in mine],
                        "shown": mine[0]["shown"][0]["ids"][:3], "total": mine[0]["shown"][0]["total"]}
    same_page = all(r["shown"] == b["shown"] for r, b in zip([x for (_, k), x in zip(order, runs) if k == "ours-page|"],
                                                             [x for (_, k), x in zip(order, runs)
                                                              if k == "baseline-page|"]))
    report = {"machine": harness.machine_info("cpu", "cpus", "memory_gb", "python", "date"),
              "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
              "snapshot": made, "index_build": index, "source": SOURCE, "page": PAGE, "words": list(WORDS),
              "rounds": args.rounds, "same_page_documents": same_page, "results": results}
    return harness.publish(report, args.out, RESULTS, "snapshot_viewer", readme_table(report))


def readme_table(r: dict) -> str:
    res, snap = r["results"], r["snapshot"]
    names = {"ours-page|": f"OURS: `viewer.page` ({SOURCE}, page {PAGE})",
             "baseline-page|": f"BASELINE: `pandas.read_parquet` + filter ({SOURCE}, page {PAGE})"}
    for w in WORDS:
        names[f"ours-search|{w}"] = f"OURS: `viewer.search` (FTS5) «{w}»"
        names[f"baseline-search|{w}"] = f"BASELINE: `read_parquet` + `str.contains` «{w}»"
    rows = [[names[k], f"{v['first_s']:.3f}", f"{v['second_s']:.3f}", f"{v['peak_rss_mb']:.0f}", f"{v['total']:,}",
             ", ".join(f"{x:.2f}" for x in v["first_s_runs"]), ", ".join(f"{x:.2f}" for x in v["load_1min_runs"])]
            for k, v in res.items()]
    table = harness.markdown_table(["variant", "20 documents, first request (s)", "second request (s)",
                                    "peak RSS (MB)", "documents matching", "first request, each run (s)",
                                    "load average at each run"], rows)
    ratio = {k.split("|", 1)[1] or "page": res[k.replace("ours", "baseline")]["first_s"] / max(res[k]["first_s"],
                                                                                                1e-9)
             for k in res if k.startswith("ours")}
    return (f"Machine: {r['machine']['cpus']} CPUs ({r['machine']['cpu']}), Python {r['machine']['python']}; run "
            f"{r['machine']['date']}, median of {r['rounds']} interleaved rounds, each request in a fresh process. "
            f"Snapshot: {snap['documents']:,} documents (the shared corpus ×{snap['copies']}), {snap['parquet_mb']} MB "
            f"of parquet, {snap['text_mb']} MB of text. Search index built once in {r['index_build']['wall_s']} s "
            f"({r['index_build']['file_mb']} MB beside the snapshot). Load average before / after: "
            f"{r['load_before'][0]:.2f} / {r['load_after'][0]:.2f}.\n\n" + table
            + f"\n\nSame documents on the page for both: {'yes' if r['same_page_documents'] else 'NO'}. "
            + "First request, baseline ÷ ours: " + ", ".join(f"{k} {v:.0f}×" for k, v in ratio.items())
            + ". Target: 20 documents in under a second.")


if __name__ == "__main__":
    raise SystemExit(main())
