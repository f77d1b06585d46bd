"""Which model of a set is best by perplexity, for one criterion, relative to the base model's perplexities: the
rule the merge sweep uses to pick its best t and a training run uses to name its best kept checkpoint.
'balanced': lowest mean log(perplexity / base perplexity) over the measured sets (domain, general French, general
English); 'domain': lowest domain perplexity; 'general': lowest mean log ratio over the general-domain sets."""
from __future__ import annotations

import math

BEST_BY = ("balanced", "domain", "general")
PPL_KEYS = ("domain_ppl", "general_ppl", "general_ppl_en")


def score_keys(points: list[dict], base: dict, by: str) -> list[str]:
    """The perplexity sets the criterion compares: those measured for the base and for every point."""
    keys = [k for k in PPL_KEYS if base.get(k) and all(p.get(k) for p in points)]
    if by == "general":
        return [k for k in keys if k != "domain_ppl"] or keys
    if by == "domain":
        return ["domain_ppl"] if "domain_ppl" in keys else keys
    return keys


def score(point: dict, base: dict, keys: list[str]) -> float:
    """Mean log ratio of the point's perplexities to the base's (lower is better; 0 = as the base)."""
    return sum(math.log(point[k] / base[k]) for k in keys) / len(keys)


def best_of(points: list[dict], base: dict, by: str = "balanced", tie=lambda p: 0.0) -> dict | None:
    """The best point (lowest score; `tie` orders equal scores), None when there are no points or nothing to
    compare them on."""
    keys = score_keys(points, base, by)
    if not points or not keys:
        return None
    return min(points, key=lambda p: (round(score(p, base, keys), 12), tie(p)))


def kept_checkpoints(records: list[dict], initial: dict, final: dict | None) -> dict:
    """A finished run's kept checkpoints with the perplexities measured at their step (from its metrics records),
    the trained model last (`final`: {step, model_id, …perplexities}), and the best of them by each criterion
    relative to the run's step-0 perplexities `initial`: {checkpoints: [...], best_checkpoint: {by: model id}}.
    Empty when the run kept none."""
    evals = {r["step"]: r for r in records if isinstance(r.get("step"), int) and any(k in r for k in PPL_KEYS)}
    points = [{"step": r["step"], "model_id": r["kept_checkpoint"],
               **{k: evals.get(r["step"], {}).get(k) for k in PPL_KEYS}}
              for r in records if r.get("kept_checkpoint")]
    if not points:
        return {}
    points = sorted({p["step"]: p for p in points}.values(), key=lambda p: p["step"])   # a redone step: its last
    if final is not None:
        points.append({"step": final["step"], "model_id": final["model_id"], **{k: final.get(k) for k in PPL_KEYS}})
    best = {}
    for by in BEST_BY:
        chosen = best_of(points, initial, by, tie=lambda p: -p["step"])   # ties: the later checkpoint
        if chosen is not None:
            best[by] = chosen["model_id"]
    return {"checkpoints": points, "best_checkpoint": best}
