"""Slurm through stand-in sbatch/squeue/scontrol/sacct/scancel/sinfo scripts (jobs.launchers.slurm): what one node
cannot show — several nodes and partitions, GPUs, accounting — and the generated batch script, states from squeue,
scontrol and sacct, cancel with scancel, refusals, resubmission on resume, the polling interval. The same paths
against a real one-node cluster: tests/test_slurm_cluster.py."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest
import yaml

from backend.studio import Studio
from frbio_core.settings import PROJECT_ROOT, Settings
from jobs import store
from jobs.launchers import slurm
from jobs.scheduler import Scheduler
from tests.conftest import SMALL
from tests.test_scaleout import probe, studio  # noqa: F401  (the same fixtures)

# ------------------------------------------------------------------------------------------------------- Slurm

STAND_INS = {
    "sbatch": """#!/bin/sh
d="$FAKE_SLURM_DIR"
if [ -f "$d/sbatch_fail" ]; then echo "sbatch: error: Batch job submission failed: Invalid account" >&2; exit 1; fi
n=$(cat "$d/counter" 2>/dev/null || echo 4241); n=$((n+1)); echo "$n" > "$d/counter"
printf '%s\\n' "$@" > "$d/sbatch_args_$n"
eval last=\\${$#}
cp "$last" "$d/script_$n"
env > "$d/sbatch_env_$n"
echo "$n;testcluster"
""",
    "squeue": """#!/bin/sh
d="$FAKE_SLURM_DIR"; echo "$*" >> "$d/squeue_calls"
if [ -f "$d/down" ]; then echo "squeue: error: Unable to contact slurm controller (connect failure)" >&2; exit 1; fi
if [ -f "$d/state_$2" ]; then cat "$d/state_$2"; exit 0; fi
echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1
""",
    "sacct": """#!/bin/sh
d="$FAKE_SLURM_DIR"; echo "$*" >> "$d/sacct_calls"
if [ -f "$d/down" ]; then echo "sacct: error: Problem talking to the database: Connection refused" >&2; exit 1; fi
if [ -f "$d/sacct_$2" ]; then cat "$d/sacct_$2"; fi
exit 0
""",
    "scancel": """#!/bin/sh
d="$FAKE_SLURM_DIR"; echo "$*" >> "$d/scancel_calls"
""",
    "scontrol": """#!/bin/sh
d="$FAKE_SLURM_DIR"; echo "$*" >> "$d/scontrol_calls"
if [ -f "$d/down" ]; then echo "slurm_load_jobs error: Unable to contact slurm controller" >&2; exit 1; fi
if [ -f "$d/scontrol_$4" ]; then cat "$d/scontrol_$4"; exit 0; fi
echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1
""",
    "sinfo": """#!/bin/sh
d="$FAKE_SLURM_DIR"
if [ -f "$d/sinfo" ]; then cat "$d/sinfo"; else echo "gpu*|64|512000|gpu:a100:4(S:0-1)"; fi
""",
}


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """sbatch/squeue/sacct/scancel stand-ins first on PATH; they record their arguments under the returned folder
    (sbatch also the script and its environment) and answer from files the test writes there."""
    bin_dir, record = tmp_path / "fake_bin", tmp_path / "fake_slurm"
    bin_dir.mkdir()
    record.mkdir()
    for name, text in STAND_INS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_DIR", str(record))
    return record


def slurm_studio(studio, **extra) -> Studio:
    values = {"home": studio.settings.home, "data": studio.settings.data, "slurm": True, "slurm_partition": "gpu",
              "slurm_account": "lab-frbio", "slurm_extra_args": ["--qos=normal"], "slurm_poll_s": 0, **extra}
    return Studio(Settings(**values))


def sbatch_lines(script: str) -> list[str]:
    return [line[len("#SBATCH "):] for line in script.splitlines() if line.startswith("#SBATCH ")]


def test_slurm_submission_script_status_and_cancel(studio, fake_slurm, probe):
    st = slurm_studio(studio)
    s = Scheduler(st.settings, devices={"cpu": ""})
    db, home = st.db, st.home
    job_id = store.submit(db, home, "corpus_build", {"name": "on-slurm", "sources": list(SMALL)}, owner="alice")
    assert s.tick() == [job_id]
    folder = store.job_dir(home, job_id)
    row = store.get(db, job_id)
    assert row["status"] == "running" and row["device"] == "slurm" and row["external_id"] == "4242"
    assert row["pid"] is None and row["message"] == "submitted to Slurm as job 4242"
    script_path = folder / "job.sbatch"
    assert (fake_slurm / "sbatch_args_4242").read_text().splitlines() == ["--parsable", str(script_path)]
    script = (fake_slurm / "script_4242").read_text()
    assert script == script_path.read_text()
    options = sbatch_lines(script)
    assert f"--job-name=frbio-{job_id}" in options and f"--output={folder / 'log.txt'}" in options
    assert "--open-mode=append" in options and "--partition=gpu" in options and "--account=lab-frbio" in options
    # the corpus build's own defaults (the partition offers more)
    assert "--cpus-per-task=4" in options and "--mem=16G" in options and "--time=4:00:00" in options
    assert "--qos=normal" in options and not any(o.startswith("--gres") for o in options)   # a CPU kind
    body = script.splitlines()
    assert f"cd {shlex.quote(str(PROJECT_ROOT))}" in body and f"export FRBIO_HOME={home}" in body
    assert "export FRBIO_JOB_ATTEMPT=1" in body and "export FRBIO_JOB_DEVICE=cpu" in body
    assert body[-1] == "exec " + shlex.join([sys.executable, "-m", "jobs.worker", job_id])
    assert subprocess.run(["bash", "-n", str(script_path)]).returncode == 0
    env = dict(line.split("=", 1) for line in (fake_slurm / "sbatch_env_4242").read_text().splitlines() if "=" in line)
    assert env["FRBIO_HOME"] == str(home) and "FRBIO_JOB_DEVICE" not in env and "CUDA_VISIBLE_DEVICES" not in env
    assert "submitted to Slurm as job 4242" in store.log_tail(folder)

    # status from squeue: PENDING/RUNNING keep it running, however old its heartbeat (no local pid to check)
    store.update(db, job_id, started_at=store.now() - 3600, heartbeat=store.now() - 3600)
    (fake_slurm / "state_4242").write_text("PENDING\n")
    assert s.tick() == [] and (fake_slurm / "counter").read_text().strip() == "4242"   # submitted once
    assert store.get(db, job_id)["message"] == "PENDING on Slurm"
    (fake_slurm / "state_4242").write_text("RUNNING\n")
    assert s.reconcile() == [] and store.get(db, job_id)["status"] == "running"
    assert store.get(db, job_id)["message"] == "RUNNING on Slurm"
    assert "-j 4242 -h -o %T" in (fake_slurm / "squeue_calls").read_text()

    # the batch script, run as Slurm would on a node (the stand-in sbatch does not run it): the worker runs the
    # Slurm row's job and reports through its folder; the scheduler's next reconcile records it (no local pid)
    with open(folder / "log.txt", "ab") as out:
        done = subprocess.run(["bash", str(script_path)], stdout=out, stderr=subprocess.STDOUT, timeout=300,
                              env={**os.environ, "SLURM_JOB_ID": "4242"})
    assert store.get(db, job_id)["status"] == "running"
    assert s.reconcile() == []
    row = store.get(db, job_id)
    assert done.returncode == 0 and row["status"] == "succeeded", store.log_tail(folder)
    assert row["pid"] is None and row["device"] == "slurm" and row["result"]["snapshot_id"].startswith("snap-")
    assert "[slurm] " + job_id + ": Slurm job 4242 on " in store.log_tail(folder, 0)

    # a job on 2 GPUs with FSDP: --gres=gpu:2 and accelerate launch in the script
    gpu_job = store.submit(db, home, probe, {"num_gpus": 2, "strategy": "fsdp"})
    assert s.tick() == [gpu_job]
    gpu_folder = store.job_dir(home, gpu_job)
    script = (fake_slurm / "script_4243").read_text()
    assert "--gres=gpu:2" in sbatch_lines(script) and "export FRBIO_JOB_DEVICE=cuda" in script
    assert script.splitlines()[-1] == "exec " + shlex.join(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(gpu_folder / "accelerate.yaml"),
         "-m", "jobs.worker", gpu_job])
    data = yaml.safe_load((gpu_folder / "accelerate.yaml").read_text())
    assert data["num_processes"] == 2 and data["distributed_type"] == "FSDP" and data["main_process_port"] == 0

    # gone from the queue, sacct says FAILED, no final status → failed, resumable, with Slurm's state
    (fake_slurm / "sacct_4243").write_text("FAILED\n")
    assert s.reconcile() == [gpu_job]
    row = store.get(db, gpu_job)
    assert row["status"] == "failed" and row["resumable"] == 1
    assert row["exit_reason"] == "Slurm job 4243 ended FAILED without a final status"
    assert "-j 4243 -n -X -P -o State" in (fake_slurm / "sacct_calls").read_text()
    # resumed: a new submission (attempt 2, new Slurm id); the old Slurm job's worker would refuse to run it
    s.resume(gpu_job)
    assert s.tick() == [gpu_job] and store.get(db, gpu_job)["external_id"] == "4244"
    assert "export FRBIO_JOB_ATTEMPT=2" in (fake_slurm / "script_4244").read_text()
    stale = subprocess.run([sys.executable, "-m", "jobs.worker", gpu_job], cwd=str(PROJECT_ROOT),
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "FRBIO_HOME": str(home), "FRBIO_JOB_ATTEMPT": "1",
                                "SLURM_JOB_ID": "4243"})
    assert stale.returncode == 2 and "this Slurm job was for attempt 1" in (stale.stdout + store.log_tail(gpu_folder))
    # cancel → scancel with the Slurm id
    (fake_slurm / "state_4244").write_text("RUNNING\n")
    row = s.cancel(gpu_job, by="alice")
    assert row["status"] == "cancelled" and (fake_slurm / "scancel_calls").read_text().split() == ["4244"]
    assert "Slurm job 4244 cancelled (scancel)" in store.log_tail(gpu_folder)

    # TIMEOUT straight from squeue
    late = store.submit(db, home, probe, {"num_gpus": 1})
    assert s.tick() == [late]
    assert "--gres=gpu:1" in sbatch_lines((fake_slurm / "script_4245").read_text())
    (fake_slurm / "state_4245").write_text("TIMEOUT\n")
    assert s.reconcile() == [late] and "ended TIMEOUT" in store.get(db, late)["exit_reason"]


def test_slurm_refusals_and_polling_interval(studio, fake_slurm, probe):
    st = slurm_studio(studio, slurm_poll_s=3600)
    s = Scheduler(st.settings, devices={"cpu": ""})
    (fake_slurm / "sbatch_fail").touch()
    refused = store.submit(st.db, st.home, probe, {})
    s.tick()
    row = store.get(st.db, refused)
    assert row["status"] == "failed" and row["resumable"] and row["external_id"] is None
    assert row["exit_reason"] == ("sbatch refused the job (exit 1): sbatch: error: Batch job submission failed: "
                                  "Invalid account")
    (fake_slurm / "sbatch_fail").unlink()

    bad = Scheduler(slurm_studio(studio, slurm_partition="gpu\n#SBATCH --wrap=rm").settings, devices={"cpu": ""})
    injected = store.submit(st.db, st.home, probe, {})
    s.deactivate()   # one launching scheduler per home
    bad.tick()
    bad.deactivate()
    assert "cannot go on an #SBATCH line" in store.get(st.db, injected)["exit_reason"]
    assert not (fake_slurm / "counter").exists()   # nothing reached sbatch

    polled = store.submit(st.db, st.home, probe, {})
    assert s.tick() == [polled]
    (fake_slurm / "state_4242").write_text("RUNNING\n")
    for _ in range(3):
        s.reconcile()
    assert len((fake_slurm / "squeue_calls").read_text().splitlines()) == 1   # once per slurm_poll_s
    # Slurm not answering (controller down): nothing is concluded; known to neither squeue nor sacct: GONE
    (fake_slurm / "down").touch()
    assert slurm.job_state("4242") == (None, "")
    s2 = Scheduler(slurm_studio(studio).settings, devices={"cpu": ""})
    assert s2.reconcile() == [] and store.get(st.db, polled)["status"] == "running"
    (fake_slurm / "down").unlink()
    (fake_slurm / "state_4242").unlink()
    assert slurm.job_state("4242") == (slurm.GONE, "")
    assert s2.reconcile() == []   # just submitted: the controller may not list it yet
    store.update(st.db, polled, started_at=store.now() - 3600)
    assert s2.reconcile() == [polled] and "is gone" in store.get(st.db, polled)["exit_reason"]


def test_slurm_asks_only_for_what_the_kind_uses_and_the_partition_offers(studio, fake_slurm, probe):
    from jobs.launchers import slurm_query

    slurm_query._offers.clear()
    st = slurm_studio(studio, slurm_partition="cpu")
    s = Scheduler(st.settings, devices={"cpu": ""})
    db, home = st.db, st.home
    # a CPU-only partition whose nodes have 2 cores and 8000 MB: `any` is the CPU, the asks are capped
    (fake_slurm / "sinfo").write_text("gpu|64|512000|gpu:4\ncpu|2|8000|(null)\n")
    job = store.submit(db, home, probe, {"num_gpus": 2})
    assert s.tick() == [job]
    script = (fake_slurm / "script_4242").read_text()
    options = sbatch_lines(script)
    assert not any(o.startswith("--gres") for o in options) and "export FRBIO_JOB_DEVICE=cpu" in script
    assert "--cpus-per-task=2" in options and "--mem=8000M" in options and "--time=4:00:00" in options
    # a job's own asks (the CLI's --job-cpus/--job-mem/--job-time) over the kind's defaults
    own = store.submit(db, home, probe, {}, resources={"cpus": "1", "mem": "2g", "time": "0:30:00"})
    assert store.get(db, own)["resources"] == {"cpus": 1, "mem": "2G", "time": "0:30:00"}
    assert s.tick() == [own]
    assert {"--cpus-per-task=1", "--mem=2G", "--time=0:30:00"} <= set(sbatch_lines(
        (fake_slurm / "script_4243").read_text()))
    with pytest.raises(store.JobError, match="resources: mem 'lots' is not a size such as 32G"):
        store.submit(db, home, probe, {}, resources={"mem": "lots"})
    # asking CUDA by name on a partition without GPUs: refused with the reason, nothing submitted
    row = store.get(db, store.submit(db, home, probe, {}))
    store.update(db, row["id"], requested_device="cuda:0")
    s.tick()
    refused = store.get(db, row["id"])
    assert refused["status"] == "failed" and "partition 'cpu' has no GPUs" in refused["exit_reason"]
    # a finished job the controller still shows: its state and reason from scontrol, without accounting
    (fake_slurm / "state_4242").unlink(missing_ok=True)
    (fake_slurm / "scontrol_4242").write_text("JobId=4242 JobName=frbio-x JobState=FAILED Reason=NonZeroExitCode "
                                              "Dependency=(null) ExitCode=1:0 RunTime=00:00:03\n")
    store.update(db, job, started_at=store.now() - 3600)
    assert job in s.reconcile()
    assert store.get(db, job)["exit_reason"] == ("Slurm job 4242 ended FAILED (NonZeroExitCode, exit code 1) without "
                                                 "a final status")
    assert "show job -o 4242" in (fake_slurm / "scontrol_calls").read_text()
