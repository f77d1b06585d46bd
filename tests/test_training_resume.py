"""Train jobs through the real scheduler and worker processes (tiny model, real snapshot): kill -9 of the worker
after a checkpoint → failed (resumable) → resume continues from that checkpoint and succeeds, with one loss record
per step and perplexity records in metrics.jsonl; a cancel stops a running train job (process group gone within
5 s) and frees the slot."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from jobs import store
from jobs.processes import group_alive, stop_group
from jobs.scheduler import Scheduler
from test_training import build_env, config
from tests.data_helpers import wait_for


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


RANK_SCRIPT = """
import json, os, sys
sys.path.insert(0, {root!r})
from frbio_core import registry
from frbio_core.settings import Settings
from jobs import store
from jobs.kinds import get_kind
from jobs.reporter import RankReporter, Reporter
from backend.studio import Studio
db = registry.connect({db!r})
row = store.get(db, {job!r})
kind = get_kind("train")
rank = int(os.environ["RANK"])
settings = Settings(home={home!r}, data=[{data!r}])
job = Reporter(settings.home_path, row) if rank == 0 else RankReporter(settings.home_path, row, rank=rank)
print("RESULT", rank, json.dumps(kind.run(Studio(settings), kind.validate(row["config"]), job)))
"""


@pytest.mark.parametrize("strategy", ["fsdp"])
def test_two_cpu_ranks_train_checkpoint_and_resume_exactly(env, tmp_path, strategy):
    """What `accelerate launch` runs for a job on several GPUs, on two CPU processes (gloo): FSDP full shard
    trains, writes full checkpoints from rank 0, resumes exactly, and saves one full model."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from safetensors.torch import load_file

    root = Path(__file__).resolve().parent.parent
    job_id = env["submit"](config(
        env, max_steps=6, save_every=3, eval_every=3, micro_batch_size=2, block_size=64, eval_batches=1,
        precision="fp32", num_gpus=2, strategy=strategy))
    store.cancel_queued(env["db"], job_id, "run by this test, not by a scheduler")
    script = tmp_path / "ranks.py"
    script.write_text(RANK_SCRIPT.format(root=str(root), db=str(env["home"] / "frbio.db"), job=job_id,
                                         home=str(env["home"]), data=str(env["settings"].data[0])))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script)]

    def launch():
        out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=240)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return [json.loads(line.split(" ", 2)[2]) for line in out.stdout.splitlines() if line.startswith("RESULT")]

    def losses():
        return [(m["step"], m["loss"]) for m in store.read_metrics(store.job_dir(env["home"], job_id)) if "loss" in m]

    first = launch()
    assert len(first) == 2 and first[0]["steps"] == 6 and first[0]["domain_ppl"] == first[1]["domain_ppl"]
    before = losses()
    assert [s for s, _ in before] == list(range(1, 7)) and before[-1][1] < before[0][1]
    model = Path(first[0]["model_path"]) if first[0]["model_path"] else Path(first[1]["model_path"])
    saved = load_file(model / "model.safetensors")
    assert saved["model.embed_tokens.weight"].shape[0] == 49152                # full, not a shard
    shutil.rmtree(store.job_dir(env["home"], job_id) / "checkpoints" / "step-00000006")
    again = launch()                                                            # resumes from step 3
    assert again[0]["resumed_from"] == 3 and losses() == before


def test_train_job_outlives_the_app_killed_mid_job_and_a_new_app_shows_its_curves(env):
    """The app (a scheduler in its own process, as `python app.py` runs one) is killed with SIGKILL while a train
    job trains: the worker finishes on its own (its final status waits in its folder), and a fresh scheduler
    records it succeeded, with its whole loss curve."""
    import subprocess
    import sys

    from frbio_core.settings import PROJECT_ROOT
    from jobs import channel
    from jobs.views import curves_of, metric_series

    db = env["db"]
    job_id = store.submit(db, env["home"], "train", config(env, max_steps=30, save_every=0, eval_every=15))
    app = subprocess.Popen([sys.executable, "-m", "backend", "--home", str(env["home"]),
                            f"--data={env['settings'].data[0]}", "jobs", "serve"], cwd=PROJECT_ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: any("loss" in m for m in store.read_metrics(store.job_dir(env["home"], job_id))), 180,
                 what="train job started by the app")
        app.kill()
        app.wait(10)
        folder = store.job_dir(env["home"], job_id)
        final = wait_for(lambda: channel.read_json(folder, channel.STATUS_FILE, 1), 240, what="the worker's status")
        assert final["status"] == "succeeded", (final["exit_reason"], store.log_tail(folder))
        assert store.get(db, job_id)["status"] == "running"       # nobody recorded it yet
    finally:
        if app.poll() is None:
            app.kill()
    fresh = Scheduler(env["settings"], interval=0.25, devices=["cpu"])
    try:
        wait_for(lambda: fresh.reconcile() == [] and store.get(fresh.db, job_id)["status"] == "succeeded", 30,
                 what="the new scheduler records it")
        curves = metric_series(env["home"], job_id, curves_of("train"))
        assert curves["loss"][0] == list(range(1, 31))
        assert curves["domain_ppl"][0] == [0, 15, 30]
    finally:
        fresh.stop()
