"""Workers never write the registry: they report through their job folder (jobs/channel.py, jobs/journal.py) and
the scheduler applies it (jobs/ingest.py). Real worker processes, a real registry; the registry lives apart from
the home, as on a cluster whose nodes see only the shared home."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from frbio_core import registry
from frbio_core.settings import PROJECT_ROOT, Settings
from jobs import channel, ingest, journal, store
from jobs.scheduler import Scheduler
from tests.data_helpers import wait_for
from tests.jobkinds import MODULE

GUARD = Path(__file__).resolve().parent / "no_registry"


@pytest.fixture
def split_home(tmp_path, monkeypatch):
    """Settings whose registry is on 'the app host' (outside the home), workers forbidden to open it."""
    monkeypatch.setenv("FRBIO_JOB_KIND_MODULES", MODULE)
    settings = Settings(home=str(tmp_path / "shared" / "home"), registry=str(tmp_path / "host" / "frbio.db"),
                        data=[])
    db = registry.connect(settings.db_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(GUARD), str(PROJECT_ROOT),
                                                      os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("FRBIO_TEST_FORBIDDEN_REGISTRY", str(settings.db_path))
    (tmp_path / "node-tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "node-tmp"))     # the node's local disk, for the workers' copies
    return settings, db


def test_a_worker_that_cannot_open_the_registry_runs_its_job_and_the_scheduler_records_what_it_wrote(split_home):
    settings, db = split_home
    # the guard bites: a process with the workers' environment cannot open the registry
    probe = subprocess.run([sys.executable, "-c", "import sys; from frbio_core import registry; "
                            "registry.connect(sys.argv[1])", str(settings.db_path)], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode != 0 and "may not open the registry" in probe.stderr

    s = Scheduler(settings, devices=["cpu"], slots=2, interval=0.25)
    try:
        job = s.submit("test_write", {"model_id": "from-a-node"}, owner="alice")
        s.start()
        row = wait_for(lambda: (r := store.get(db, job))["status"] in store.FINAL and r, 180, what="the job")
        log = store.log_tail(store.job_dir(settings.home_path, job), 0)
        assert row["status"] == "succeeded", (row["exit_reason"], log)
        assert "may not open" not in log and row["progress"] == 1.0
        # what its runner wrote into its copy is in the registry: the model in its final state, the audit row,
        # and the job it submitted, which the scheduler then ran
        model = db["models"].get("from-a-node")
        assert model["name"] == "final name" and model["owner"] == "alice"
        assert [r["target"] for r in db["audit"].rows_where("action = 'test_write'")] == ["from-a-node"]
        echo = row["result"]["echo"]
        done = wait_for(lambda: (r := store.get(db, echo))["status"] in store.FINAL and r, 180, what="the echo job")
        assert done["status"] == "succeeded" and done["result"]["value"] == "from-a-node" and done["owner"] == "alice"
        # the worker's registry copy was on its own local disk, gone with it; the folder keeps only the reports
        folder = store.job_dir(settings.home_path, job)
        assert (folder / channel.STATUS_FILE).is_file() and (folder / channel.SNAPSHOT_FILE).is_file()
        assert not list(Path(os.environ["TMPDIR"]).iterdir())
    finally:
        cleanup_split(s, db)


def cleanup_split(s: Scheduler, db) -> None:
    s.stop()
    from jobs.processes import stop_group

    for row in store.list_jobs(db, status="running", limit=None):
        stop_group(row["pgid"], grace=1)


def test_a_stop_file_alone_stops_a_worker_that_no_signal_reaches(split_home):
    settings, db = split_home
    s = Scheduler(settings, devices=["cpu"], interval=0.25)
    try:
        job = s.submit("test_sleep", {"seconds": 120}, owner="alice")
        s.start()
        row = wait_for(lambda: (r := store.get(db, job))["message"] == "sleeping" and r, 180, what="sleeping")
        channel.request_stop(store.job_dir(settings.home_path, job), row["attempt"], "stopped from the app host")
        done = wait_for(lambda: (r := store.get(db, job))["status"] in store.FINAL and r, 60, what="the stop")
        assert done["status"] == "cancelled" and done["resumable"] == 1
        assert done["exit_reason"] == "stopped from the app host"
    finally:
        cleanup_split(s, db)


def test_reports_are_applied_once_in_order_and_only_for_their_attempt(tmp_path, monkeypatch):
    monkeypatch.setenv("FRBIO_JOB_KIND_MODULES", MODULE)
    home = tmp_path / "home"
    db = registry.connect(home / "frbio.db")
    from jobs.kinds import load_kinds

    load_kinds()
    job = store.submit(db, home, "test_echo", {"value": 1}, owner="alice")
    other = store.submit(db, home, "test_echo", {"value": 2}, owner="bob")
    store.claim(db, job, "cpu", 1)
    ingest.prepare(db, home, job)
    folder = store.job_dir(home, job)
    copy = journal.local_copy(folder, tmp_path)
    work = registry.connect(copy)
    work["models"].insert({"id": "m1", "name": "one", "kind": "tiny", "path": "p", "created_at": 1.0})
    from frbio_core import users

    users.audit(work, "alice", "made", "m1")
    store.update(work, other, status="failed")                    # another job's row: the scheduler's, not shipped
    new = store.submit(work, home, "test_echo", {"value": 3}, owner="alice")
    work["models"].update("m1", {"name": "renamed"})
    work["models"].upsert({"id": "m1", "name": "renamed", "kind": "tiny", "path": "p", "step": 20}, pk="id",
                          alter=True)                                # a column the runner adds (a checkpoint's step)
    journal.Journal(copy, folder, 1).flush()
    lines = [json.loads(x) for x in (folder / channel.CHANGES_FILE).read_text().splitlines()]
    assert [(x["table"], x["op"]) for x in lines][:2] == [("models", "upsert"), ("audit", "upsert")]
    with open(folder / channel.CHANGES_FILE, "a") as f:        # a line the worker is still writing
        f.write('{"attempt": 1, "table": "models", "op": "upsert", "row": {"id": "half')
    stale = store.get(db, job)
    ingest.changes(db, home, stale)
    ingest.changes(db, home, stale)                              # a second scheduler with the same row: nothing
    assert db["models"].get("m1")["name"] == "renamed" and db["models"].get("m1")["step"] == 20
    assert len(list(db["audit"].rows_where("action = 'made'"))) == 1
    assert store.get(db, other)["status"] == "queued" and store.get(db, new)["status"] == "queued"
    assert store.get(db, job)["ingested"] < (folder / channel.CHANGES_FILE).stat().st_size
    # a final status of an earlier attempt is ignored; this attempt's is applied
    channel.write_json(folder, channel.STATUS_FILE, {"attempt": 0, "status": "succeeded", "result": {"x": 0}})
    assert not ingest.ingest(db, home, store.get(db, job))
    channel.WorkerFiles(folder, 1).finish("succeeded", result={"x": 1})
    assert ingest.ingest(db, home, store.get(db, job))
    assert store.get(db, job)["status"] == "succeeded" and store.get(db, job)["result"] == {"x": 1}


def test_copies_left_by_killed_workers_are_swept_from_the_nodes_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)        # re-read TMPDIR
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f"frbio-job-000009-{gone.pid}-abc"
    alive = tmp_path / f"frbio-job-000009-{os.getpid()}-def"
    for folder in (dead, alive):
        (folder).mkdir()
        (folder / "frbio.db").write_bytes(b"x")
    assert journal.sweep() == 1 and not dead.exists() and alive.exists()
