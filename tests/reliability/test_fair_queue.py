"""Ten users each submit five jobs at the same moment (ten threads, each with its own registry connection, as ten
browser sessions would) to a server with one slot: all fifty run exactly once, each user's jobs in the order they
were submitted, and the users take turns (every run of ten consecutive starts serves all ten users)."""
import json
import threading
import time

from frbio_core import registry
from frbio_core.settings import Settings
from backend.studio import Studio
from jobs import store
from jobs.scheduler import Scheduler
from tests.jobkinds import MODULE

USERS, PER_USER = 10, 5


def test_ten_users_five_jobs_each_on_one_slot_all_run_once_in_fair_order(tmp_path, monkeypatch, figures):
    monkeypatch.setenv("FRBIO_JOB_KIND_MODULES", MODULE)
    studio = Studio(Settings(home=str(tmp_path / "home"), import_default_model=False))
    starts = tmp_path / "starts.jsonl"
    barrier = threading.Barrier(USERS)
    submitted: dict[str, list[str]] = {}
    errors: list[str] = []

    def user(n: int) -> None:
        db = registry.connect(studio.settings.db_path)
        barrier.wait()
        try:
            submitted[f"user{n}"] = [store.submit(db, studio.home, "test_sleep", {"seconds": 0, "record": str(starts)},
                                                  owner=f"user{n}") for _ in range(PER_USER)]
        except Exception as exc:  # noqa: BLE001 — reported below: a user would have seen it
            errors.append(f"user{n}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=user, args=(n,)) for n in range(USERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors

    scheduler = Scheduler(studio.settings, devices=["cpu"], slots=1, interval=0.1)
    t0 = time.monotonic()
    try:
        scheduler.start()
        rows = [store.wait(studio.db, job_id, timeout=300, poll=0.1) for ids in submitted.values() for job_id in ids]
    finally:
        scheduler.stop()
    elapsed = time.monotonic() - t0

    records = [json.loads(line) for line in starts.read_text().splitlines()]
    order = [r["owner"] for r in records]
    succeeded = sum(r["status"] == "succeeded" and r["attempt"] == 1 for r in rows)
    duplicates = len(records) - len({r["job"] for r in records})
    fifo = all([r["job"] for r in records if r["owner"] == owner] == ids for owner, ids in submitted.items())
    fair_rounds = sum(len(set(order[k:k + USERS])) == USERS for k in range(0, len(order), USERS))
    figures(f"{USERS} users x {PER_USER} jobs at once, 1 slot: ran", f"{succeeded}/{USERS * PER_USER} "
            f"in {elapsed:.0f} s", "all 50", succeeded == USERS * PER_USER)
    figures("  ... lost / run twice", f"{USERS * PER_USER - len({r['job'] for r in records})} / {duplicates}", "0 / 0",
            len(records) == USERS * PER_USER and duplicates == 0)
    figures("  ... round-robin rounds (10 users in 10 starts)", f"{fair_rounds}/{PER_USER}, FIFO per user: "
            f"{'yes' if fifo else 'NO'}", f"{PER_USER}/{PER_USER}, yes", fair_rounds == PER_USER and fifo)
    assert succeeded == USERS * PER_USER and len(rows) == USERS * PER_USER
    assert len(records) == USERS * PER_USER and duplicates == 0
    assert fifo and fair_rounds == PER_USER, order
    assert len(store.list_jobs(studio.db, limit=None)) == USERS * PER_USER
