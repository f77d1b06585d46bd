"""Slurm for real: a one-node cluster (slurmctld, slurmd and munged of Debian's slurm-wlm 22.05, started by
tests/slurm_cluster.py; `make test` installs them) with a CPU-only partition and no accounting storage, as on many
small lab clusters. Against it: an evaluation submitted from the command line with `--slurm` and no `--device`
(`any` is the CPU where the partition has no GPUs) scores what a local run scores; a tiny training job; cancel
(scancel) frees the node; a job stopped behind the app's back (scancel, and its batch step killed) becomes failed
and resumable with Slurm's reason; resume continues from the checkpoint on a new Slurm job; an app restarted while
a Slurm job runs re-attaches to it. Several nodes, GPUs and accounting are the stand-ins' (tests/test_slurm.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from backend.studio import Studio
from frbio_core.settings import PROJECT_ROOT, Settings
from jobs import store
from jobs.scheduler import Scheduler
from tests import slurm_cluster
from tests.data_helpers import home_with_default_model, wait_for
from tests.test_training import TINY, build_env

TIMEOUT = 600      # a limit for a state that should come in seconds, on a busy 2-core machine


@pytest.fixture(scope="module")
def cluster():
    try:
        running = slurm_cluster.start()
    except slurm_cluster.Unavailable as exc:
        pytest.skip(str(exc))
    before = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(running.conf)   # sbatch, squeue, scontrol, scancel and sinfo find it
    yield running
    if before is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = before
    running.stop()


@pytest.fixture(scope="module")
def env(cluster, shared_data, tmp_path_factory, default_model_home):
    root = tmp_path_factory.mktemp("slurm_cluster")
    built = build_env(root, shared_data, default_model_home)
    (root / "data" / "bench").symlink_to(shared_data / "bench", target_is_directory=True)
    settings = Settings(home=str(built["home"]), data=[str(root / "data")], slurm=True,
                        slurm_partition=slurm_cluster.PARTITION, slurm_poll_s=0)
    studio = Studio(settings)
    return {**built, "root": root, "settings": settings, "studio": studio, "cluster": cluster}


def backend_cli(home, data, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend", "--home", str(home), f"--data={data}", *args],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=TIMEOUT,
                          env={k: v for k, v in os.environ.items() if not k.startswith("FRBIO_")})


def drive(scheduler: Scheduler, until, what: str):
    """Tick and reconcile the scheduler (submitting, polling squeue/scontrol) until `until()` holds."""
    def step():
        scheduler.tick()
        scheduler.reconcile()
        return until()
    return wait_for(step, TIMEOUT, what, interval=0.3)


def train(env, **overrides) -> str:
    return store.submit(env["db"], env["home"], "train", {**TINY, "snapshot": env["snapshot"], **overrides},
                        context=env["studio"], owner="alice")


def status(env, job_id: str) -> dict:
    return store.get(env["db"], job_id)


def test_an_evaluation_with_slurm_and_no_device_runs_on_the_cpu_partition_and_scores_as_locally(
        env, default_model_home, tmp_path):
    from backend.default_model import DEFAULT_MODEL_NAME
    from backend.models.importing import make_tiny_model
    from frbio_core import registry

    args = ["eval", "--model", "tiny", "--tasks", "frenchmedmcqa_single", "--limit", "4", "--batch-size", "4",
            "--json"]
    slurm = backend_cli(env["home"], env["root"] / "data", "--slurm", "--slurm-partition", "debug",
                        "--slurm-poll-s", "0", *args)
    assert slurm.returncode == 0, slurm.stdout[-2000:] + slurm.stderr[-3000:]
    on_slurm = json.loads(slurm.stdout)
    row = status(env, on_slurm["job_id"])
    assert row["status"] == "succeeded" and row["device"] == "slurm" and row["external_id"]
    script = (store.job_dir(env["home"], row["id"]) / "job.sbatch").read_text()
    assert "--gres" not in script and "export FRBIO_JOB_DEVICE=cpu" in script
    assert f"--cpus-per-task={min(4, env['cluster'].cpus)}" in script   # the eval's 4, capped at the node's cores
    assert f"Slurm job {row['external_id']} on {env['cluster'].node}" in store.log_tail(store.job_dir(env["home"],
                                                                                                     row["id"]), 0)
    # the same evaluation on another home, run here: the same weights (same seed), the same score
    home = home_with_default_model(tmp_path / "home", default_model_home)
    make_tiny_model(home, "tiny", seed=0, tokenizer_from=home / "models" / DEFAULT_MODEL_NAME,
                    db=registry.connect(home / "frbio.db"))
    local = backend_cli(home, env["root"] / "data", *args)
    assert local.returncode == 0, local.stderr[-3000:]
    here = json.loads(local.stdout)
    assert here["job_id"] and not here["results"][0]["cached"]
    assert here["results"][0]["metrics"] == on_slurm["results"][0]["metrics"]


def test_a_tiny_training_job_on_slurm_registers_its_model(env):
    s = Scheduler(env["settings"], devices={"cpu": ""})
    job = train(env, max_steps=4, eval_every=2, save_every=2)
    row = drive(s, lambda: status(env, job)["status"] not in ("queued", "running") and status(env, job),
                "the training job to end")
    assert row["status"] == "succeeded", store.log_tail(store.job_dir(env["home"], job))
    assert row["external_id"] and row["result"]["steps"] == 4
    model = store.get(env["db"], job)["result"]["model_id"]
    assert env["db"]["models"].get(model)["kind"] == "dapt"
    s.deactivate()


def test_cancel_frees_the_node_and_a_job_stopped_behind_the_apps_back_fails_resumable_then_resumes(env):
    cluster = env["cluster"]
    s = Scheduler(env["settings"], devices={"cpu": ""})

    def at_step(job_id: str, n: int):
        return lambda: any(m.get("step", 0) >= n and "loss" in m
                           for m in store.read_metrics(store.job_dir(env["home"], job_id)))

    # cancel from the app: scancel, and the node's cores are free again
    job = train(env, max_steps=100_000, eval_every=0, save_every=1000)
    drive(s, at_step(job, 1), "the long job's first step")
    assert cluster.idle_cpus() < cluster.cpus
    s.cancel(job, by="alice")
    assert status(env, job)["status"] == "cancelled"
    wait_for(lambda: cluster.idle_cpus() == cluster.cpus, TIMEOUT, "the node's cores freed")

    # scancel behind the app's back: the worker sees SIGTERM while its row still runs → failed, resumable
    job = train(env, max_steps=100_000, eval_every=0, save_every=2)
    drive(s, lambda: (store.job_dir(env["home"], job) / "checkpoints").exists() and at_step(job, 3)(),
          "a checkpoint written")
    slurm_id = status(env, job)["external_id"]
    cluster.run("scancel", slurm_id)
    row = drive(s, lambda: status(env, job)["status"] != "running" and status(env, job), "the job to fail")
    assert row["status"] == "failed" and row["resumable"] == 1
    assert row["exit_reason"].startswith(f"stopped by Slurm (job {slurm_id}")
    assert "resume to continue from the last checkpoint" in row["exit_reason"]

    # resume: a new Slurm job continues from the checkpoint; then its batch step is killed (SIGKILL: no final status)
    s.resume(job, by="alice")
    row = drive(s, lambda: status(env, job)["external_id"] not in (None, slurm_id) and at_step(job, 5)()
                and status(env, job), "the resumed job to train on")
    log = store.log_tail(store.job_dir(env["home"], job), 0)
    assert "resumed from checkpoint" in log and row["attempt"] == 2
    second = row["external_id"]
    worker = subprocess.run(["pgrep", "-f", f"jobs.worker {job}"], capture_output=True, text=True).stdout.split()
    assert worker
    for pid in worker:
        os.kill(int(pid), signal.SIGKILL)
    row = drive(s, lambda: status(env, job)["status"] != "running" and status(env, job), "the kill to be seen")
    assert row["status"] == "failed" and row["resumable"] == 1
    assert row["exit_reason"].startswith(f"Slurm job {second} ended FAILED") and "signal 9" in row["exit_reason"]
    wait_for(lambda: cluster.idle_cpus() == cluster.cpus, TIMEOUT, "the node's cores freed")
    s.deactivate()


def test_an_app_restarted_while_a_slurm_job_runs_reattaches_to_it(env):
    first = Scheduler(env["settings"], devices={"cpu": ""})
    job = train(env, max_steps=12, eval_every=0, save_every=100)
    drive(first, lambda: status(env, job)["external_id"] and status(env, job)["message"] != "submitting to Slurm",
          "the job submitted")
    slurm_id = status(env, job)["external_id"]
    first.deactivate()          # the app stops; the Slurm job goes on
    del first
    again = Scheduler(env["settings"], devices={"cpu": ""})
    row = drive(again, lambda: status(env, job)["status"] != "running" and status(env, job), "the job to end")
    assert row["status"] == "succeeded" and row["external_id"] == slurm_id and row["attempt"] == 1
    assert row["result"]["steps"] == 12
    again.deactivate()
