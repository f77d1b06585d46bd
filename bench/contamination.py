"""Benchmark: the contamination check of the commercial snapshot of the whole shared corpus against every benchmark
(FrenchMedMCQA single and all, SIB-200-fr, PubMedQA), OURS against a BASELINE, in the same run.

OURS      backend.evaluation.contamination: word 8-grams of the training split hashed at 64 bits with the near-
          duplicate removal's numpy hashing into one sorted array; each item's 8-grams looked up (searchsorted);
          the longest run of consecutive hits gives the longest shared span; flagged at 13 words.
BASELINE  the straightforward Python way: the same normalisation, a `set` of the training split's 8-word tuples,
          each item's 8-grams looked up in it, the same run rule.

Both variants are timed from the same inputs (the snapshot's training parquet and the benchmarks' files: reading
them and the test items is inside the clock for both), and each reports the memory its index holds (the process's
resident memory right after building it, less before). The index is what grows with the corpus: PARCOMED is about
1,000 times this snapshot, so memory, not seconds, decides which one can run on the full corpus.

The snapshot is built once before the clock starts (build_snapshot, commercial sources, in a scratch home with the
default model's tokenizer); then the runs alternate (`--rounds`, median reported) in this process. Both must find
the same flagged items (checked).

    .venv/bin/python bench/contamination.py [--rounds 3]

Writes bench/results/contamination.json and the table in bench/README.md (and the figure quoted in README.md).
"""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import harness
from harness import shared_data

harness.env_defaults(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")

RESULTS = harness.BENCH / "results" / "contamination.json"


def prepare(work: Path, model_home: Path):
    """A scratch home with the default model linked in, the shared corpus and benchmarks, the commercial snapshot."""
    from backend.corpus.recipe import Recipe
    from backend.corpus.snapshot import build_snapshot
    from backend.default_model import DEFAULT_MODEL_NAME, default_model_dir, import_default_model
    from backend.studio import Studio
    from frbio_core.settings import Settings

    import_default_model(model_home)
    home, data = work / "home", work / "data"
    (home / "models").mkdir(parents=True)
    harness.link_tree(default_model_dir(model_home), home / "models" / DEFAULT_MODEL_NAME, fallback="symlink")
    data.mkdir()
    for sub in ("corpus", "bench"):
        (data / sub).symlink_to(shared_data() / sub, target_is_directory=True)
    studio = Studio(Settings(home=str(home), data=[str(data)], import_default_model=False))
    studio.scan_sources()
    snap = build_snapshot(studio.db, studio.home, Recipe(license_mode="commercial"), workers=2)
    return studio, snap["snapshot_id"]


def rss_mb() -> float:
    import gc

    import psutil

    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def baseline(settings, specs, train_path: Path, n: int, flag: int) -> tuple[dict[str, list], float]:
    import pyarrow.parquet as pq

    from backend.evaluation import contamination as cont

    before = rss_mb()
    train = pq.read_table(train_path, columns=["text"]).column("text").to_pylist()
    grams = set()
    for text in train:
        words = cont.normalize(text).split()
        grams.update(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    del train
    held = rss_mb() - before
    items = {s.name: cont.test_items(settings, s) for s in specs}
    out = {}
    for task, pairs in items.items():
        flagged = []
        for item_id, text in pairs:
            words = cont.normalize(text).split()
            run = best = 0
            for i in range(len(words) - n + 1):
                run = run + 1 if tuple(words[i:i + n]) in grams else 0
                best = max(best, run)
            if best and n + best - 1 >= flag:
                flagged.append(item_id)
        out[task] = flagged
    return out, held


def ours(studio, snap: str) -> tuple[dict, float]:
    """cont.check with the index's resident memory measured (corpus_index wrapped for the measure only)."""
    from backend.evaluation import contamination as cont

    held, build = [], cont.corpus_index

    def measured(texts, n=cont.MIN_N):
        before = rss_mb()
        index = build(texts, n)
        held.append(rss_mb() - before)
        return index

    cont.corpus_index = measured
    try:
        report = cont.check(studio.db, studio.settings, snap, save=False)
    finally:
        cont.corpus_index = build
    return report, held[0]


def main() -> int:
    from backend.corpus.snapshot import SPLIT_FILES, existing_snapshot
    from backend.evaluation import contamination as cont
    from backend.evaluation.tasks import PERPLEXITY, all_tasks
    from frbio_core.settings import PROJECT_ROOT

    parser = harness.bench_parser(__doc__, RESULTS, child=False)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model-home", type=Path, default=PROJECT_ROOT / "frbio_home")
    parser.add_argument("--work", type=Path, help="keep the scratch folder here")
    args = parser.parse_args()
    with harness.work_dir("frbio-contamination-", args.work) as work:
        t0 = time.perf_counter()
        studio, snap = prepare(work, args.model_home)
        build_s = time.perf_counter() - t0
        specs = [s for s in all_tasks(studio.settings).values() if s.name != PERPLEXITY]
        train_path = Path(existing_snapshot(studio.db, snap)["path"]) / SPLIT_FILES["train"]
        runs: dict[str, list[float]] = {"ours": [], "baseline": []}
        memory: dict[str, list[float]] = {"ours": [], "baseline": []}
        found: dict[str, dict] = {}
        load_before = os.getloadavg()
        for _, variant in harness.run_order(("ours", "baseline"), args.rounds):
            start = time.perf_counter()
            if variant == "ours":
                report, held = ours(studio, snap)
                found[variant] = {b["task"]: sorted(f["id"] for f in b["flagged_items"]) for b in report["benchmarks"]}
            else:
                flags, held = baseline(studio.settings, specs, train_path, cont.MIN_N, cont.FLAG_N)
                found[variant] = {t: sorted(v) for t, v in flags.items()}
            runs[variant].append(time.perf_counter() - start)
            memory[variant].append(held)
            print(f"{variant}: {runs[variant][-1]:.2f} s, index {held:.0f} MB", flush=True)
        report = cont.check(studio.db, studio.settings, snap, save=False)
    result = {"machine": harness.machine_info("cpu", "cpus", "memory_gb", "python", "date"),
              "load_before": load_before, "load_after": os.getloadavg(), "snapshot": snap,
              "snapshot_build_s_untimed": round(build_s, 1), "train_docs": report["train_docs"],
              "train_ngrams": report["train_ngrams"], "flag_n": cont.FLAG_N, "min_n": cont.MIN_N,
              "seconds": {k: [round(x, 2) for x in v] for k, v in runs.items()},
              "median_s": {k: round(statistics.median(v), 2) for k, v in runs.items()},
              "index_mb": {k: round(statistics.median(v), 1) for k, v in memory.items()},
              "same_flags": found["ours"] == found["baseline"],
              "benchmarks": [{k: b[k] for k in ("task", "title", "items", "flagged", "longest", "histogram")}
                             for b in report["benchmarks"]]}
    table = harness.markdown_table(["variant", "median wall (s)", "runs (s)", "index memory (MB)"],
                                   [[v, f"{result['median_s'][v]:.2f}", ", ".join(f"{x:.2f}" for x in result["seconds"][v]),
                                     f"{result['index_mb'][v]:.0f}"] for v in ("ours", "baseline")])
    table += ("\n\n" + harness.markdown_table(["benchmark", "items", f"flagged (≥ {cont.FLAG_N} words)",
                                               "longest shared span (words)"],
                                              [[b["title"], b["items"], b["flagged"], b["longest"]]
                                               for b in result["benchmarks"]]))
    table += (f"\n\nCommercial snapshot `{snap}`: {result['train_docs']:,} training documents, "
              f"{result['train_ngrams']:,} distinct {cont.MIN_N}-grams. Same flagged items: "
              f"{'yes' if result['same_flags'] else 'NO'}. Target: under 30 s on 2 cores. Load average before/after: "
              f"{load_before[0]:.2f} / {result['load_after'][0]:.2f}.")
    return harness.publish(result, args.out, RESULTS, "contamination", table)


if __name__ == "__main__":
    raise SystemExit(main())
