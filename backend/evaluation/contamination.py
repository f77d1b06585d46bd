"""Contamination check: does a snapshot's training split contain the benchmarks it will be scored on?

For each test item of each benchmark (every text field of the item: question, choices, context), the longest run of
words it shares with the training split, found as GPT-3's report did: texts lower-cased with punctuation turned into
spaces, the training split's word n-grams (n = `min_n`, 8 by default) hashed into one sorted array, then each item's
n-grams looked up; k consecutive matching n-grams are a shared span of n + k − 1 words (an upper bound: the windows
may come from different documents). An item whose longest shared span reaches `flag_n` words (13, GPT-3's rule) is
flagged. Hashing is the near-duplicate removal's (backend.corpus.dedup.ngram_hashes, at 64 bits), so the whole shared
corpus against every benchmark takes seconds (bench/contamination.py, against a set of word tuples in Python).

The result goes into the snapshot's manifest (`contamination`) and its dataset card; the Compare tab marks the
flagged items in the drill-down and offers scores on the clean items.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np

from backend.evaluation.benchmarks import TaskSpec, read_yaml
from backend.evaluation.config import EvalError
from frbio_core.settings import Settings

FLAG_N = 13
MIN_N = 8
SKIP_FIELDS = {"id", "split", "answers", "answer", "label", "labels", "nbr_correct_answers", "language", "subject_name",
               "topic", "category", "index_id"}
_PUNCT = re.compile(r"[^\w]+")


def normalize(text: str) -> str:
    return _PUNCT.sub(" ", text.lower()).strip()


def _strings(value, key: str = "") -> list[str]:
    if key in SKIP_FIELDS:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, k)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def test_items(settings: Settings, spec: TaskSpec) -> list[tuple[str, str]]:
    """(item id, text) of every test item of a benchmark, as lm-eval sees the test split (its `process_docs` too)."""
    from backend.evaluation.scoring import task_utils
    from backend.evaluation.tasks import data_dir

    task = read_yaml(spec.template)
    files = (task.get("dataset_kwargs") or {}).get("data_files") or {}
    test = files.get(task.get("test_split", "test")) if isinstance(files, dict) else None
    names = [Path(str(test)).name] if test else list(spec.data_files)
    folder = data_dir(settings, spec)
    records = [json.loads(line) for name in names for line in (folder / name).read_text("utf-8").split("\n")
               if line.strip()]    # not splitlines(): a JSON string may hold U+2028
    process = task.get("process_docs")
    if isinstance(process, str) and process.startswith("utils."):
        import datasets

        fields = list(dict.fromkeys(k for r in records for k in r))
        dataset = datasets.Dataset.from_list([{k: r.get(k) for k in fields} for r in records])
        records = list(getattr(task_utils(), process.split(".", 1)[1])(dataset))
    return [(str(r.get("id") if r.get("id") is not None else i), " ".join(_strings(r))) for i, r in enumerate(records)]


def corpus_index(texts: list[str], n: int = MIN_N) -> np.ndarray:
    """The sorted distinct hashes of every word n-gram of `texts` (normalised)."""
    from backend.corpus.dedup import ngram_hashes

    hashes = []
    for start in range(0, len(texts), 2000):
        hashes.append(ngram_hashes([normalize(t) for t in texts[start:start + 2000]], n)[0])
    if not hashes:
        return np.empty(0, dtype=np.uint64)
    index = np.concatenate(hashes)
    index.sort()    # then drop repeats: np.unique's hash table is 5× slower here (numpy 2.3, 30 M values)
    return index[np.concatenate(([True], index[1:] != index[:-1]))]


def longest_shared(texts: list[str], index: np.ndarray, n: int = MIN_N) -> list[int]:
    """For each text: the longest span of words (at least n) it shares with the indexed corpus, 0 when none; a text
    shorter than n words counts only when the corpus holds it whole (as the n-gram hashing makes one of it)."""
    from backend.corpus.dedup import ngram_hashes

    words = [normalize(t) for t in texts]
    h, counts = ngram_hashes(words, n)
    pos = np.searchsorted(index, h)
    hit = (pos < len(index)) & (index[np.minimum(pos, len(index) - 1)] == h) if len(index) else np.zeros(len(h), bool)
    out, start = [], 0
    for text, k in zip(words, counts):
        run = best = 0
        for found in hit[start:start + k]:
            run = run + 1 if found else 0
            best = max(best, run)
        length = len(text.split())
        out.append(0 if not best else min(length, n + best - 1) if length >= n else length)
        start += k
    return out


def check(db, settings: Settings, snapshot_id: str, tasks: list[str] | None = None, flag_n: int = FLAG_N,
          min_n: int = MIN_N, save: bool = True, actor: str | None = None) -> dict:
    """Every benchmark (or `tasks`) against the snapshot's training split; with `save`, written into its manifest
    and dataset card (audited as `actor`'s 'contamination_check'). Returns {snapshot, flag_n, min_n, seconds, benchmarks: [{task, title, items, flagged,
    flagged_items: [{id, longest}], longest, histogram}]}."""
    import pyarrow.parquet as pq

    from backend.corpus.snapshot import SPLIT_FILES, existing_snapshot
    from backend.evaluation.tasks import PERPLEXITY, all_tasks, get_task

    if flag_n < min_n:
        raise EvalError(f"the flagging length ({flag_n} words) must be at least the n-gram size ({min_n})")
    row = existing_snapshot(db, snapshot_id)
    if not row:
        raise EvalError(f"unknown snapshot '{snapshot_id}'")
    started = time.perf_counter()
    train = pq.read_table(Path(row["path"]) / SPLIT_FILES["train"], columns=["text"]).column("text").to_pylist()
    index = corpus_index(train, min_n)
    specs = [get_task(settings, t) for t in tasks] if tasks else [s for s in all_tasks(settings).values()
                                                                   if s.name != PERPLEXITY]
    results = []
    for spec in specs:
        items = test_items(settings, spec)
        longest = longest_shared([text for _, text in items], index, min_n)
        flagged = [{"id": item_id, "longest": n} for (item_id, _), n in zip(items, longest) if n >= flag_n]
        bins = [0, min_n, flag_n, 2 * flag_n, 10 ** 9]
        results.append({"task": spec.name, "title": spec.title, "items": len(items), "flagged": len(flagged),
                        "flagged_items": flagged, "longest": max(longest, default=0),
                        "histogram": {f"{lo}-{hi - 1}" if hi < 10 ** 9 else f">={lo}": int(sum(lo <= n < hi
                                                                                             for n in longest))
                                      for lo, hi in zip(bins, bins[1:])}})
    report = {"snapshot": row["id"], "flag_n": flag_n, "min_n": min_n, "train_docs": len(train),
              "train_ngrams": int(len(index)), "seconds": round(time.perf_counter() - started, 2),
              "checked_at": time.time(), "benchmarks": results}
    if save:
        from frbio_core import users

        _save(Path(row["path"]), report)
        users.audit(db, actor, "contamination_check", row["id"],
                    flagged={b["task"]: b["flagged"] for b in results})
    return report


def _save(folder: Path, report: dict) -> None:
    from backend.corpus.card import write_card
    from frbio_core.files import write_atomic

    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["contamination"] = report
    write_atomic(folder / "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False))
    write_card(folder / "README.md", manifest)


def flagged_ids(db, snapshot_id: str, task: str) -> set[str]:
    """The items of `task` flagged in the snapshot's last contamination check (empty when never checked)."""
    from backend.corpus.snapshot import existing_snapshot

    row = existing_snapshot(db, snapshot_id) if snapshot_id else None
    if not row:
        return set()
    manifest = json.loads((Path(row["path"]) / "manifest.json").read_text("utf-8"))
    for bench in (manifest.get("contamination") or {}).get("benchmarks", []):
        if bench["task"] == task:
            return {f["id"] for f in bench["flagged_items"]}
    return set()


def contaminated(db, models: list[dict]) -> dict[str, set[str]]:
    """task → the item ids flagged in the training snapshot of any of `models` (a DAPT model's, a merge's), from the
    snapshots' last contamination checks."""
    from backend.corpus.snapshot import existing_snapshot

    out: dict[str, set[str]] = {}
    for snap_id in dict.fromkeys(m.get("snapshot_id") for m in models if m.get("snapshot_id")):
        row = existing_snapshot(db, snap_id)
        if not row:
            continue
        manifest = json.loads((Path(row["path"]) / "manifest.json").read_text("utf-8"))
        for bench in (manifest.get("contamination") or {}).get("benchmarks", []):
            out.setdefault(bench["task"], set()).update(f["id"] for f in bench["flagged_items"])
    return out


def summary_lines(report: dict) -> list[str]:
    """One line per benchmark: 'k of N <title> items share ≥ 13 words with the training split'."""
    return [f"{b['flagged']} of {b['items']} {b['title']} items share ≥ {report['flag_n']} words with the training "
            f"split (longest shared span: {b['longest']} words)" for b in report["benchmarks"]]
