"""Evaluations that follow a run: a user asks, during a run, that each checkpoint it keeps from then on be evaluated
as it is written (`eval --run JOB --follow`, the Train tab's trajectory panel). The request is a line in the run's
folder (`follow_evals.jsonl`: the eval settings, who asked, on which device); the training loop reads it each time
it keeps a checkpoint (and for the trained model) and queues one eval job per request for that model, owned by who
asked. The queue places it on any free device, so it never takes the training's slot."""
from __future__ import annotations

import json
import time
from pathlib import Path

FOLLOW_FILE = "follow_evals.jsonl"


def add_request(job_dir: Path, config: dict, owner: str | None, device: str = "any") -> None:
    """Append a follow request: `config` is an eval config without its model."""
    with open(Path(job_dir) / FOLLOW_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps({"config": config, "owner": owner, "device": device, "at": time.time()},
                           ensure_ascii=False) + "\n")


def requests(job_dir: Path) -> list[dict]:
    path = Path(job_dir) / FOLLOW_FILE
    if not path.is_file():
        return []
    out = []
    for line in path.read_text("utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue      # a torn line: that request is lost, the others stand
    return out


def queue_for(studio, job, model_id: str) -> list[str]:
    """Queue an eval job of `model_id` for each follow request of the run (none asked: nothing). A request that
    cannot be queued (a refused config, a removed benchmark) is a warning in the run's log, never a failed run."""
    from jobs import store

    queued = []
    for req in requests(job.job_dir):
        try:
            queued.append(store.submit(studio.db, studio.home, "eval", {**req["config"], "model": model_id},
                                       owner=req.get("owner"), device=req.get("device") or "any", context=studio))
        except Exception as exc:  # noqa: BLE001 — the run goes on
            job.log(f"WARNING: evaluation of {model_id} asked by {req.get('owner') or 'local'} not queued: {exc}")
    if queued:
        job.log(f"evaluations of {model_id} queued (asked to follow the run): {', '.join(queued)}")
    return queued
