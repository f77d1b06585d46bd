"""The `corpus_build` job kind: recipe → snapshot (clean, dedup, split, mix, tokenize) in a worker process."""
from __future__ import annotations

import re
import time

from backend.actions import Action, declare
from backend.corpus.recipe import Recipe
from backend.errors import CorpusInputError
from jobs.kinds import register


def check_corpus_build(studio, recipe: Recipe) -> None:
    """Before a row is written: the recipe's sources must be catalogued, usable and allowed by its licence mode."""
    from backend.corpus.snapshot import select_sources

    select_sources(studio.db, recipe)


@register("corpus_build", config=Recipe, devices=("cpu",), check=check_corpus_build, title="Corpus snapshot")
def run_corpus_build(studio, recipe: Recipe, job) -> dict:
    """Each step's start goes to metrics.jsonl, so a build leaves a timing profile; the result is the snapshot
    summary (snapshot_id, counts, removals)."""
    from backend.corpus.snapshot import build_snapshot

    start = time.monotonic()
    job.progress(0.0, "scanning sources")
    studio.scan_sources()
    last = {"stage": None}

    def progress(fraction: float, message: str) -> None:
        stage = re.sub(r"[\d,./]+", "#", message)  # "cleaned 83/327 documents" → one stage, "cleaned # documents"
        if stage != last["stage"]:
            last["stage"] = stage
            job.metric(stage=message, progress=round(float(fraction), 4), elapsed_s=round(time.monotonic() - start, 3))
        job.progress(fraction, message)

    result = build_snapshot(studio.db, studio.home, recipe, progress=progress, owner=job.owner)
    out = result["out"]
    job.metric(stage="result", elapsed_s=round(time.monotonic() - start, 3), reused=result.get("reused", False),
               train_docs=out["train"]["docs"], train_tokens=out["train"]["tokens"],
               validation_docs=out["validation"]["docs"])
    job.log(f"snapshot {result['snapshot_id']}: {out['train']['docs']:,} training documents, "
            f"{out['train']['tokens']:,} tokens" + (" (reused)" if result.get("reused") else ""))
    return result


def _scan_and_submit(studio, recipe: Recipe, owner, device, options) -> list[str]:
    studio.scan_sources()   # the recipe's sources are checked against a fresh catalogue
    return [studio.scheduler.submit("corpus_build", recipe, owner=owner, device=device)]


def summary(studio, recipe: Recipe, rows, options) -> tuple[dict, str]:
    from backend.lineage import status_sentence

    r = rows[0]["result"]
    out = r["out"]["train"]
    verb = "Already built (same recipe, same inputs)" if r.get("reused") else "Built"
    return r, (f"{verb}: {r['snapshot_id']} — {out['docs']:,} training documents, {out['tokens']:,} tokens; "
               f"{r['exact_duplicates_removed']:,} exact and {r['near_duplicates_removed']:,} near duplicates "
               f"removed. {status_sentence(r['commercial_use'])}")


BUILD = declare(Action("corpus-build", ("corpus", "build"), Recipe, kind="corpus_build", title="Corpus snapshot",
                       title_fr="Instantané du corpus", error=CorpusInputError, file_flag="--recipe", what="recipe",
                       waits=True,
                       submit=_scan_and_submit, summary=summary,
                       help="build a snapshot from a recipe (YAML/JSON file and/or flags) as a job, and wait"))
