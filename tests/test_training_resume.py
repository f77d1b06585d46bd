"""Train jobs through the real scheduler and worker processes (tiny model, real snapshot): kill -9 of the worker
after a checkpoint → failed (resumable) → resume continues from that checkpoint and succeeds, with one loss record
per step and perplexity records in metrics.jsonl; a cancel stops a running train job (process group gone within
5 s) and frees the slot."""
from __future__ import annotations

import os
import signal
import time

import pytest

from jobs import store
from jobs.processes import group_alive, stop_group
from jobs.scheduler import Scheduler
from test_training import build_env, config


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not reached within {timeout} s")


@pytest.fixture(scope="module")
def env(shared_data, tmp_path_factory, default_model_home):
    return build_env(tmp_path_factory.mktemp("training_jobs"), shared_data, default_model_home)


def checkpoints(env, job_id: str) -> list[str]:
    folder = store.job_dir(env["home"], job_id) / "checkpoints"
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def test_killed_train_worker_resumes_from_its_checkpoint_and_cancel_frees_the_slot(env):
    db = env["db"]
    scheduler = Scheduler(env["settings"], interval=0.25, devices=["cpu"])
    try:
        job_id = scheduler.submit("train", config(env, max_steps=60, save_every=10, eval_every=20, keep_last=1))
        scheduler.start()
        wait_for(lambda: checkpoints(env, job_id), 180, what="first checkpoint")
        row = store.get(db, job_id)
        assert row["status"] == "running" and row["device"] == "cpu"
        os.kill(row["pid"], signal.SIGKILL)                    # the worker alone, as the OOM killer would
        t0 = time.monotonic()
        failed = wait_for(lambda: (r := store.get(db, job_id))["status"] != "running" and r, 30,
                          what="failure detected")
        assert time.monotonic() - t0 <= 30 and failed["status"] == "failed" and failed["resumable"] == 1
        saved = int(checkpoints(env, job_id)[-1].split("-")[1])
        assert saved >= 10

        # meanwhile, a second train job on the one CPU slot is cancelled while it trains
        other = scheduler.submit("train", config(env, max_steps=500, save_every=0, eval_every=0))
        wait_for(lambda: any("loss" in m for m in store.read_metrics(store.job_dir(env["home"], other))), 180,
                 what="second job training")
        pgid = store.get(db, other)["pgid"]
        t0 = time.monotonic()
        cancelled = scheduler.cancel(other, by="test")
        wait_for(lambda: not group_alive(pgid), 5, what="cancelled job's process group gone")
        assert time.monotonic() - t0 <= 5 and cancelled["status"] == "cancelled"
        assert store.get(db, other)["resumable"] == 1

        scheduler.resume(job_id)
        done = store.wait(db, job_id, timeout=240, poll=0.25)
        assert done["status"] == "succeeded", (done["exit_reason"], store.log_tail(store.job_dir(env["home"], job_id)))
        assert done["attempt"] == 2 and done["result"]["resumed_from"] == saved and done["result"]["steps"] == 60
        assert done["result"]["model_id"] == f"tiny-dapt-{job_id}"
        records = store.read_metrics(store.job_dir(env["home"], job_id))
        steps = [m["step"] for m in records if "loss" in m]
        assert steps == list(range(1, 61))                      # the redone steps appear once
        assert {m["attempt"] for m in records if "loss" in m and m["step"] > saved} == {2}
        evals = [m for m in records if "domain_ppl" in m]
        assert [m["step"] for m in evals] == [0, 20, 40, 60] and all("general_ppl" in m for m in evals)
        log = (store.job_dir(env["home"], job_id) / "log.txt").read_text()
        assert "train attempt 1 on cpu" in log and "train attempt 2 on cpu" in log
        assert f"resumed from checkpoint step-{saved:08d}" in log
        assert checkpoints(env, job_id) == ["step-00000060"]   # keep_last 1
    finally:
        scheduler.stop()
        for row in store.list_jobs(db, status="running", limit=None):
            stop_group(row["pgid"], grace=1)
