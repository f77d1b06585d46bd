"""The `eval` job kind: evaluate one registered model on the benchmarks and perplexity tasks whose results are not
cached yet (backend.evaluation). Each task's result is stored when it finishes, so a cancelled job keeps those."""
from __future__ import annotations

from pathlib import Path

from backend.evaluation.config import EvalConfig, EvalError
from jobs.kinds import register
from jobs.store import JobError


def check_eval(db, home: Path, cfg: EvalConfig) -> None:
    """Before the row is written: the model is registered, every task is known, a perplexity task has a snapshot
    to measure (the data folders are checked by the worker, which has the app's settings)."""
    from backend.evaluation.runner import validate
    from backend.settings import load_settings

    try:
        validate(db, load_settings(home=str(home)), cfg)
    except EvalError as exc:
        raise JobError(str(exc)) from None


@register("eval", config=EvalConfig, devices=("cuda", "cpu"), check=check_eval, title="Evaluation")
def run_eval_job(ctx) -> dict:
    from backend.evaluation.runner import run_eval

    try:
        result = run_eval(ctx.db, ctx.settings, ctx.config, device=ctx.torch_device, progress=ctx.progress,
                          log=ctx.log, job_id=ctx.job_id, owner=ctx.owner)
    except EvalError as exc:
        raise JobError(str(exc)) from exc
    for e in result["evals"]:
        ctx.metric(stage="result", task=e["task"], cached=e["cached"], n_samples=e["n_samples"], **e["metrics"])
    return result
