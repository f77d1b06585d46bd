"""Jobs through the real scheduler and real worker processes, with a corpus build on real data as the workload:
a job runs to 'succeeded' with its snapshot, log and metrics; invalid requests are refused before any row exists;
two jobs on one slot run one after the other; the CLI lists and shows them."""
import json

import pytest

from backend.studio import Studio
from frbio_core.errors import UserError
from frbio_core.settings import Settings
from jobs import store
from jobs.scheduler import Scheduler, scheduler_running
from jobs.processes import group_alive, stop_group
from tests.conftest import SMALL
from tests.data_helpers import wait_for

def make_studio(make_home, data) -> Studio:
    studio = Studio(Settings(home=str(make_home()), data=[str(data)]))
    studio.scan_sources()
    return studio


def cleanup(studio: Studio, *schedulers: Scheduler) -> None:
    """Stop schedulers and any worker a failed test left behind."""
    for s in schedulers:
        s.stop()
    for row in store.list_jobs(studio.db, status="running", limit=None):
        stop_group(row["pgid"], grace=1)


@pytest.fixture
def studio(small_studio):
    return small_studio


@pytest.fixture
def scheduler(studio):
    s = Scheduler(studio.settings, interval=0.25)
    yield s
    cleanup(studio, s)


def test_jobs_run_to_success_one_after_the_other_with_log_metrics_and_snapshot(studio, scheduler):
    first = scheduler.submit("corpus_build", {"name": "first", "seed": 1}, owner="alice")
    second = scheduler.submit("corpus_build", {"name": "second", "seed": 2}, owner="bob")
    third = store.clone(studio.db, studio.home, first)           # same kind, config and device; new id
    assert third not in (first, second) and store.get(studio.db, third)["config"]["name"] == "first"
    # a queued job is cancelled at once (no process), and resumes as attempt 2 at the back of the queue
    row = scheduler.cancel(third, by="carol")
    assert row["status"] == "cancelled" and row["pid"] is None and row["exit_reason"].startswith("cancelled by carol")
    assert scheduler.resume(third)["attempt"] == 2
    assert store.get(studio.db, first)["status"] == "queued" and scheduler.slots["cpu"] == 1
    scheduler.start()
    rows = [store.wait(studio.db, job_id, timeout=120, poll=0.2) for job_id in (first, second, third)]

    for row, name in zip(rows, ("first", "second", "first")):
        assert row["status"] == "succeeded", (row["exit_reason"], store.log_tail(store.job_dir(studio.home, row["id"])))
        assert row["progress"] == 1.0 and row["device"] == "cpu" and row["exit_reason"] is None
        snap = row["result"]["snapshot_id"]
        assert row["result"]["name"] == name and snap.startswith("snap-")
        assert (studio.home / "snapshots" / snap / "manifest.json").is_file()
        assert set(row["result"]["sources"]) == set(SMALL)
        folder = store.job_dir(studio.home, row["id"])
        assert json.loads((folder / "config.json").read_text())["name"] == name
        assert (folder / "checkpoints").is_dir()
        log = (folder / "log.txt").read_text()
        assert f"corpus_build attempt {row['attempt']} on cpu" in log and f"snapshot {snap}" in log
        metrics = store.read_metrics(folder)
        assert metrics[-1]["stage"] == "result" and metrics[-1]["train_docs"] > 300
        assert metrics[-1]["train_tokens"] > 10_000
    assert "counting tokens" in [m["stage"] for m in store.read_metrics(store.job_dir(studio.home, first))]
    # one CPU slot: each started only once the one before had finished, in submission order
    assert rows[1]["started_at"] >= rows[0]["finished_at"] and rows[2]["started_at"] >= rows[1]["finished_at"]
    assert rows[0]["result"]["snapshot_id"] != rows[1]["result"]["snapshot_id"]  # different seeds, different splits
    assert rows[2]["attempt"] == 2 and rows[2]["result"]["reused"] is True  # same recipe as the first: reused
    assert rows[2]["result"]["snapshot_id"] == rows[0]["result"]["snapshot_id"]

    # a finished job cannot be cancelled nor resumed
    with pytest.raises(store.JobError, match="already succeeded"):
        scheduler.cancel(first)
    with pytest.raises(store.JobError, match="nothing to resume"):
        scheduler.resume(first)


def test_invalid_requests_are_refused_before_any_row_is_written(studio):
    cases = [
        ("corpus_build", {"validation_fraction": 2}, "any", "validation_fraction"),
        ("corpus_build", {"min_words": -1}, "any", "min_words"),
        ("corpus_build", {"sourcez": ["x"]}, "any", "sourcez"),
        ("corpus_build", {"weights": {"mantra_gsc": "heavy"}}, "any", "weights.mantra_gsc"),
        ("corpus_build", {"sources": ["no_such_source"]}, "any", "no_such_source"),
        ("corpus_build", ["not", "a", "mapping"], "any", "mapping"),
        ("corpus_build", {}, "gpu please", "device"),
        ("corpus_build", {}, "cuda:0", "runs on cpu"),
        ("no_such_kind", {}, "any", "unknown job kind"),
    ]
    for kind, config, device, expected in cases:
        with pytest.raises(UserError, match=expected) as info:   # JobError, or the kind's check's own error
            studio.scheduler.submit(kind, config, device=device)
        assert "\n" not in str(info.value)
    assert store.list_jobs(studio.db) == []
    assert not (studio.home / "jobs").exists() or not any((studio.home / "jobs").iterdir())
    with pytest.raises(store.JobError, match="unknown job"):
        store.get(studio.db, "job-000001")
    with pytest.raises(store.JobError, match="not a job id"):
        store.job_dir(studio.home, "../../etc")


def test_cli_lists_shows_and_waits(studio, scheduler, capsys):
    from backend.__main__ import main

    flags = ["--home", str(studio.home), f"--data={studio.settings.data[0]}"]
    assert main(flags + ["corpus", "build", "--no-wait", "--name", "from-cli", "--seed", "7", "--json"]) == 0
    job_id = json.loads(capsys.readouterr().out)["id"]
    assert not scheduler_running(studio.home)
    scheduler.start()
    wait_for(lambda: scheduler.active, 5, what="scheduler active")
    assert scheduler_running(studio.home)
    assert main(flags + ["jobs", "wait", job_id, "--json", "--timeout", "120"]) == 0
    waited = json.loads(capsys.readouterr().out)
    assert waited["status"] == "succeeded" and waited["result"]["name"] == "from-cli"
    assert main(flags + ["jobs", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [job_id] and listed[0]["status"] == "succeeded"
    assert main(flags + ["jobs", "show", job_id, "--json", "--log", "5"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metrics"][-1]["stage"] == "result" and "succeeded" in shown["log_tail"]
    assert main(flags + ["jobs", "cancel", job_id]) == 2
    assert "already succeeded" in capsys.readouterr().err
    assert main(flags + ["corpus", "build", "--no-wait", "--validation-fraction", "0.9"]) == 2
    assert "validation_fraction" in capsys.readouterr().err
    pgid = store.get(studio.db, job_id)["pgid"]
    wait_for(lambda: not group_alive(pgid), 5, what="worker processes gone after the job ended")


def test_devices_slots_and_placement(studio, tmp_path, monkeypatch):
    """GPU discovery through a stand-in nvidia-smi; 'any' takes the kind's preferred device type (a GPU kind never
    falls back to the CPU on a GPU server); a job asking for a device this server lacks fails with the reason."""
    from pydantic import BaseModel

    from jobs import kinds
    from jobs.devices import discover_devices, parse_slots
    from jobs.launchers import worker_env

    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{__import__('os').environ['PATH']}")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert discover_devices() == {"cuda:0": "0", "cuda:1": "1", "cpu": ""}
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")      # the app itself was given GPU 1 only
    assert discover_devices() == {"cuda:0": "1", "cpu": ""}
    assert parse_slots("cpu=2, cuda:0=1") == {"cpu": 2, "cuda:0": 1} and parse_slots("3") == {"*": 3}
    env = worker_env(studio.settings, "1", "cuda:0")
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["FRBIO_JOB_DEVICE"] == "cuda:0"
    assert env["FRBIO_HOME"] == str(studio.home) and json.loads(env["FRBIO_DATA"]) == studio.settings.data

    class Probe(BaseModel):
        n: int = 1

    kinds.register("gpu_probe", config=Probe, devices=("cuda", "cpu"))(lambda context, cfg, job: {})
    try:
        gpu_server = Scheduler(studio.settings, devices={"cuda:0": "0", "cuda:1": "1", "cpu": ""},
                               slots={"cuda:1": 2})
        assert gpu_server.slots == {"cuda:0": 1, "cuda:1": 2, "cpu": 1}
        probe = {"requested_device": "any"}
        assert gpu_server.candidates(probe, kinds.get_kind("gpu_probe")) == ["cuda:0", "cuda:1"]
        assert gpu_server.candidates(probe, kinds.get_kind("corpus_build")) == ["cpu"]
        cpu_server = Scheduler(studio.settings, devices=["cpu"])
        assert cpu_server.candidates(probe, kinds.get_kind("gpu_probe")) == ["cpu"]
        job_id = store.submit(studio.db, studio.home, "gpu_probe", {"n": 2}, device="cuda:3")
        assert cpu_server.tick() == []
        row = store.get(studio.db, job_id)
        assert row["status"] == "failed" and "asked for cuda:3" in row["exit_reason"] and row["resumable"] == 1
        cpu_server.stop()
    finally:
        kinds.KINDS.pop("gpu_probe", None)


def test_a_slurm_command_on_a_home_whose_scheduler_runs_locally_is_refused_by_name(studio, scheduler, capsys):
    """The app (local) holds the home's scheduler: `--slurm corpus build` would have run here without a word."""
    import os

    from backend.__main__ import main

    flags = ["--home", str(studio.home), f"--data={studio.settings.data[0]}"]
    assert scheduler.try_activate()
    assert main(["--slurm"] + flags + ["corpus", "build", "--no-wait", "--name", "elsewhere"]) != 0
    said = capsys.readouterr().err.strip()
    assert f"process {os.getpid()}" in said and "runs jobs on this machine" in said and "without --slurm" in said
    assert len(said.splitlines()) == 1 and store.list_jobs(studio.db) == []       # one line, nothing queued
    assert main(flags + ["corpus", "build", "--no-wait", "--name", "here", "--json"]) == 0   # the same way: queued
    assert [j["config"]["name"] for j in store.list_jobs(studio.db)] == ["here"]


def test_a_commands_cluster_asks_are_stored_on_its_job_and_a_bad_one_is_one_line(studio, capsys):
    """`--job-cpus/--job-mem/--job-time` on an action command go on the job it submits (what Slurm is asked for);
    a malformed ask is refused in one line and queues nothing."""
    from backend.__main__ import main

    flags = ["--home", str(studio.home), f"--data={studio.settings.data[0]}", "corpus", "build", "--no-wait"]
    assert main(flags + ["--name", "asks", "--job-mem", "8g", "--job-time", "1:30:00", "--json"]) == 0
    (job,) = store.list_jobs(studio.db)
    assert job["resources"] == {"mem": "8G", "time": "1:30:00"}
    capsys.readouterr()
    assert main(flags + ["--name", "bad", "--job-cpus", "many"]) != 0
    said = capsys.readouterr().err.strip()
    assert said.splitlines() == [said] and "cpus 'many' is not a number of CPU cores" in said
    assert len(store.list_jobs(studio.db)) == 1
