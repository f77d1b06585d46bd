"""What enters the queue, and who leaves it first, on a shared server (issue 13, rows 6 and 13): a request that can
never run here (a device the server lacks, more GPUs than it has, warm-up beyond the run) is refused at submission,
nothing written; each account's share is bounded by the operator's per-user limits (jobs running at once: the next
one waits while others go ahead; GPU-hours over 24 h: GPU jobs refused, CPU jobs still welcome); the command line's
own jobs are never limited."""
from __future__ import annotations

import time

import pytest

from backend.studio import Studio
from frbio_core import registry
from frbio_core.settings import Settings
from jobs import admission, store
from jobs.scheduler import Scheduler
from jobs.store import JobError
from tests.data_helpers import wait_for
from tests.jobkinds import MODULE


@pytest.fixture
def make(tmp_path, monkeypatch):
    monkeypatch.setenv("FRBIO_JOB_KIND_MODULES", MODULE)
    made: list[Scheduler] = []

    def make(devices, **settings) -> Scheduler:
        studio = Studio(Settings(home=str(tmp_path / "home"), import_default_model=False, **settings))
        scheduler = Scheduler(studio.settings, devices=devices, interval=0.1)
        made.append(scheduler)
        return scheduler
    yield make
    for s in made:
        s.stop()
        for row in store.list_jobs(s.db, status="running", limit=None):
            s.cancel(row["id"])


def test_what_can_never_run_here_is_refused_at_submission(make):
    cpu_only = make(["cpu"])
    for device, gpus, message in (("cuda:99", 1, "device: this server has no cuda:99 (it has cpu)"),
                                  ("any", 5, "num_gpus: 5 GPUs asked for, this server has 0")):
        with pytest.raises(JobError, match=message.replace("(", r"\(").replace(")", r"\)")):
            cpu_only.submit("test_sleep", {"gpus": gpus}, owner="alice", device=device)
    assert store.list_jobs(cpu_only.db, limit=None) == []
    two_gpus = make({"cuda:0": "0", "cuda:1": "1", "cpu": ""})
    with pytest.raises(JobError, match="num_gpus: 5 GPUs asked for, this server has 2 \\(cuda:0, cuda:1\\)"):
        two_gpus.submit("test_sleep", {"gpus": 5}, owner="alice")
    assert two_gpus.submit("test_sleep", {"gpus": 2}, owner="alice")      # what fits is queued


def test_one_account_runs_at_most_its_limit_and_the_others_go_ahead(make, tmp_path):
    scheduler = make(["cpu"], job_slots="cpu=3", user_max_running_jobs=1)
    first = scheduler.submit("test_sleep", {"seconds": 600}, owner="alice")
    second = scheduler.submit("test_sleep", {"seconds": 0}, owner="alice")
    bobs = scheduler.submit("test_sleep", {"seconds": 0}, owner="bob")
    operators = scheduler.submit("test_sleep", {"seconds": 600})          # the command line: no limit
    scheduler.start()
    assert store.wait(scheduler.db, bobs, timeout=120, poll=0.1)["status"] == "succeeded"
    wait_for(lambda: store.get(scheduler.db, operators)["status"] == "running", 120, "the operator's job runs")
    waiting = wait_for(lambda: (r := store.get(scheduler.db, second))["message"].startswith("waiting") and r, 60,
                       "alice's second job says why it waits")
    assert waiting["status"] == "queued" and store.get(scheduler.db, first)["status"] == "running"
    assert waiting["message"] == "waiting: alice has 1 job running (the per-user limit)"
    use = admission.usage(scheduler.db, scheduler.settings, "alice")
    assert admission.describe(use).startswith("jobs running: 1 of 1 · GPU-hours over the last 24 h: 0.0 (no limit)")
    scheduler.cancel(first, by="alice")
    assert store.wait(scheduler.db, second, timeout=120, poll=0.1)["status"] == "succeeded"


def test_gpu_hours_over_24_hours_refuse_gpu_jobs_but_not_cpu_ones(make):
    scheduler = make({"cuda:0": "0", "cpu": ""}, user_gpu_hours_per_day=1.5)
    db = scheduler.db
    done = store.submit(db, scheduler.home, "test_sleep", {"gpus": 1}, owner="alice")
    now = time.time()     # a run on two GPUs from 2 h ago to 1 h 15 min ago: 1.5 GPU-hours
    registry.execute(db, "UPDATE jobs SET status = 'succeeded', device = 'cuda:0,cuda:1', started_at = ?, "
                     "finished_at = ? WHERE id = ?", [now - 7200, now - 4500, done])
    assert admission.gpu_hours(db, "alice") == pytest.approx(1.5, abs=0.01)
    with pytest.raises(JobError, match=r"GPU limit reached: alice used 1\.5 GPU-hours over the last 24 h "
                                       r"\(limit 1\.5\)"):
        scheduler.submit("test_sleep", {}, owner="alice")                 # 'any' on a GPU server: a GPU job
    with pytest.raises(JobError, match="GPU limit reached"):
        scheduler.submit("test_sleep", {}, owner="alice", device="cuda:0")
    assert scheduler.submit("test_sleep", {}, owner="alice", device="cpu")
    assert scheduler.submit("test_sleep", {}, owner="bob")
    assert admission.describe(admission.usage(db, scheduler.settings, "alice")).endswith("1.5 of 1.5")
    assert admission.gpu_hours(db, "alice", now=now + 24 * 3600) == 0    # the window moves on
