"""Comparing models: for 2–N models (the first is the reference, typically the base) and a set of tasks, the
cached result of each (model, task) under one EvalConfig, the evaluations still missing (launched as one eval job
per model), a results table with the change from the reference, its paired 95 % interval and Holm-corrected p
(backend.evaluation.evidence: an arrow only where the difference is significant), the verdicts in words, and a
per-item drill-down."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.evaluation import store
from backend.evaluation.config import EvalConfig, EvalError
from backend.evaluation.runner import Planned, plan
from backend.evaluation.tasks import PERPLEXITY, TaskSpec
from frbio_core.settings import Settings

LOWER_IS_BETTER = ("_ppl",)


@dataclass
class Comparison:
    cfg: EvalConfig
    models: list[dict]                                  # model rows, reference first
    tasks: list[TaskSpec]
    cells: dict[tuple[str, str], Planned] = field(default_factory=dict)   # (model id, task) → plan with result
    db: Any = field(default=None, repr=False, compare=False)             # the registry (for the per-item rows)
    clean: bool = False             # score only the items no compared model's training snapshot contains
    _evidence: dict | None = field(default=None, repr=False, compare=False)
    _flagged: dict | None = field(default=None, repr=False, compare=False)

    def flagged(self) -> dict[str, set[str]]:
        """task → items a contamination check found in a compared model's training snapshot."""
        if self._flagged is None:
            from backend.evaluation.contamination import contaminated

            self._flagged = contaminated(self.db, self.models) if self.db is not None else {}
        return self._flagged

    def excluded(self, task: str) -> set[str]:
        return self.flagged().get(task, set()) if self.clean else set()

    def evidence(self) -> dict:
        """(model, task, metric) → its paired statistics against the reference (computed once)."""
        if self._evidence is None:
            from backend.evaluation.evidence import paired_results

            self._evidence = paired_results(self.db, self) if self.db is not None else {}
        return self._evidence

    def result(self, model_id: str, task: str) -> dict | None:
        cell = self.cells.get((model_id, task))
        return cell.cached if cell else None

    @property
    def missing(self) -> dict[str, list[str]]:
        """Tasks without a cached result, per model id."""
        out: dict[str, list[str]] = {}
        for (model_id, task), cell in self.cells.items():
            if cell.cached is None:
                out.setdefault(model_id, []).append(task)
        return out

    @property
    def complete(self) -> bool:
        return not self.missing


def collect(db, settings: Settings, model_ids: list[str], cfg: EvalConfig, clean: bool = False) -> Comparison:
    """Look up every (model, task) in the cache. EvalError for fewer than 2 models, or an unknown one. `clean`:
    scores and tests on the items no compared model's training snapshot contains (contamination checks)."""
    ids = list(dict.fromkeys(m.strip() for m in model_ids if m and m.strip()))
    if len(ids) < 2:
        raise EvalError("choose at least two models to compare (the first is the reference)")
    comp = Comparison(cfg, [], [], db=db, clean=clean)
    for model_id in ids:
        model, _, planned = plan(db, settings, cfg.model_copy(update={"model": model_id}))
        comp.models.append(model)
        if not comp.tasks:
            comp.tasks = [p.spec for p in planned]
        for p in planned:
            comp.cells[(model["id"], p.spec.name)] = p
    return comp


def submit_missing(db, home, submit, comp: Comparison, owner: str | None = None) -> dict[str, str]:
    """One eval job per model that lacks results (`submit(kind, config, owner=…)` is the scheduler's or the
    store's). A queued or running eval job of the same model and settings that covers the missing tasks is reused
    instead of queuing a duplicate. Returns {model id: job id}."""
    from jobs import store as jobs_store

    active = jobs_store.list_jobs(db, status=("queued", "running"), kind="eval", limit=500)
    jobs = {}
    for model_id, tasks in comp.missing.items():
        wanted = comp.cfg.model_copy(update={"model": model_id, "tasks": tasks}).model_dump(mode="json")
        same = [j for j in active if _same_settings(j["config"], wanted) and set(tasks) <= set(j["config"]["tasks"])]
        jobs[model_id] = same[0]["id"] if same else submit("eval", wanted, owner=owner)
    return jobs


def _same_settings(a: dict, b: dict) -> bool:
    keys = set(a) | set(b)
    return all(a.get(k) == b.get(k) for k in keys if k not in ("tasks", "batch_size"))


def lower_is_better(metric: str) -> bool:
    return metric.endswith(LOWER_IS_BETTER)


def long_rows(comp: Comparison) -> list[dict]:
    """One row per (task, metric, model): value, standard error, change from the reference model, items, and the
    paired evidence; with `comp.clean`, on the items no compared model's training snapshot contains."""
    rows = []
    ref = comp.models[0]["id"]
    for spec in comp.tasks:
        for metric in spec.metrics:
            cells = {m["id"]: _cell(comp, comp.result(m["id"], spec.name), spec, metric) for m in comp.models}
            base = cells[ref][0]
            for model in comp.models:
                result = comp.result(model["id"], spec.name)
                value, stderr, n = cells[model["id"]]
                if result is not None and value is None:
                    continue  # e.g. no English general text in this snapshot
                delta = value - base if value is not None and base is not None and model["id"] != ref else None
                ev = comp.evidence().get((model["id"], spec.name, metric))
                rows.append({"task": spec.name, "task_title": spec.title, "metric": metric, "model": model["id"],
                             "value": value, "stderr": stderr, "delta": delta, "n": n,
                             "eval_id": (result or {}).get("id"), "clean": bool(comp.excluded(spec.name)),
                             "lower_is_better": lower_is_better(metric), **_evidence_fields(ev)})
    return rows


def _cell(comp: Comparison, result: dict | None, spec, metric: str) -> tuple:
    """(value, standard error, items) of one result: as stored, or on the clean items."""
    if result is None:
        return None, None, None
    if comp.excluded(spec.name):
        from backend.evaluation.evidence import clean_value

        return clean_value(comp.db, result, metric, spec.metrics[0], comp.excluded(spec.name))
    metrics = result.get("metrics", {})
    return metrics.get(metric), metrics.get(f"{metric}_stderr"), result.get("n_samples")


def _evidence_fields(ev) -> dict:
    if ev is None:
        return {"ci_low": None, "ci_high": None, "p": None, "p_holm": None, "test": None, "n_paired": None,
                "significant": False, "verdict": None, "verdict_fr": None, "mde": None}
    return {"ci_low": ev.low, "ci_high": ev.high, "p": ev.p, "p_holm": ev.p_holm, "test": ev.test,
            "n_paired": ev.n, "significant": ev.significant, "verdict": ev.verdict("en"),
            "verdict_fr": ev.verdict("fr"), "mde": ev.mde}


def fmt_p(p) -> str:
    return "—" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


VERDICT_HEADERS = {"en": ["benchmark", "metric", "model", "Δ [95 % CI]", "p", "p (Holm)", "verdict"],
                   "fr": ["banc d'essai", "métrique", "modèle", "Δ [IC 95 %]", "p", "p (Holm)", "verdict"]}


def verdict_table(comp: Comparison, language: str = "en") -> tuple[list[str], list[list[str]]]:
    """Per benchmark metric and model (after the reference): Δ [95 % CI], p, Holm-corrected p and the verdict."""
    rows = []
    for r in long_rows(comp):
        if r["delta"] is None:
            continue
        ci = f" [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]" if r["ci_low"] is not None else ""
        verdict = r["verdict_fr" if language == "fr" else "verdict"] or (
            "pas de test (items non stockés)" if language == "fr" else "no test (no per-item rows)")
        rows.append([r["task_title"], r["metric"], r["model"], f"{r['delta']:+.3f}{ci}", fmt_p(r["p"]),
                     fmt_p(r["p_holm"]), verdict])
    return VERDICT_HEADERS[language], rows


def fmt(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def wide_table(comp: Comparison) -> tuple[list[str], list[list[str]]]:
    """Headers and rows for display: task, metric, then per model 'value ± stderr' and (after the reference)
    its change from the reference, marked ▲ better / ▼ worse."""
    ref = comp.models[0]["id"]
    headers = ["task", "metric"]
    for m in comp.models:
        headers += [m["id"]] if m["id"] == ref else [m["id"], f"Δ {m['id']}"]
    table: dict[tuple[str, str], dict] = {}
    for r in long_rows(comp):
        table.setdefault((r["task_title"], r["metric"]), {})[r["model"]] = r
    rows = []
    for (title, metric), by_model in table.items():
        line = [title, metric + (" (lower is better)" if lower_is_better(metric) else "")]
        for m in comp.models:
            r = by_model.get(m["id"])
            cell = "pending" if r is None or r["value"] is None else (
                fmt(r["value"]) + (f" ± {fmt(r['stderr'])}" if r["stderr"] is not None else ""))
            line.append(cell)
            if m["id"] != ref:
                line.append(delta_cell(r))
        rows.append(line)
    return headers, rows


def delta_cell(r: dict | None) -> str:
    """Δ with its interval and corrected p; ▲/▼ only for a difference that is significant after Holm."""
    if r is None or r["delta"] is None:
        return "—"
    d = r["delta"]
    better = (d < 0) if r["lower_is_better"] else (d > 0)
    mark = (" ▲" if better else " ▼") if r.get("significant") and abs(d) >= 1e-12 else ""
    ci = f" [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]" if r.get("ci_low") is not None else ""
    p = f" p={fmt_p(r['p_holm'])}" if r.get("p_holm") is not None else ""
    return f"{d:+.3f}{ci}{p}{mark}"


def drill_down(db, comp: Comparison, task: str, disagree_only: bool = False, limit: int | None = None) -> list[dict]:
    """Per item of `task`: id, question, correct answer, each model's answer and whether it is right; with
    `disagree_only`, only the items where the models' answers differ."""
    answers: dict[str, dict[str, dict]] = {}
    order: list[str] = []
    for model in comp.models:
        result = comp.result(model["id"], task)
        if result is None:
            continue
        for item in store.items(db, result["id"]):
            key = item["item_id"] or str(item["doc_id"])
            if key not in answers:
                answers[key] = {}
                order.append(key)
            answers[key][model["id"]] = item
    rows = []
    for key in order:
        by_model = answers[key]
        first = next(iter(by_model.values()))
        preds = {m: it["pred"] for m, it in by_model.items()}
        disagree = len(set(preds.values())) > 1 or len(by_model) < len(comp.models)
        if disagree_only and not disagree:
            continue
        rows.append({"item_id": key, "question": first["question"], "gold": first["gold"], "disagree": disagree,
                     "contaminated": key in comp.flagged().get(task, set()),
                     "answers": {m: {"pred": it["pred"], "score": it["score"]} for m, it in by_model.items()}})
        if limit and len(rows) >= limit:
            break
    return rows


def drill_table(comp: Comparison, rows: list[dict], width: int = 160) -> tuple[list[str], list[list[str]]]:
    headers = ["item", "question", "correct"] + [m["id"] for m in comp.models]
    out = []
    for r in rows:
        question = r["question"] if len(r["question"]) <= width else r["question"][:width - 1] + "…"
        line = [("⚠ " if r.get("contaminated") else "") + r["item_id"][:16], question, r["gold"]]
        for m in comp.models:
            a = r["answers"].get(m["id"])
            line.append("—" if a is None else a["pred"] + (" ✓" if (a["score"] or 0) >= 1 else " ✗"))
        out.append(line)
    return headers, out


def perplexity_points(comp: Comparison) -> list[dict]:
    """(model, domain ppl, general ppl, general English ppl) for the trade-off scatter, where measured."""
    out = []
    for model in comp.models:
        result = comp.result(model["id"], PERPLEXITY)
        if result is None:
            continue
        m = result["metrics"]
        if m.get("domain_ppl") is not None and m.get("general_ppl") is not None:
            out.append({"model": model["id"], "kind": model["kind"], "domain_ppl": m["domain_ppl"],
                        "general_ppl": m["general_ppl"], "general_ppl_en": m.get("general_ppl_en")})
    return out
