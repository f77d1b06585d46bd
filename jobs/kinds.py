"""The registry of job kinds: a kind is a name, a config class (pydantic, validated at submit time), a runner
`run(ctx) -> dict` executed by the worker, and the device types it can use.

    @register("corpus_build", config=Recipe, devices=("cpu",))
    def run_corpus_build(ctx): ...

A new kind is one decorated function; if it lives in another module, add that module to MODULES so the worker
and the scheduler find it. Keep heavy imports (torch, transformers) inside the runner.
"""
from __future__ import annotations

import importlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from backend.config import describe_validation_error
from backend.corpus.recipe import Recipe
from jobs.store import JobError

# Modules that register kinds with @register (imported on first lookup). Append e.g. "jobs.train".
MODULES: list[str] = ["jobs.model_kinds", "jobs.train_kind", "jobs.eval_kind", "jobs.merge_kind"]
KINDS: dict[str, "JobKind"] = {}


@dataclass(frozen=True)
class JobKind:
    name: str
    config: type[BaseModel]
    run: Callable[[Any], dict | None]
    devices: tuple[str, ...] = ("cpu",)   # device types it can use, preferred first: ("cuda", "cpu")
    cooperative: bool = False             # True: the runner polls ctx.should_stop() and returns; False: SIGTERM
                                          # raises JobCancelled wherever the runner is
    check: Callable[[Any, Path, BaseModel], None] | None = None   # pre-launch check(db, home, config) → JobError
    title: str = ""

    def validate(self, config: Any) -> BaseModel:
        """The config as the kind's config object; JobError naming the invalid fields otherwise."""
        if isinstance(config, self.config):
            return config
        if isinstance(config, BaseModel):
            config = config.model_dump(mode="json")
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise JobError(f"Invalid {self.name} config: expected a mapping of fields, got {type(config).__name__}")
        try:
            return self.config.model_validate(config)
        except ValidationError as exc:
            raise JobError(describe_validation_error(exc, f"{self.name} config")) from None


def register(name: str, *, config: type[BaseModel], devices: tuple[str, ...] = ("cpu",), cooperative: bool = False,
             check: Callable | None = None, title: str = "") -> Callable:
    """Decorator: register `fn(ctx) -> dict | None` as the runner of job kind `name`."""
    def decorate(fn: Callable) -> Callable:
        KINDS[name] = JobKind(name, config, fn, tuple(devices), cooperative, check, title or name)
        return fn
    return decorate


def load_kinds() -> dict[str, JobKind]:
    """Import MODULES, plus any listed in FRBIO_JOB_KIND_MODULES (comma-separated; e.g. a test's trivial kinds:
    workers inherit the variable)."""
    extra = [m.strip() for m in os.environ.get("FRBIO_JOB_KIND_MODULES", "").split(",") if m.strip()]
    for module in MODULES + extra:
        importlib.import_module(module)
    return KINDS


def get_kind(name: str) -> JobKind:
    kinds = load_kinds()
    if name not in kinds:
        raise JobError(f"unknown job kind '{name}' (known: {', '.join(sorted(kinds)) or 'none'})")
    return kinds[name]


# ------------------------------------------------------------------------------------------------ corpus_build

def check_corpus_build(db, home: Path, recipe: Recipe) -> None:
    """Before a row is written: the recipe's sources must be catalogued, usable and allowed by its licence mode."""
    from backend.corpus.readers import CorpusInputError
    from backend.corpus.snapshot import select_sources

    try:
        select_sources(db, recipe)
    except CorpusInputError as exc:
        raise JobError(str(exc)) from None


@register("corpus_build", config=Recipe, devices=("cpu",), check=check_corpus_build, title="Corpus snapshot")
def run_corpus_build(ctx) -> dict:
    """Recipe → snapshot (clean, dedup, split, mix, tokenize). Each step's start goes to metrics.jsonl, so a build
    leaves a timing profile; the result is the snapshot summary (snapshot_id, counts, removals)."""
    from backend.corpus.snapshot import build_snapshot

    start = time.monotonic()
    ctx.progress(0.0, "scanning sources")
    ctx.studio.scan_sources()
    last = {"stage": None}

    def progress(fraction: float, message: str) -> None:
        stage = re.sub(r"[\d,./]+", "#", message)  # "cleaned 83/327 documents" → one stage, "cleaned # documents"
        if stage != last["stage"]:
            last["stage"] = stage
            ctx.metric(stage=message, progress=round(float(fraction), 4),
                       elapsed_s=round(time.monotonic() - start, 3))
        ctx.progress(fraction, message)

    result = build_snapshot(ctx.db, ctx.home, ctx.config, progress=progress, owner=ctx.owner)
    out = result["out"]
    ctx.metric(stage="result", elapsed_s=round(time.monotonic() - start, 3), reused=result.get("reused", False), train_docs=out["train"]["docs"],
               train_tokens=out["train"]["tokens"], validation_docs=out["validation"]["docs"])
    ctx.log(f"snapshot {result['snapshot_id']}: {out['train']['docs']:,} training documents, "
            f"{out['train']['tokens']:,} tokens" + (" (reused)" if result.get("reused") else ""))
    return result
