"""The stages of a study, each a set of real jobs, all submitted at once when the study starts: what each stage
submits (its configs take the artefacts of the stages before from their jobs' results, `jobs.deps.ref`, and wait
for them) and what each keeps from the results. Every part is an ordinary job of the study's owner, part of the
study's own job, so it is checked, queued, run, listed, cancelled and resumed like any other."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from backend.errors import StudyError
from backend.study.config import StudyConfig
from frbio_core.settings import Settings
from jobs import store
from jobs.deps import ref

PERPLEXITY = "perplexity"


@dataclass
class StageContext:
    """A study as its stages see it: the registry, the settings, the resolved config and (once known) the
    artefacts gathered from its finished parts."""
    db: object
    home: Path
    settings: Settings
    study: dict
    cfg: StudyConfig             # resolved: every preset field filled

    @property
    def artefacts(self) -> dict:
        return self.study["artefacts"]


@dataclass
class Planner:
    """Submits the parts of a new study (the study's own job id is reserved first, so each part names it)."""
    studio: object
    cfg: StudyConfig
    owner: str | None
    parent: str
    parts: dict[str, str] = field(default_factory=dict)     # label → job id, in submission order

    def submit(self, label: str, kind: str, config: dict, after: tuple[str, ...] = ()) -> str:
        job_id = store.submit(self.studio.db, self.studio.home, kind, config, owner=self.owner,
                              context=self.studio, depends_on=[self.parts[a] for a in after], parent=self.parent,
                              label=label)
        self.parts[label] = job_id
        return job_id


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    plan: Callable[[Planner], None]                      # submits the stage's parts
    collect: Callable[[StageContext, dict], dict]        # ({role: finished part row}) → artefacts to add
    roles: Callable[[str], str] = lambda label: label    # a part's label → its role within the stage


def ppl_batches(cfg: StudyConfig) -> int:
    return max(1, math.ceil(cfg.ppl_blocks / cfg.ppl_batch_size))


def ppl_cap(cfg: StudyConfig) -> int:
    """Blocks per perplexity set: the sweep measures eval_batches × micro_batch_size blocks, the evaluations
    ppl_max_blocks; both are this number, so they measure the same text."""
    return ppl_batches(cfg) * cfg.ppl_batch_size


# -------------------------------------------------------------------------------------------------- snapshot

def plan_snapshot(p: Planner) -> None:
    p.studio.scan_sources()
    recipe = {"name": f"{p.parent} {p.cfg.name}".strip(), "sources": p.cfg.sources,
              "license_mode": p.cfg.license_mode, "seed": p.cfg.seed}   # the paper's cleaning: the defaults
    p.submit("snapshot", "corpus_build", recipe)


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

def plan_train(p: Planner) -> None:
    cfg = p.cfg
    config = {"base_model": cfg.base_model, "snapshot": ref(p.parts["snapshot"], "snapshot_id"),
              "max_steps": cfg.max_steps, "micro_batch_size": cfg.micro_batch_size, "block_size": cfg.block_size,
              "learning_rate": cfg.learning_rate, "eval_every": cfg.train_eval_every,
              "eval_batches": max(1, cfg.ppl_blocks // cfg.micro_batch_size), "save_every": cfg.train_eval_every,
              "keep_last": 1, "compile": cfg.compile, "seed": cfg.seed, "num_gpus": cfg.num_gpus,
              "strategy": cfg.strategy}
    if cfg.checkpoint_best_by != "off":
        config["keep_every"] = cfg.train_eval_every     # a checkpoint at every perplexity measurement
    p.submit("train", "train", config)


def collect_train(ctx: StageContext, rows: dict) -> dict:
    r = rows["dapt"]["result"] or {}
    if not r.get("model_id"):
        raise StudyError(f"training job {rows['dapt']['id']} ended without a saved model "
                         f"(stopped at step {r.get('stopped_at_step')})")
    keep = ("steps", "tokens_seen", "precision", "domain_ppl", "general_ppl", "general_ppl_en", "initial",
            "tokens_per_s", "checkpoints", "best_checkpoint")
    out = {"dapt_model": r["model_id"], "train": {k: r[k] for k in keep if k in r}}
    by = ctx.cfg.checkpoint_best_by
    if by != "off":
        chosen = (r.get("best_checkpoint") or {}).get(by)
        step = next((c["step"] for c in r.get("checkpoints") or [] if c["model_id"] == chosen), None)
        out["checkpoint"] = {"by": by, "model": chosen, "step": step}
    return out


# ----------------------------------------------------------------------------------------------------- sweep

def plan_sweep(p: Planner) -> None:
    cfg = p.cfg
    config = {"base_model": cfg.base_model, "dapt_model": ref(p.parts["train"], "model_id"), "method": "slerp",
              "parameters": {"t": 0.5}, "snapshot": ref(p.parts["snapshot"], "snapshot_id"), "grid": cfg.sweep_grid,
              "block_size": cfg.block_size, "eval_batches": ppl_batches(cfg), "micro_batch_size": cfg.ppl_batch_size}
    p.submit("sweep", "merge_sweep", config)


def collect_sweep(ctx: StageContext, rows: dict) -> dict:
    from backend.merge.sweep import best_point

    r = rows["sweep"]["result"]
    if r.get("stopped"):
        raise StudyError(f"sweep job {rows['sweep']['id']} stopped before its last point")
    best = (r.get("best") or {}).get(ctx.cfg.best_by)
    if best is None:
        best = best_point(r["points"], r["base"], ctx.cfg.best_by)
    return {"sweep": {k: r[k] for k in ("points", "base", "dapt", "general_metric", "method", "main")},
            "best_t": best}


# ----------------------------------------------------------------------------------------------------- merge

def plan_merge(p: Planner) -> None:
    """t = 0.5 (the paper) and the sweep's best point; when the best is 0.5 too, the second merge finds the first
    one saved and reuses it (backend.merge.save.same_merge). With `checkpoint_best_by`, the best checkpoint of the
    run merged at t = 0.5 too (the same reuse when that checkpoint is the trained model)."""
    dapt = ref(p.parts["train"], "model_id")
    p.submit("merge t=0.5", "merge", {"base_model": p.cfg.base_model, "dapt_model": dapt, "method": "slerp",
                                      "parameters": {"t": 0.5}})
    p.submit("merge best", "merge", {"base_model": p.cfg.base_model, "dapt_model": dapt, "method": "slerp",
                                     "parameters": {"t": ref(p.parts["sweep"], f"best.{p.cfg.best_by}")}},
             after=("merge t=0.5",))
    if p.cfg.checkpoint_best_by != "off":
        p.submit("merge checkpoint", "merge", {
            "base_model": p.cfg.base_model, "dapt_model": ref(p.parts["train"], best_checkpoint_key(p.cfg)),
            "method": "slerp", "parameters": {"t": 0.5}}, after=("merge t=0.5",))


def best_checkpoint_key(cfg: StudyConfig) -> str:
    return f"best_checkpoint.{cfg.checkpoint_best_by}"


def collect_merge(ctx: StageContext, rows: dict) -> dict:
    merged = {label: rows[label]["result"]["model_id"] for label in rows}
    merged.setdefault("best", merged["t=0.5"])
    yaml = {label: rows[label]["result"]["yaml"] for label in rows}
    if merged["best"] == merged["t=0.5"]:
        yaml.pop("best", None)
    if merged.get("checkpoint") == merged["t=0.5"]:
        yaml.pop("checkpoint", None)
    return {"merged": merged, "merge_yaml": yaml}


# ------------------------------------------------------------------------------------------------------ eval

def compared_models(ctx: StageContext) -> dict:
    """{role: model id} in the report's order: base, DAPT, t = 0.5, best, and with `checkpoint_best_by` the best
    checkpoint and its t = 0.5 merge (the same model twice is kept once)."""
    a = ctx.artefacts
    roles = {"base": ctx.cfg.base_model, "dapt": a["dapt_model"], "t=0.5": a["merged"]["t=0.5"]}
    extra = {"best": a["merged"]["best"]}
    if "checkpoint" in a["merged"]:
        extra |= {"checkpoint": a["checkpoint"]["model"],
                  "checkpoint t=0.5": a["merged"]["checkpoint"]}
    for role, model_id in extra.items():
        if model_id not in roles.values():
            roles[role] = model_id
    return roles


def eval_configs(cfg: StudyConfig, snapshot) -> list[dict]:
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


def _base_cached(p: Planner, config: dict) -> bool:
    """Whether every result of the base model for `config` is cached already (then no job is needed); unknown
    (the perplexity snapshot is not built yet) counts as not cached."""
    from backend.evaluation.config import EvalConfig
    from backend.evaluation.runner import plan

    if any(task == PERPLEXITY for task in config["tasks"]):
        return False
    try:
        cfg = EvalConfig(**{**config, "model": p.cfg.base_model, "snapshot": ""})
        _, _, planned = plan(p.studio.db, p.studio.settings, cfg)
    except Exception:  # noqa: BLE001 — missing data etc.: the job will say so
        return False
    return all(item.cached is not None for item in planned)


def plan_eval(p: Planner) -> None:
    models = {"base": p.cfg.base_model, "dapt": ref(p.parts["train"], "model_id"),
              "t=0.5": ref(p.parts["merge t=0.5"], "model_id"), "best": ref(p.parts["merge best"], "model_id")}
    # a role that may turn out to be the same model as another is evaluated after it, and finds its results cached
    same_as = {"best": "t=0.5"}
    if p.cfg.checkpoint_best_by != "off":
        models |= {"checkpoint": ref(p.parts["train"], best_checkpoint_key(p.cfg)),
                   "checkpoint t=0.5": ref(p.parts["merge checkpoint"], "model_id")}
        same_as |= {"checkpoint": "dapt", "checkpoint t=0.5": "t=0.5"}
    merges = tuple(label for label in p.parts if label.startswith("merge "))
    for i, config in enumerate(eval_configs(p.cfg, ref(p.parts["snapshot"], "snapshot_id"))):
        for role, model in models.items():
            if role == "base" and _base_cached(p, config):
                continue
            after = merges + ((f"eval {same_as[role]}#{i + 1}",) if role in same_as else ())
            p.submit(f"eval {role}#{i + 1}", "eval", {**config, "model": model}, after=after)


def comparisons(ctx: StageContext) -> list:
    """compare.Comparison per eval config, over the compared models (cached results looked up)."""
    from backend.evaluation.compare import collect
    from backend.evaluation.config import EvalConfig

    ids = list(compared_models(ctx).values())
    return [collect(ctx.db, ctx.settings, ids, EvalConfig(model=ids[0], **c))
            for c in eval_configs(ctx.cfg, ctx.artefacts["snapshot"])]


def collect_eval(ctx: StageContext, rows: dict) -> dict:
    roles = compared_models(ctx)
    evals: dict[str, dict] = {role: {} for role in roles}
    for comp in comparisons(ctx):
        for role, model_id in roles.items():
            for spec in comp.tasks:
                result = comp.result(model_id, spec.name)
                if result is None:
                    raise StudyError(f"evaluation of {model_id} on {spec.short} is missing after its job")
                evals[role][spec.name] = result["id"]
    return {"models": roles, "evals": evals}


STAGES: list[Stage] = [
    Stage("snapshot", "Corpus snapshot (commercial sources, the paper's cleaning)", plan_snapshot, collect_snapshot),
    Stage("train", "DAPT of the base model", plan_train, collect_train, lambda label: "dapt"),
    Stage("sweep", "SLERP sweep between base and DAPT", plan_sweep, collect_sweep),
    Stage("merge", "Merged models saved (t = 0.5, the best t, the best checkpoint at t = 0.5)", plan_merge,
          collect_merge,
          lambda label: label.split(" ", 1)[1]),
    Stage("eval", "Benchmarks and perplexities", plan_eval, collect_eval, lambda label: label.split(" ", 1)[1]),
]
