"""Jobs that wait for other jobs and read their results, and groups of jobs (a study is one), through the real
scheduler and real worker processes: a dependent starts only after its dependency succeeded and gets the value
it refers to; a failed dependency fails its dependents with the reason; cancelling a group cancels its unfinished
parts; resuming any part resumes the whole group, which then finishes; the jobs CLI shows a group's parts."""
from __future__ import annotations

import json

import pytest

from jobs import control, store
from jobs.deps import ref
from jobs.scheduler import Scheduler
from tests.data_helpers import wait_for
from tests.jobkinds import MODULE


@pytest.fixture
def studio(small_studio, monkeypatch):
    monkeypatch.setenv("FRBIO_JOB_KIND_MODULES", MODULE)
    return small_studio


@pytest.fixture
def scheduler(studio):
    s = Scheduler(studio.settings, devices=["cpu"], slots={"cpu": 2}, interval=0.2)
    yield s
    s.stop()


def final(db, job_id: str, timeout: float = 120) -> dict:
    return store.wait(db, job_id, timeout=timeout, poll=0.1)


def test_a_dependent_waits_then_reads_the_result_it_refers_to(studio, scheduler):
    first = scheduler.submit("test_sleep", {"seconds": 0.5})
    second = scheduler.submit("test_echo", {"value": ref(first, "job")})
    row = store.get(studio.db, second)
    assert row["depends_on"] == [first] and row["config"]["value"] == {"$job": first, "$key": "job"}
    scheduler.start()
    wait_for(lambda: store.get(studio.db, second)["message"] == f"waiting for {first}", 30, "waiting message")
    done = final(studio.db, second)
    assert done["status"] == "succeeded" and done["result"]["value"] == first
    assert done["started_at"] >= store.get(studio.db, first)["finished_at"]
    missing = scheduler.submit("test_echo", {"value": ref(first, "no.such.key")})
    row = final(studio.db, missing)
    assert row["status"] == "failed" and f"the result of {first} (test_sleep) has no 'no.such.key'" in row["exit_reason"]


def test_a_group_fails_with_its_part_and_resumes_as_a_whole(studio, scheduler, tmp_path):
    from frbio_core import users

    for name in ("alice", "bob"):
        users.add_user(studio.db, name, "a long password")
    needed = tmp_path / "ready"
    top = store.reserve(studio.db, studio.home)
    a = scheduler.submit("test_sleep", {"seconds": 0}, owner="alice", parent=top, label="prepare")
    b = scheduler.submit("test_sleep", {"needs": str(needed)}, owner="alice", parent=top, label="work",
                         depends_on=[a])
    c = scheduler.submit("test_echo", {"value": ref(b, "job")}, owner="alice", parent=top, label="report")
    scheduler.submit("test_echo", {"value": "done"}, owner="alice", depends_on=[a, b, c], job_id=top)
    scheduler.start()
    row = final(studio.db, top)
    parts = {j: store.get(studio.db, j) for j in (a, b, c)}
    assert row["status"] == "failed" and row["resumable"], (row, parts)
    assert row["exit_reason"].startswith("cannot start: ") and "is missing" in row["exit_reason"], (row, parts)
    assert store.get(studio.db, a)["status"] == "succeeded"
    assert store.get(studio.db, b)["status"] == "failed" and "is missing" in store.get(studio.db, b)["exit_reason"]
    assert store.get(studio.db, c)["status"] == "failed" and b in store.get(studio.db, c)["exit_reason"]
    with pytest.raises(store.JobError, match="belongs to alice"):
        control.resume(studio.db, studio.home, c, by="bob")
    needed.touch()                                  # the cause fixed
    resumed = scheduler.resume(c, by="alice")       # any part: the whole group
    assert resumed["id"] == top and resumed["status"] == "queued"
    row = final(studio.db, top)
    assert row["status"] == "succeeded" and row["result"]["value"] == "done", (
        row, {j: store.get(studio.db, j) for j in (a, b, c)}, store.log_tail(store.job_dir(studio.home, b)))
    assert store.get(studio.db, a)["attempt"] == 1                            # kept, not run again
    assert store.get(studio.db, b)["attempt"] == 2 and store.get(studio.db, c)["result"]["value"] == b
    audit = studio.db.execute("SELECT actor, action, target FROM audit WHERE action = 'resume'").fetchall()
    assert audit == [("alice", "resume", top)]


def test_cancelling_a_group_cancels_its_parts_and_the_cli_shows_them(studio, scheduler, capsys):
    from backend.__main__ import main

    top = store.reserve(studio.db, studio.home)
    slow = scheduler.submit("test_sleep", {"seconds": 60}, parent=top, label="slow")
    after = scheduler.submit("test_echo", {"value": 1}, parent=top, label="after", depends_on=[slow])
    scheduler.submit("test_echo", {"value": 2}, depends_on=[slow, after], job_id=top)
    scheduler.start()
    wait_for(lambda: store.get(studio.db, slow)["status"] == "running", 60, "the slow part running")
    flags = ["--home", str(studio.home)]
    assert main(flags + ["jobs", "show", top, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in shown["parts"]] == [slow, after] and shown["depends_on"] == [slow, after]
    assert [p["label"] for p in shown["parts"]] == ["slow", "after"]
    assert main(flags + ["jobs", "cancel", top, "--json"]) == 0
    capsys.readouterr()
    rows = {j: store.get(studio.db, j) for j in (top, slow, after)}
    assert {r["status"] for r in rows.values()} == {"cancelled"}
    wait_for(lambda: not store.get(studio.db, slow)["pid"] or store.get(studio.db, slow)["status"] == "cancelled",
             10, "slow part stopped")
    assert main(flags + ["jobs", "list", "--json"]) == 0
    listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed[slow]["parent"] == top and listed[after]["label"] == "after"
    with pytest.raises(store.JobError, match="part of a group"):
        store.clone(studio.db, studio.home, slow)
