"""The stages of a study, each a set of real jobs: what to submit (from the artefacts of the stages before) and what
to keep from their results. Every job goes through jobs.store.submit with the study's owner, so it is checked,
queued, run, listed and resumable like any other job."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from backend.settings import Settings
from backend.study.config import StudyConfig
from jobs import store

PERPLEXITY = "perplexity"


@dataclass
class StageContext:
    db: object
    home: Path
    settings: Settings
    study: dict
    cfg: StudyConfig             # resolved: every preset field filled

    @property
    def artefacts(self) -> dict:
        return self.study["artefacts"]

    def submit(self, kind: str, config: dict) -> str:
        return store.submit(self.db, self.home, kind, config, owner=self.study.get("owner"))


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    submit: Callable[[StageContext], dict]              # → {label: job id} (may be empty: nothing to run)
    collect: Callable[[StageContext, dict], dict]       # ({label: finished job row}) → artefacts to add


def ppl_batches(cfg: StudyConfig) -> int:
    return max(1, math.ceil(cfg.ppl_blocks / cfg.ppl_batch_size))


def ppl_cap(cfg: StudyConfig) -> int:
    """Blocks per perplexity set: the sweep measures eval_batches × micro_batch_size blocks, the evaluations
    ppl_max_blocks; both are this number, so they measure the same text."""
    return ppl_batches(cfg) * cfg.ppl_batch_size


# -------------------------------------------------------------------------------------------------- snapshot

def submit_snapshot(ctx: StageContext) -> dict:
    from backend.corpus.catalogue import scan

    scan(ctx.db, ctx.settings.data_paths, ctx.settings.folder("uploads"))
    recipe = {"name": f"{ctx.study['id']} {ctx.cfg.name}".strip(), "sources": ctx.cfg.sources,
              "license_mode": ctx.cfg.license_mode, "seed": ctx.cfg.seed}   # the paper's cleaning: the defaults
    return {"snapshot": ctx.submit("corpus_build", recipe)}


def collect_snapshot(ctx: StageContext, rows: dict) -> dict:
    r = rows["snapshot"]["result"]
    out = r.get("out", {})
    return {"snapshot": r["snapshot_id"], "snapshot_summary": {
        "sources": r.get("sources"), "commercial_use": r.get("commercial_use"), "reused": r.get("reused", False),
        "train_docs": out.get("train", {}).get("docs"), "train_tokens": out.get("train", {}).get("tokens"),
        "validation_docs": out.get("validation", {}).get("docs"),
        "general_validation_docs": out.get("general_validation", {}).get("docs"),
        "exact_duplicates_removed": r.get("exact_duplicates_removed"),
        "near_duplicates_removed": r.get("near_duplicates_removed")}}


# ----------------------------------------------------------------------------------------------------- train

def submit_train(ctx: StageContext) -> dict:
    cfg = ctx.cfg
    every = cfg.train_eval_every
    config = {"base_model": cfg.base_model, "snapshot": ctx.artefacts["snapshot"], "max_steps": cfg.max_steps,
              "micro_batch_size": cfg.micro_batch_size, "block_size": cfg.block_size,
              "learning_rate": cfg.learning_rate, "eval_every": every,
              "eval_batches": max(1, cfg.ppl_blocks // cfg.micro_batch_size), "save_every": every, "keep_last": 1,
              "compile": cfg.compile, "seed": cfg.seed, "num_gpus": cfg.num_gpus, "strategy": cfg.strategy}
    return {"dapt": ctx.submit("train", config)}


def collect_train(ctx: StageContext, rows: dict) -> dict:
    r = rows["dapt"]["result"] or {}
    if not r.get("model_id"):
        raise store.JobError(f"training job {rows['dapt']['id']} ended without a saved model "
                             f"(stopped at step {r.get('stopped_at_step')})")
    keep = ("steps", "tokens_seen", "precision", "domain_ppl", "general_ppl", "general_ppl_en", "initial",
            "tokens_per_s")
    return {"dapt_model": r["model_id"], "train": {k: r[k] for k in keep if k in r}}


# ----------------------------------------------------------------------------------------------------- sweep

def submit_sweep(ctx: StageContext) -> dict:
    cfg = ctx.cfg
    config = {"base_model": cfg.base_model, "dapt_model": ctx.artefacts["dapt_model"], "method": "slerp",
              "parameters": {"t": 0.5}, "snapshot": ctx.artefacts["snapshot"], "grid": cfg.sweep_grid,
              "block_size": cfg.block_size, "eval_batches": ppl_batches(cfg), "micro_batch_size": cfg.ppl_batch_size}
    return {"sweep": ctx.submit("merge_sweep", config)}


def best_point(points: list[dict], base: dict, by: str = "balanced") -> float:
    """The best merge of the sweep, among 0 < t < 1 (t = 0 is the base, t = 1 the DAPT model); ties go to the t
    nearest 0.5. 'balanced': lowest mean log(perplexity / base perplexity) over the measured sets; 'domain': lowest
    domain perplexity; 'general': lowest mean log ratio over the general-domain sets."""
    inner = [p for p in points if 0.0 < p["value"] < 1.0]
    if not inner:
        return 0.5
    keys = [k for k in ("domain_ppl", "general_ppl", "general_ppl_en")
            if base.get(k) and all(p.get(k) for p in inner)]
    if by == "general":
        keys = [k for k in keys if k != "domain_ppl"] or keys
    elif by == "domain":
        keys = ["domain_ppl"]

    def score(p: dict) -> float:
        return sum(math.log(p[k] / base[k]) for k in keys) / len(keys)

    return min(inner, key=lambda p: (round(score(p), 12), abs(p["value"] - 0.5)))["value"]


def collect_sweep(ctx: StageContext, rows: dict) -> dict:
    r = rows["sweep"]["result"]
    if r.get("stopped"):
        raise store.JobError(f"sweep job {rows['sweep']['id']} stopped before its last point")
    best = best_point(r["points"], r["base"], ctx.cfg.best_by)
    return {"sweep": {k: r[k] for k in ("points", "base", "dapt", "general_metric", "method", "main")},
            "best_t": best}


# ----------------------------------------------------------------------------------------------------- merge

def merge_points(ctx: StageContext) -> dict:
    """{label: t}: t = 0.5 (the paper) and the sweep's best point when it differs."""
    out = {"t=0.5": 0.5}
    if ctx.artefacts["best_t"] != 0.5:
        out["best"] = ctx.artefacts["best_t"]
    return out


def submit_merge(ctx: StageContext) -> dict:
    return {label: ctx.submit("merge", {"base_model": ctx.cfg.base_model, "dapt_model": ctx.artefacts["dapt_model"],
                                        "method": "slerp", "parameters": {"t": t}})
            for label, t in merge_points(ctx).items()}


def collect_merge(ctx: StageContext, rows: dict) -> dict:
    merged = {label: rows[label]["result"]["model_id"] for label in rows}
    merged.setdefault("best", merged["t=0.5"])
    return {"merged": merged, "merge_yaml": {label: rows[label]["result"]["yaml"] for label in rows}}


# ------------------------------------------------------------------------------------------------------ eval

def compared_models(ctx: StageContext) -> dict:
    """{role: model id} in the report's order: base, DAPT, t = 0.5, best (the same model twice is kept once)."""
    a = ctx.artefacts
    roles = {"base": ctx.cfg.base_model, "dapt": a["dapt_model"], "t=0.5": a["merged"]["t=0.5"]}
    if a["merged"]["best"] not in roles.values():
        roles["best"] = a["merged"]["best"]
    return roles


def eval_configs(cfg: StudyConfig, snapshot: str) -> list[dict]:
    """One EvalConfig (as a dict, model left to fill) per distinct item limit; perplexity goes with the first."""
    groups: dict[int, list[str]] = {}
    for name in cfg.benchmarks:
        groups.setdefault(int(cfg.eval_limits.get(name, 0)), []).append(name)
    out = []
    for i, (limit, names) in enumerate(groups.items() or [(0, [])]):
        tasks = names + ([PERPLEXITY] if i == 0 else [])
        out.append({"tasks": tasks, "limit": limit or None, "fewshot_medical": cfg.fewshot_medical,
                    "fewshot_general": cfg.fewshot_general, "fewshot_seed": 1234, "batch_size": 8,
                    "snapshot": snapshot, "ppl_block_size": cfg.block_size, "ppl_max_blocks": ppl_cap(cfg)})
    return out


def comparisons(ctx: StageContext) -> list:
    """compare.Comparison per eval config, over the compared models (cached results looked up)."""
    from backend.evaluation.compare import collect
    from backend.evaluation.config import EvalConfig

    ids = list(compared_models(ctx).values())
    return [collect(ctx.db, ctx.settings, ids, EvalConfig(model=ids[0], **c))
            for c in eval_configs(ctx.cfg, ctx.artefacts["snapshot"])]


def submit_eval(ctx: StageContext) -> dict:
    from backend.evaluation.compare import submit_missing

    role_of = {m: r for r, m in compared_models(ctx).items()}
    jobs = {}
    for i, comp in enumerate(comparisons(ctx)):
        submitted = submit_missing(ctx.db, ctx.home, lambda kind, config, owner=None: ctx.submit(kind, config), comp)
        jobs.update({f"{role_of[m]}#{i + 1}": j for m, j in submitted.items()})
    return jobs


def collect_eval(ctx: StageContext, rows: dict) -> dict:
    roles = compared_models(ctx)
    evals: dict[str, dict] = {role: {} for role in roles}
    for comp in comparisons(ctx):
        for role, model_id in roles.items():
            for spec in comp.tasks:
                result = comp.result(model_id, spec.name)
                if result is None:
                    raise store.JobError(f"evaluation of {model_id} on {spec.short} is missing after its job")
                evals[role][spec.name] = result["id"]
    return {"models": roles, "evals": evals}


STAGES: list[Stage] = [
    Stage("snapshot", "Corpus snapshot (commercial sources, the paper's cleaning)", submit_snapshot, collect_snapshot),
    Stage("train", "DAPT of the base model", submit_train, collect_train),
    Stage("sweep", "SLERP sweep between base and DAPT", submit_sweep, collect_sweep),
    Stage("merge", "Merged models saved (t = 0.5 and the best t)", submit_merge, collect_merge),
    Stage("eval", "Benchmarks and perplexities", submit_eval, collect_eval),
]
