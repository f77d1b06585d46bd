"""Cancel, resume and delete from any process (the app, the CLI), for a job on its own and for a group (a job with
parts, such as a study): the same rules, checks and audit rows whoever asks.

- cancel: a queued job at once; a running one is marked cancelled and gets a `stop` file in its folder (a worker
  that cannot be signalled sees it at its next heartbeat), then its launcher stops it (SIGTERM, SIGKILL after `grace` s; scancel on Slurm). Cancelling
  a group cancels it and every unfinished part.
- resume: a cancelled or failed-resumable job is queued again as its next attempt and continues from its folder.
  Resuming a part resumes its whole group: every part that did not succeed is queued again (a part that failed with
  an error too, its cause presumably fixed), the finished ones are kept, and the dependents wait for them again.
- delete: a finished job (and its parts): rows and folders.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from jobs import deps, store
from jobs.channel import request_stop
from jobs.launchers.base import note
from jobs.processes import GRACE_S
from jobs.store import JobError


def _launcher(row: dict):
    from jobs.launchers import AccelerateLauncher, ProcessLauncher, SlurmLauncher

    for cls in (SlurmLauncher, AccelerateLauncher, ProcessLauncher):
        launcher = cls(None)
        if launcher.handles(row):
            return launcher
    return ProcessLauncher(None)


def group_of(db, job_id: str) -> dict:
    """The job at the top of `job_id`'s group (itself when it is part of none)."""
    row = store.get(db, job_id)
    seen = {row["id"]}
    while row.get("parent"):
        parent = store.find(db, row["parent"])
        if parent is None or parent["id"] in seen:
            break
        seen.add(parent["id"])
        row = parent
    return row


def _cancel_one(db, home: Path, row: dict, by: str | None, reason: str, grace: float,
                reap: Callable[[], None] | None) -> bool:
    if row["status"] == "queued":
        if store.cancel_queued(db, row["id"], reason + " before it started"):
            store.record(db, by, "cancel", row["id"], status="queued")
            return True
        row = store.get(db, row["id"])
    if row["status"] != "running":
        return False
    store.finish(db, row["id"], "cancelled", attempt=row["attempt"], exit_reason=reason, resumable=True)
    store.record(db, by, "cancel", row["id"], status="running")
    request_stop(store.job_dir(home, row["id"]), row["attempt"], reason)   # for a worker no signal reaches
    stopped = _launcher(row).stop(row, grace, reap)
    note(home, row["id"], f"[scheduler] {reason}{stopped}")
    return True


def cancel(db, home: Path | str, job_id: str, by: str | None = None, grace: float = GRACE_S,
           reap: Callable[[], None] | None = None) -> dict:
    """Cancel a job (and its unfinished parts). Returns its row; JobError for a finished job, JobPermissionError
    when `by` is neither its owner nor an admin (by None: a trusted local caller)."""
    home = Path(home)
    reason = f"cancelled by {by}" if by else "cancelled by the user"
    row = store.get(db, job_id)
    store.authorize(db, row, by, "cancel")
    parts = [p for p in deps.descendants(db, job_id) if p["status"] not in store.FINAL]
    if row["status"] in store.FINAL and not parts:
        raise JobError(f"job {job_id} is already {row['status']}")
    # the group first, then the parts still waiting, then the running ones: nothing waits on a cancelled job long
    # enough for the scheduler to fail it for that
    _cancel_one(db, home, row, by, reason, grace, reap)
    for part in sorted(parts, key=lambda p: (p["status"] == "running", p["created_at"])):
        _cancel_one(db, home, store.get(db, part["id"]), by, reason, grace, reap)
    return store.get(db, job_id)


def resume(db, home: Path | str, job_id: str, by: str | None = None) -> dict:
    """Resume a job, or the whole group it belongs to. Returns the row of what was resumed (the group's top)."""
    top = group_of(db, job_id)
    parts = deps.descendants(db, top["id"])
    if not parts:
        row = store.requeue(db, top["id"], actor=by)
        note(home, top["id"], f"[scheduler] resumed{f' by {by}' if by else ''}: queued again as attempt "
                              f"{row['attempt']}")
        return row
    store.authorize(db, top, by, "resume")
    todo = [p for p in parts if p["status"] in ("failed", "cancelled")]
    if top["status"] not in ("failed", "cancelled") and not todo:
        raise JobError(f"job {top['id']} is {top['status']}: nothing to resume")
    for part in todo:
        store.requeue(db, part["id"], actor=by, retry_failed=True, audit=False)
        note(home, part["id"], f"[scheduler] resumed with {top['id']}{f' by {by}' if by else ''}")
    if top["status"] in ("failed", "cancelled"):
        store.requeue(db, top["id"], actor=by, retry_failed=True, audit=False)
    store.record(db, by, "resume", top["id"], parts=[p["id"] for p in todo])
    note(home, top["id"], f"[scheduler] resumed{f' by {by}' if by else ''}: {len(todo)} part(s) queued again")
    return store.get(db, top["id"])


def delete(db, home: Path | str, job_id: str, by: str | None = None) -> dict:
    return store.delete(db, home, job_id, actor=by)
