"""The t-sweep: the merge's main parameter (t for SLERP, the DAPT weight otherwise) walked over a grid, each point
merged in memory (the preview model, reused) and measured as perplexity on the snapshot's domain validation split
and on its general-domain validation text — the paper's trade-off between specialisation and forgetting, as a
curve. The evaluation is the training loop's (`backend.training.loop.evaluate` on `backend.training.data` blocks),
so the numbers are comparable with a DAPT run's curves. The base and DAPT models are measured too (the curve's
ends), and the Pareto points (no other point lower on both) are marked."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from pydantic import Field, field_validator, model_validator

from backend.merge.config import MergeConfig, resolve_model
from backend.merge.methods import MergeError, method_info
from backend.training.best import BEST_BY, best_of

DEFAULT_GRID = [round(i / 10, 1) for i in range(11)]


class SweepConfig(MergeConfig):
    """Walk the merge's main parameter over a grid and measure domain and general perplexity at each point."""

    output_name: str = Field("", json_schema_extra={"ui": "hidden", "cli": False},
                             description="(not used by a sweep: nothing is saved)")
    snapshot: str = Field("", description=(
        "Corpus snapshot whose validation split gives the domain perplexity and whose general-domain validation "
        "text the general perplexity (empty: the snapshot the DAPT model was trained on)."))
    grid: list[float] = Field(default_factory=lambda: list(DEFAULT_GRID), description=(
        "Values of the main parameter to evaluate (t for SLERP, the DAPT weight for linear and task arithmetic)."))
    block_size: int = Field(256, ge=16, le=131_072, description="Tokens per evaluation block.")
    eval_batches: int = Field(8, ge=1, le=100_000, description=(
        "At most this many micro-batches of each validation set per point (the same blocks at every point)."))
    micro_batch_size: int = Field(4, ge=1, le=1024, description="Blocks per forward pass.")

    @field_validator("grid", mode="before")
    @classmethod
    def _parse_grid(cls, value):
        if isinstance(value, str):
            from backend.merge.methods import _parse_schedule

            return _parse_schedule(value)
        return value

    @model_validator(mode="after")
    def _check_grid(self) -> "SweepConfig":
        info = method_info(self.method)
        main = info.main_param
        if main is None:
            raise ValueError(f"method: {info.title} has no interpolation parameter (t or weight) to sweep")
        if not self.grid:
            raise ValueError("grid: give at least one value")
        lo = main.bounds.get("ge", main.bounds.get("gt"))
        hi = main.bounds.get("le", main.bounds.get("lt"))
        for v in self.grid:
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                raise ValueError(f"grid: {main.name} = {v} is outside [{lo}, {hi}]")
        self.grid = sorted(set(self.grid))
        return self


def pareto(points: list[dict], x: str, y: str) -> list[int]:
    """Indices of the points no other point beats on both (lower is better on both)."""
    def dominated(p):
        return any(q[x] <= p[x] and q[y] <= p[y] and (q[x] < p[x] or q[y] < p[y]) for q in points)

    return [i for i, p in enumerate(points) if x in p and y in p and not dominated(p)]


def general_key(measures: dict) -> str | None:
    """'general_ppl' (French general text) when measured, else the first other-language one."""
    if "general_ppl" in measures:
        return "general_ppl"
    return next((k for k in sorted(measures) if k.startswith("general_ppl")), None)


def _eval_sets(db, home: Path, cfg: SweepConfig, snapshot_id: str, tokenizer, cache: Path | None,
               log: Callable[[str], None]) -> dict:
    from backend.corpus.snapshot import existing_snapshot
    from backend.training.data import eval_blocks, load_streams

    row = existing_snapshot(db, snapshot_id)
    if row is None:
        raise MergeError(f"snapshot: unknown snapshot '{snapshot_id}' (build one in the Corpus tab)")
    streams, _, _ = load_streams(Path(row["path"]), tokenizer, len(tokenizer), fallback_cache=cache, log=log)
    cap = cfg.eval_batches * cfg.micro_batch_size
    sets = {name: eval_blocks(s, cfg.block_size, cap) for name, s in streams.items()
            if name != "train" and len(s) >= 2}
    if "domain" not in sets:
        raise MergeError(f"snapshot: '{snapshot_id}' has no domain validation text to measure")
    return sets


def check_sweep(db, cfg: SweepConfig) -> None:
    """Before a sweep is queued: both models registered and compatible, a snapshot to measure."""
    from backend.corpus.snapshot import existing_snapshot
    from backend.merge.compat import check_compatible

    base = resolve_model(db, cfg.base_model, "base_model")
    dapt = resolve_model(db, cfg.dapt_model, "dapt_model")
    check_compatible(base["path"], dapt["path"], (f"the base {base['id']}", f"the DAPT model {dapt['id']}"))
    snapshot = cfg.snapshot or dapt.get("snapshot_id")
    if not snapshot:
        raise MergeError(f"snapshot: the DAPT model '{dapt['id']}' records no training snapshot: choose the snapshot "
                         "whose validation text to measure")
    if existing_snapshot(db, snapshot) is None:
        raise MergeError(f"snapshot: unknown snapshot '{snapshot}' (build one in the Corpus tab)")


def best_point(points: list[dict], base: dict, by: str = "balanced") -> float:
    """The best merge of a sweep, among 0 < t < 1 (t = 0 is the base, t = 1 the DAPT model), by `by`
    (backend.training.best); ties go to the t nearest 0.5."""
    inner = [p for p in points if 0.0 < p["value"] < 1.0]
    best = best_of(inner, base, by, tie=lambda p: abs(p["value"] - 0.5))
    return 0.5 if best is None else best["value"]


def run_sweep(db, home: Path, cfg: SweepConfig, device: str = "cpu",
              progress: Callable[[float, str], None] | None = None, metric: Callable[..., object] | None = None,
              should_stop: Callable[[], bool] | None = None, log: Callable[[str], None] | None = None,
              cache: Path | None = None) -> dict:
    """Run the sweep; returns {points: [{value, domain_ppl, general_ppl, …, pareto}], base, dapt, …}."""
    from backend.merge.methods import with_main
    from backend.merge.preview import get_preview
    from backend.training.loop import evaluate

    report = progress or (lambda f, m: None)
    note = log or (lambda m: None)
    record = metric or (lambda **k: None)
    info = method_info(cfg.method)
    base = resolve_model(db, cfg.base_model, "base_model")
    dapt = resolve_model(db, cfg.dapt_model, "dapt_model")
    snapshot_id = cfg.snapshot or dapt.get("snapshot_id")
    if not snapshot_id:
        raise MergeError(f"snapshot: the DAPT model '{dapt['id']}' records no training snapshot: choose the snapshot "
                         "whose validation text to measure")
    report(0.0, "loading the base and DAPT models")
    preview = get_preview(base["path"], dapt["path"], device, (f"the base {base['id']}", f"the DAPT model {dapt['id']}"))
    report(0.02, "preparing the validation text")
    sets = _eval_sets(db, home, cfg, snapshot_id, preview.tokenizer, cache, note)
    measure = lambda model: evaluate(model, sets, cfg.micro_batch_size, device, False)  # noqa: E731
    ends = {}
    for role in ("base", "dapt"):
        ends[role] = measure(preview.models[role])
        note(f"{role} model: " + ", ".join(f"{k} {v:.2f}" for k, v in ends[role].items()))
    points: list[dict] = []
    stopped = False
    for i, value in enumerate(cfg.grid):
        if should_stop is not None and should_stop():
            stopped = True
            break
        report(0.05 + 0.95 * i / len(cfg.grid), f"{info.main} = {value:g} ({i + 1}/{len(cfg.grid)})")
        timings = preview.update(cfg.method, with_main(cfg.method, cfg.parameters, value), cfg.seed)
        point = {"value": value, **measure(preview.merged), "merge_s": timings["weights_s"]}
        points.append(point)
        record(step=i, value=value, **{k: v for k, v in point.items() if k != "value"})
        note(f"{info.main} = {value:g}: " + ", ".join(f"{k} {v:.2f}" for k, v in point.items() if k.endswith("ppl")
                                                      or "_ppl_" in k))
    y = general_key(points[0] if points else ends["base"])
    front = set(pareto(points, "domain_ppl", y)) if y else set()
    for i, p in enumerate(points):
        p["pareto"] = i in front
    report(1.0, f"{len(points)} points, {len(front)} on the Pareto front")
    best = {by: best_point(points, ends["base"], by) for by in BEST_BY} if points else {}
    return {"method": cfg.method, "main": info.main, "base_model": base["id"], "dapt_model": dapt["id"],
            "snapshot": snapshot_id, "general_metric": y, "points": points, "base": ends["base"], "dapt": ends["dapt"],
            "parameters": cfg.parameters, "seed": cfg.seed, "stopped": stopped, "best": best}


def load_sweep(db, job_id: str) -> dict | None:
    """The result of a finished merge_sweep job (None while it runs, or for another kind of job)."""
    from jobs import store

    job = store.find(db, job_id) if job_id else None
    if not job or job["kind"] != "merge_sweep" or job["status"] != "succeeded" or not job.get("result"):
        return None
    return job["result"]
