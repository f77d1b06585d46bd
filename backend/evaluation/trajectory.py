"""A training run's trajectory: the base model (step 0), every checkpoint the run kept as a model (kind
'checkpoint'), and the trained model (its last step), evaluated on the same benchmarks with the same settings, read
as the PARTAGES authors read their runs: each benchmark's score against the training step, with the paired 95 %
interval of each point's difference from the base (backend.evaluation.evidence), and the trade-off view (domain
score against general score, one point per checkpoint joined in training order).

Evaluations are ordinary cached eval jobs, one per point still missing a result: asking again while the run goes on
queues only the checkpoints written since (and reuses those already queued)."""
from __future__ import annotations

from backend.evaluation.compare import Comparison, collect, long_rows, submit_missing
from backend.evaluation.config import EvalConfig, EvalError
from backend.evaluation.tasks import PERPLEXITY


def run_points(db, job_id: str) -> list[dict]:
    """The trajectory's points in training order: {step, model, tokens_seen, kind} for the base, each kept
    checkpoint and the trained model (when the run has saved it). EvalError for an unknown or non-training job."""
    from backend.models.registry import get_model, list_models
    from jobs import store as jobs_store

    job = jobs_store.find(db, job_id)
    if job is None or job["kind"] != "train":
        raise EvalError(f"'{job_id}' is not a training job (`python -m backend jobs list --kind train`)")
    base = get_model(db, job["config"]["base_model"])
    mine = [m for m in list_models(db) if m.get("job_id") == job_id and m["status"] == "ok"
            and m["kind"] in ("checkpoint", "dapt")]
    points = [{"step": 0, "model": base["id"], "tokens_seen": 0, "kind": "base"}]
    for m in sorted(mine, key=lambda m: (m["kind"] == "dapt", m.get("step") or 0)):
        points.append({"step": m.get("step") if m.get("step") is not None else job["config"].get("max_steps"),
                       "model": m["id"], "tokens_seen": m.get("tokens_seen"), "kind": m["kind"]})
    return points


def comparison(db, settings, job_id: str, cfg: EvalConfig) -> tuple[list[dict], Comparison]:
    points = run_points(db, job_id)
    if len(points) < 2:
        raise EvalError(f"run {job_id} has no kept checkpoint or trained model yet: keep checkpoints with "
                        "`keep_every`/`keep_steps`, and ask again once the first one is written")
    return points, collect(db, settings, [p["model"] for p in points], cfg.model_copy(update={"run": ""}))


def submit(studio, cfg: EvalConfig, owner: str | None, device: str) -> list[str]:
    """Queue the evaluations still missing along run `cfg.run` (none when every point is cached); with `follow`,
    also ask the run to queue one for each checkpoint it keeps from now on (backend.training.follow)."""
    if cfg.follow:
        points = follow_run(studio, cfg, owner, device)
        if len(points) == 1:         # nothing written yet: the base now, the checkpoints as they come
            from backend.evaluation.job import submit_eval

            return submit_eval(studio, cfg.model_copy(update={"model": points[0]["model"], "run": "", "follow": False}),
                               owner, device, {})
    _, comp = comparison(studio.db, studio.settings, cfg.run, cfg)
    if comp.complete:
        return []
    submit_job = lambda kind, config, owner=None: studio.scheduler.submit(kind, config, owner=owner,  # noqa: E731
                                                                          device=device)
    return list(dict.fromkeys(submit_missing(studio.db, studio.home, submit_job, comp, owner=owner).values()))


def follow_run(studio, cfg: EvalConfig, owner: str | None, device: str) -> list[dict]:
    """Record the follow request in the run's folder (audited) and return the run's points so far; EvalError when
    the run is over."""
    from backend.training.follow import add_request
    from jobs import store as jobs_store

    points = run_points(studio.db, cfg.run)            # a training job, else EvalError
    job = jobs_store.get(studio.db, cfg.run)
    if job["status"] not in ("queued", "running"):
        raise EvalError(f"run {cfg.run} is {job['status']}: it keeps no more checkpoints to follow (evaluate its "
                        "trajectory without --follow)")
    config = cfg.model_dump(mode="json", exclude={"run", "follow", "model"})
    add_request(jobs_store.job_dir(studio.home, cfg.run), config, owner, device)
    jobs_store.record(studio.db, owner, "follow-evals", cfg.run, tasks=cfg.tasks, limit=cfg.limit)
    return points


def trajectory(db, settings, job_id: str, cfg: EvalConfig | list[EvalConfig]) -> dict:
    """Everything the chart and the table show: {run, points, series: [{task, task_title, metric,
    lower_is_better, points: [{step, model, tokens_seen, value, stderr, n, delta, ci_low, ci_high, p_holm,
    significant, verdict}]}], tradeoff: [{step, model, domain, general}], pending: [model ids]}. Several configs
    (e.g. one item limit per benchmark) add their series to the same points; Holm's correction is per config."""
    cfgs = cfg if isinstance(cfg, list) else [cfg]
    comps = []
    for one in cfgs:
        points, comp = comparison(db, settings, job_id, one)
        comps.append(comp)
    at = {p["model"]: p for p in points}
    series: dict[tuple[str, str], dict] = {}
    for r in (r for comp in comps for r in long_rows(comp)):
        if r["value"] is None:
            continue
        s = series.setdefault((r["task"], r["metric"]), {
            "task": r["task"], "task_title": r["task_title"], "metric": r["metric"],
            "lower_is_better": r["lower_is_better"], "points": []})
        s["points"].append({"step": at[r["model"]]["step"], "model": r["model"],
                            "tokens_seen": at[r["model"]]["tokens_seen"], "kind": at[r["model"]]["kind"],
                            **{k: r[k] for k in ("value", "stderr", "n", "delta", "ci_low", "ci_high", "p_holm",
                                                 "significant", "verdict")}})
    for s in series.values():
        s["points"].sort(key=lambda p: p["step"])
    return {"run": job_id, "points": points, "series": list(series.values()),
            "tradeoff": tradeoff_points(comps, points),
            "pending": sorted(set().union(*(comp.missing for comp in comps)))}


def tradeoff_points(comps: list[Comparison], points: list[dict]) -> list[dict]:
    """Per point with both: the mean headline score of the medical benchmarks (domain) and of the general ones."""
    by_domain: dict[str, list] = {"medical": [], "general": []}
    for comp in comps:
        for spec in comp.tasks:
            if spec.kind != PERPLEXITY and spec.domain in by_domain:
                by_domain[spec.domain].append((comp, spec.name, spec.metrics[0]))
    if not by_domain["medical"] or not by_domain["general"]:
        return []
    out = []
    for p in points:
        scores = {}
        for domain, tasks in by_domain.items():
            values = [(comp.result(p["model"], name) or {}).get("metrics", {}).get(metric)
                      for comp, name, metric in tasks]
            scores[domain] = sum(values) / len(values) if values and None not in values else None
        if None not in scores.values():
            out.append({"step": p["step"], "model": p["model"], "domain": scores["medical"],
                        "general": scores["general"]})
    return out


def table(data: dict) -> tuple[list[str], list[list[str]]]:
    """One row per benchmark metric, one column per point (step): value, and Δ from the base with its interval
    where a paired test exists (* when significant after Holm)."""
    headers = ["benchmark", "metric"] + [f"step {p['step']}" + (" (base)" if p["kind"] == "base" else "")
                                         for p in data["points"]]
    rows = []
    for s in data["series"]:
        cells = {p["model"]: p for p in s["points"]}
        line = [s["task_title"], s["metric"]]
        for p in data["points"]:
            c = cells.get(p["model"])
            if c is None:
                line.append("pending")
                continue
            text = f"{c['value']:.3f}"
            if c["delta"] is not None:
                text += f" (Δ {c['delta']:+.3f}"
                if c["ci_low"] is not None:
                    text += f" [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]"
                text += ("*" if c["significant"] else "") + ")"
            line.append(text)
        rows.append(line)
    return headers, rows
