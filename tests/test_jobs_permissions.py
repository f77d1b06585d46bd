"""Who may do what to a job, enforced in the jobs layer (not only in the UI): a user cancels, resumes and deletes
only their own jobs, an admin anyone's; each launch, cancel, resume and delete leaves an audit row; the queue is
round-robin between owners; workers start from argument lists, so shell metacharacters in a config stay text."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from frbio_core import users
from frbio_core.settings import PROJECT_ROOT, Settings
from backend.studio import Studio
from jobs import store
from jobs.fairness import fair_order
from jobs.scheduler import Scheduler
from jobs.store import JobError, JobPermissionError
from tests.jobkinds import MODULE


@pytest.fixture
def studio(tmp_path, monkeypatch):
    monkeypatch.setenv("FRBIO_JOB_KIND_MODULES", MODULE)
    studio = Studio(Settings(home=str(tmp_path / "home"), import_default_model=False))
    for name, admin in (("alice", False), ("bob", False), ("root", True)):
        users.add_user(studio.db, name, "long enough", admin=admin)
    return studio


def test_only_the_owner_or_an_admin_cancels_resumes_or_deletes(studio):
    scheduler = Scheduler(studio.settings, devices=["cpu"])   # never started: the jobs stay queued
    job = scheduler.submit("test_sleep", {"seconds": 5}, owner="alice")
    with pytest.raises(JobPermissionError, match="cannot cancel job .* belongs to alice"):
        scheduler.cancel(job, by="bob")
    assert store.get(studio.db, job)["status"] == "queued"       # untouched
    assert scheduler.cancel(job, by="alice")["status"] == "cancelled"
    with pytest.raises(JobPermissionError, match="cannot resume"):
        scheduler.resume(job, by="bob")
    assert scheduler.resume(job, by="root")["attempt"] == 2      # an admin may
    with pytest.raises(JobError, match="cancel it before deleting"):
        scheduler.delete(job, by="alice")
    scheduler.cancel(job, by="root")
    with pytest.raises(JobPermissionError, match="cannot delete"):
        scheduler.delete(job, by="bob")
    folder = store.job_dir(studio.home, job)
    assert folder.is_dir()
    scheduler.delete(job, by="alice")
    assert store.find(studio.db, job) is None and not folder.exists()
    assert not list(folder.parent.glob(".deleted-*"))

    actions = [(a["actor"], a["action"]) for a in reversed(users.list_audit(studio.db, target=job))]
    assert actions == [("alice", "launch"), ("bob", "refused"), ("alice", "cancel"), ("bob", "refused"),
                       ("root", "resume"), ("root", "cancel"), ("bob", "refused"), ("alice", "delete")]
    refused = [a["detail"]["attempted"] for a in reversed(users.list_audit(studio.db, target=job, action="refused"))]
    assert refused == ["cancel", "resume", "delete"]            # row 10 of issue 13: refusals leave a row too


def test_a_disabled_account_acts_no_more_even_on_its_own_jobs(studio):
    scheduler = Scheduler(studio.settings, devices=["cpu"])
    job = scheduler.submit("test_sleep", {"seconds": 5}, owner="bob")
    users.set_disabled(studio.db, "bob", actor="root")
    with pytest.raises(JobPermissionError, match="'bob' is not an enabled account here: it cannot cancel"):
        scheduler.cancel(job, by="bob")
    assert store.get(studio.db, job)["status"] == "queued"
    assert users.list_audit(studio.db, actor="bob", action="refused")[0]["target"] == job


def test_the_command_line_checks_the_user_it_acts_as(studio):
    job = store.submit(studio.db, studio.home, "test_sleep", {"seconds": 5}, owner="alice")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "backend", "--home", str(studio.home), "jobs", *args],
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                              env={**__import__("os").environ, "FRBIO_JOB_KIND_MODULES": MODULE})
    out = cli("cancel", job, "--as", "bob")
    assert out.returncode == 2 and "error: you cannot cancel job" in out.stderr and "belongs to alice" in out.stderr
    out = cli("cancel", job, "--as", "alice", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["status"] == "cancelled"
    out = cli("delete", job, "--json")                          # the server's operator (no --as): allowed
    assert out.returncode == 0 and store.find(studio.db, job) is None


def test_fair_order_is_round_robin_between_owners_and_fifo_for_each():
    queued = [{"id": f"{o}{i}", "owner": o, "queued_at": t} for t, (o, i) in enumerate(
        [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("c", 1), ("b", 2)])]
    assert [j["id"] for j in fair_order(queued, {}, {})] == ["a1", "b1", "c1", "a2", "b2", "a3"]
    # 'a' runs a job now, 'b' started one most recently: 'c' goes first, then 'b', then 'a'
    order = fair_order(queued, {"a": 1}, {"a": 100.0, "b": 50.0})
    assert [j["id"] for j in order] == ["c1", "b1", "a1", "b2", "a2", "a3"]
    assert fair_order([], {}, {}) == []


def test_workers_start_from_argument_lists_so_shell_text_in_a_config_stays_text(studio, tmp_path):
    scheduler = Scheduler(studio.settings, devices=["cpu"], interval=0.1)
    record = tmp_path / "out; touch PWNED $(touch PWNED2) `touch PWNED3`.jsonl"
    job = scheduler.submit("test_sleep", {"seconds": 0, "record": str(record)}, owner="alice")
    argv, env = scheduler.launch_plan(job, "cpu")
    assert isinstance(argv, list) and argv[-2:] == ["jobs.worker", job] and all(isinstance(a, str) for a in argv)
    try:
        scheduler.start()
        done = store.wait(studio.db, job, timeout=60, poll=0.1)
    finally:
        scheduler.stop()
    assert done["status"] == "succeeded" and record.is_file()        # the literal file name
    assert not any(Path(d, f"PWNED{n}").exists() for d in (tmp_path, PROJECT_ROOT) for n in ("", "2", "3"))
    for folder in ("backend", "jobs", "frbio_ui"):                      # and nothing anywhere goes through a shell
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            text = path.read_text("utf-8")
            assert "shell=True" not in text and "os.system(" not in text and "os.popen(" not in text, path
