"""Benchmark: build a snapshot of every commercial source of the shared corpus (~4.2 M words: clean, dedup,
tokenize with the SmolLM2 tokenizer), OURS against a BASELINE, in the same run.

OURS      backend.corpus.snapshot.build_snapshot(Recipe(license_mode="commercial")) into a fresh home.
BASELINE  the straightforward Hugging Face way, single process: datasets.Dataset.map(clean_text), exact dedup by
          hash, datasketch MinHash with its defaults (per-shingle `update`, num_perm 128, 5-word shingles) +
          MinHashLSH(threshold 0.8) (the near-dedup loop of bench/corpus_clean_bench.py, whose shingle helper it
          reuses), tokenization with the same tokenizer in Dataset.map(batched=True), parquet out.

Both read the same catalogued documents (catalogue scan done before the clock starts) and write parquet. Each
variant runs in its own fresh Python process (`python bench/corpus_build.py --child VARIANT`); the parent samples
the memory (PSS and RSS) and CPU time of that process and all its descendants (psutil, every 50 ms, summed over the
tree: OURS uses a pool of workers); the child also reports its own getrusage ru_maxrss.

    .venv/bin/python bench/corpus_build.py            # or: make bench
    .venv/bin/python bench/corpus_build.py --repeat 3 --variants ours

Writes bench/results/corpus_build.json. The data folder is $FRBIO_SHARED_DATA or ../shared/data.
"""
from __future__ import annotations

import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness
from harness import Stages, shared_data

harness.env_defaults(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")

RESULTS = harness.BENCH / "results" / "corpus_build.json"
VARIANTS = ("ours", "baseline")
SHINGLE = 5
NUM_PERM = 128
THRESHOLD = 0.8
PACKAGES = ("datasets", "datasketch", "tokenizers", "transformers", "pyarrow")

# ------------------------------------------------------------------------------------------------ child side

def _prepare(work: Path, model_home: Path) -> tuple[object, Path]:
    """A fresh home (default model hard-linked in), a data folder holding only corpus/, and the catalogue scan."""
    from backend.default_model import DEFAULT_MODEL_NAME, default_model_dir
    from backend.studio import Studio
    from frbio_core.settings import Settings

    home, data = work / "home", work / "data"
    (home / "models").mkdir(parents=True)
    harness.link_tree(default_model_dir(model_home), home / "models" / DEFAULT_MODEL_NAME, fallback="symlink")
    data.mkdir()
    (data / "corpus").symlink_to(shared_data() / "corpus", target_is_directory=True)
    studio = Studio(Settings(home=str(home), data=[str(data)], import_default_model=False))
    studio.scan_sources()
    return studio, home


# build_snapshot's top-level progress messages (sub-steps report under them) → stage names
OUR_STAGES = {"reading sources": "read", "cleaning": "clean", "removing duplicates": "dedup",
              "reading general": "general_text", "counting tokens": "tokenize", "splitting": "split_mix",
              "writing parquet": "write"}


def run_ours(studio, home: Path, workers: int) -> dict:
    from backend.corpus.recipe import Recipe
    from backend.corpus.snapshot import build_snapshot

    stages, seen = Stages(), set()

    def progress(fraction, message):
        for prefix, name in OUR_STAGES.items():
            if str(message).startswith(prefix) and name not in seen:
                seen.add(name)
                stages.mark(name)

    stages.mark("setup")
    result = build_snapshot(studio.db, home, Recipe(license_mode="commercial"), workers=workers, progress=progress)
    stages.mark(None)
    out = result["out"]
    return {
        "stages_s": stages.seconds, "snapshot_id": result["snapshot_id"], "sources": result["sources"],
        "docs_in": result["in"]["docs"], "words_in": result["in"]["words"],
        "docs_out": out["train"]["docs"] + out["validation"]["docs"],
        "words_out": out["train"]["words"] + out["validation"]["words"],
        "tokens_out": out["train"]["tokens"] + out["validation"]["tokens"],
        "exact_duplicates_removed": result["exact_duplicates_removed"],
        "near_duplicates_removed": result["near_duplicates_removed"],
        "duplicates_removed": result["exact_duplicates_removed"] + result["near_duplicates_removed"],
        "docs_dropped_by_cleaning": sum(r["docs"] for r in result["removed_per_rule"].values()),
    }


def run_baseline(studio, home: Path, out_dir: Path) -> dict:
    """Single process, library defaults, as one would write it without this project."""
    stages = Stages()
    stages.mark("setup")
    import datasets
    from datasketch import MinHash, MinHashLSH

    from corpus_clean_bench import _shingles  # the clean+dedup benchmark's baseline helper (same folder)
    from backend.corpus.catalogue import list_sources, load_documents
    from backend.corpus.cleaning import CleaningConfig, clean_text
    from backend.default_model import load_tokenizer

    datasets.disable_progress_bars()
    stages.mark("read")
    rows = [r for r in list_sources(studio.db, "domain") if r["status"] == "ok" and r["commercial_use"]]
    docs = [d for r in rows for d in load_documents(r)]
    ds = datasets.Dataset.from_dict({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs],
                                     "source": [d["source"] for d in docs]})
    docs_in, words_in = len(ds), sum(len(d["text"].split()) for d in docs)
    del docs
    cfg = CleaningConfig()

    stages.mark("clean")
    ds = ds.map(lambda ex: {"text": clean_text(ex["text"], cfg)})
    ds = ds.filter(lambda ex: ex["text"] is not None)
    after_cleaning = len(ds)

    stages.mark("dedup")
    seen: set[bytes] = set()
    keep_exact = []
    for i, text in enumerate(ds["text"]):
        digest = hashlib.sha1(text.encode("utf-8")).digest()
        if digest not in seen:
            seen.add(digest)
            keep_exact.append(i)
    exact_removed = len(ds) - len(keep_exact)
    ds = ds.select(keep_exact)

    # as in bench/corpus_clean_bench.py: one update() per shingle; a document is dropped when a kept LSH
    # candidate has estimated Jaccard >= threshold with it
    texts = ds["text"]
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    kept: dict[int, MinHash] = {}
    for i, text in enumerate(texts):
        m = MinHash(num_perm=NUM_PERM)
        for shingle in _shingles(text, SHINGLE):
            m.update(shingle.encode("utf-8"))
        if any(m.jaccard(kept[j]) >= THRESHOLD for j in lsh.query(m)):
            continue
        lsh.insert(i, m)
        kept[i] = m
    near_removed = len(ds) - len(kept)
    ds = ds.select(sorted(kept))

    stages.mark("tokenize")
    tokenizer = load_tokenizer("default", home)
    ds = ds.map(lambda b: {"n_tokens": [len(x) for x in tokenizer(b["text"], add_special_tokens=False)["input_ids"]],
                           "n_words": [len(t.split()) for t in b["text"]]}, batched=True)
    stages.mark("write")
    out_dir.mkdir(parents=True, exist_ok=True)
    ds.to_parquet(str(out_dir / "train.parquet"))
    stages.mark(None)
    return {
        "stages_s": stages.seconds, "sources": sorted(r["name"] for r in rows), "docs_in": docs_in,
        "words_in": words_in, "docs_out": len(ds), "words_out": sum(ds["n_words"]), "tokens_out": sum(ds["n_tokens"]),
        "exact_duplicates_removed": exact_removed, "near_duplicates_removed": near_removed,
        "duplicates_removed": exact_removed + near_removed, "docs_dropped_by_cleaning": docs_in - after_cleaning,
    }


def child(variant: str, model_home: Path, workers: int, result_path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix=f"frbio-bench-{variant}-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        studio, home = _prepare(work, model_home)
        scan_s = time.perf_counter() - t0
        rss_before = harness.maxrss_mb()
        t0 = time.perf_counter()
        if variant == "ours":
            out = run_ours(studio, home, workers)
        else:
            out = run_baseline(studio, home, work / "baseline_out")
        wall = time.perf_counter() - t0
        out.update({
            "wall_s": round(wall, 2), "scan_s_untimed": round(scan_s, 2),
            "self_maxrss_mb": round(harness.maxrss_mb(), 1),
            "self_maxrss_after_scan_mb": round(rss_before, 1),
        })
    result_path.write_text(json.dumps(out))


# ----------------------------------------------------------------------------------------------- parent side

def run_variant(variant: str, model_home: Path, workers: int) -> dict:
    """One variant in a fresh process; memory (RSS, PSS) and CPU time of its process tree sampled every 50 ms."""
    run = harness.run_child(__file__, ["--child", variant, "--model-home", model_home, "--workers", workers],
                            name=variant, interval=0.05, pss=True, cpu=True)
    return {**run.result, "process_wall_s": round(run.wall_s, 2), "peak_rss_mb": round(run.peak_rss_mb, 1),
            "peak_pss_mb": round(run.peak_pss_mb, 1), "cpu_s": round(run.cpu_s, 1), "processes": run.processes}


def summarise(runs: list[dict]) -> dict:
    """The median run by wall time, with every run's wall time and peak RSS kept."""
    out = dict(harness.median_run(runs))
    if len(runs) > 1:
        out["wall_s_runs"] = [r["wall_s"] for r in runs]
        out["peak_rss_mb_runs"] = [r["peak_rss_mb"] for r in runs]
        out["wall_s_median"] = round(statistics.median(r["wall_s"] for r in runs), 2)
    return out


def readme_table(report: dict) -> str:
    """The README block for this benchmark, generated from its JSON report."""
    m, v = report["machine"], report["variants"]
    names = {"ours": "OURS: `build_snapshot`", "baseline": "BASELINE: `datasets.map` + datasketch"}
    rows = []
    for key in ("ours", "baseline"):
        if key not in v:
            continue
        r = v[key]
        rows.append([names[key], f"{r['wall_s']:.1f}", f"{r['cpu_s']:.0f}", f"{r['peak_pss_mb']:,.0f}",
                     f"{r['peak_rss_mb']:,.0f}", f"{r['docs_in']:,} → {r['docs_out']:,}", f"{r['words_out']:,}",
                     f"{r['tokens_out']:,}", f"{r['exact_duplicates_removed']:,} + {r['near_duplicates_removed']:,}",
                     ", ".join(f"{k} {s:g}" for k, s in r.get("stages_s", {}).items())])
    lines = [f"Machine: {m['cpu_count']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB RAM, Python {m['python']}; "
             f"run {m['date'][:10]}, median of {report['repeat']} run(s) (wall times "
             + "; ".join(f"{k} {', '.join(map(str, v[k].get('wall_s_runs', [v[k]['wall_s']])))}" for k in v)
             + f"); load average at start {m['loadavg_at_start'][0]:g}.", "",
             harness.markdown_table(["variant", "wall time (s)", "CPU time (s)", "peak memory, PSS (MB)",
                                     "peak RSS (MB)", "docs in → out", "words out", "tokens out",
                                     "exact + near duplicates removed", "time by stage (s)"], rows, "lrrrrrrrrl")]
    if m["loadavg_at_start"][0] > 0.5 * m["cpu_count"]:
        lines += ["", f"Other work was running when this run started (load average {m['loadavg_at_start'][0]:g} "
                      f"on {m['cpu_count']} CPUs): wall times may be inflated; CPU time is the steadier comparison."]
    if "speedup" in report:
        lines += ["", f"OURS is **{report['speedup']:g}× faster** than the baseline; its peak memory (PSS, "
                      f"workers included) is {report['memory_ratio_pss']:g}× the baseline's."]
    return "\n".join(lines)


def main(argv=None) -> int:
    from frbio_core.settings import PROJECT_ROOT

    parser = harness.bench_parser(__doc__, RESULTS)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant (the median is reported)")
    parser.add_argument("--workers", type=int, default=1, help="cleaning and MinHash worker processes for OURS (build_snapshot default 1)")
    parser.add_argument("--model-home", type=Path, default=PROJECT_ROOT / "frbio_home",
                        help="home holding (or receiving) the converted default model")
    args = parser.parse_args(argv)

    if args.child:
        child(args.child, args.model_home, args.workers, args.result)
        return 0

    if not (shared_data() / "corpus").is_dir():
        raise SystemExit(f"no corpus at {shared_data()} (set FRBIO_SHARED_DATA)")
    from backend.default_model import import_default_model

    import_default_model(args.model_home)  # once; a no-op when already converted

    # before the runs: the load average says whether the machine was quiet
    machine = harness.machine_info("cpu_count=cpus", "cpus_usable", "cpu_model=cpu", "memory_gb",
                                   "loadavg_at_start=load_averages", "python", "platform", "date=utc_time",
                                   "packages", packages=PACKAGES)
    order = harness.run_order(args.variants, args.repeat, interleave=False)
    results = harness.run_all(order, lambda v: run_variant(v, args.model_home, args.workers),
                              "[{variant}] run {round}/{rounds} ...",
                              lambda v, r: f"[{v}] {r['wall_s']} s, peak RSS {r['peak_rss_mb']} MB, "
                                           f"{r['docs_out']:,} docs / {r['tokens_out']:,} tokens out")
    variants = {v: summarise([r for (_, w), r in zip(order, results) if w == v]) for v in dict.fromkeys(args.variants)}

    report = {
        "benchmark": "corpus_build: every commercial source of the shared corpus → cleaned, deduplicated, "
                     "tokenized (SmolLM2) parquet",
        "machine": machine,
        "memory_measure": "peak_rss_mb / peak_pss_mb: psutil sampling every 50 ms of the variant's process plus "
                          "all its descendants, RSS / PSS summed over the tree (RSS counts shared pages once per "
                          "process, PSS shares them out); self_maxrss_mb: getrusage ru_maxrss of the "
                          "variant's main process; cpu_s: user+system CPU seconds of the whole child process "
                          "tree (psutil, same sampling; includes start-up and the untimed catalogue scan)",
        "wall_measure": "wall_s: the build alone (imports of heavy libraries included, catalogue scan excluded); "
                        "stages_s: its split by stage (setup = imports, tokenizer load, source selection); "
                        "process_wall_s: the whole child process",
        "baseline": "datasets.Dataset.map(clean_text), single process; exact dedup by sha1; datasketch MinHash "
                    f"(per-shingle update, num_perm {NUM_PERM}, {SHINGLE}-word shingles) + MinHashLSH(threshold "
                    f"{THRESHOLD}); tokenizer in Dataset.map(batched=True); parquet",
        "ours": f"backend.corpus.snapshot.build_snapshot(Recipe(license_mode='commercial'), workers={args.workers})",
        "repeat": args.repeat,
        "variants": variants,
    }
    if "ours" in variants and "baseline" in variants:
        report["speedup"] = round(variants["baseline"]["wall_s"] / variants["ours"]["wall_s"], 2)
        report["memory_ratio_pss"] = round(variants["ours"]["peak_pss_mb"] / variants["baseline"]["peak_pss_mb"], 2)
    # the README table shows the committed JSON, of a full run
    harness.publish(report, args.out, RESULTS, "corpus_build", readme_table(report),
                    readme=set(variants) == set(VARIANTS), show=False)
    print(json.dumps({k: {m: v[m] for m in ("wall_s", "peak_rss_mb", "docs_out", "tokens_out", "duplicates_removed")}
                      for k, v in variants.items()}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
