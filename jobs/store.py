"""Job rows (the `jobs` table) and job folders (`<home>/jobs/<id>/`: config.json, log.txt, metrics.jsonl,
checkpoints/). Every write is one autocommit statement, conditional where several processes race (the app's
scheduler, the CLI, the workers), and retried when SQLite answers "database is locked" so that never reaches a user.
"""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import sqlite_utils

from frbio_core import users
from frbio_core.errors import PermissionDenied, UserError
from frbio_core.registry import execute, now, rows as _plain_rows
from jobs.folders import (CHECKPOINTS_DIR, CONFIG_FILE, ID_RE, LOG_FILE, METRICS_FILE, append_log,  # noqa: F401
                          append_metric, job_dir, log_tail, read_metrics)

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL = frozenset({"succeeded", "failed", "cancelled"})
DEVICE_RE = re.compile(r"^(any|cpu|cuda:\d+)$")
JSON_FIELDS = ("config", "result", "depends_on", "resources")


class JobError(UserError):
    """A job request that cannot be honoured (unknown id or kind, invalid config, wrong state): the message is for
    the user, as is (the CLI prints it, the UI shows it)."""


class JobPermissionError(JobError, PermissionDenied):
    """Someone other than the job's owner or an admin tried to cancel, resume or delete it."""


def authorize(db: sqlite_utils.Database, row: dict, actor: str | None, action: str) -> None:
    """JobPermissionError unless `actor` may `action` the job (its owner, an admin, or a trusted local caller:
    actor None; see frbio_core.users.can_manage). Every path that cancels, resumes or deletes calls this."""
    try:
        users.require_can_manage(db, actor, row.get("owner"), action, f"job {row['id']}", row["id"])
    except users.PermissionDenied as exc:
        raise JobPermissionError(str(exc)) from None


def record(db: sqlite_utils.Database, actor: str | None, action: str, job_id: str, **detail: Any) -> None:
    """An audit row for a launch, cancel, resume or delete (a failure to write it never fails the action)."""
    try:
        users.audit(db, actor, action, job_id, **detail)
    except sqlite3.Error:
        pass


# -------------------------------------------------------------------------------------------------------- rows

def _decode(row: dict | None) -> dict | None:
    if row is None:
        return None
    row = dict(row)
    for field in JSON_FIELDS:
        if isinstance(row.get(field), str):
            try:
                row[field] = json.loads(row[field])
            except ValueError:
                pass
    if "depends_on" in row and row["depends_on"] is None:
        row["depends_on"] = []
    return row


def _rows(db: sqlite_utils.Database, sql: str, params: Iterable | dict = ()) -> list[dict]:
    return [_decode(r) for r in _plain_rows(db, sql, params)]


def find(db: sqlite_utils.Database, job_id: str) -> dict | None:
    found = _rows(db, "SELECT * FROM jobs WHERE id = ?", [job_id])
    return found[0] if found else None


def get(db: sqlite_utils.Database, job_id: str) -> dict:
    """The job's row with config, result and depends_on decoded; JobError for an unknown id."""
    row = find(db, job_id)
    if row is None:
        raise JobError(f"unknown job '{job_id}'")
    return row


def list_jobs(db: sqlite_utils.Database, status: str | Iterable[str] | None = None, kind: str | None = None,
              owner: str | None = None, device: str | None = None, parent: str | None = None,
              limit: int | None = 200, order: str = "created_at DESC, id DESC") -> list[dict]:
    """Jobs, newest first by default; filters combine (status may be one status or several)."""
    if order not in ("created_at DESC, id DESC", "queued_at, id", "created_at, id"):
        raise ValueError(f"unsupported order {order!r}")
    where, params = [], []
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        where.append(f"status IN ({', '.join('?' * len(statuses))})")
        params += statuses
    for column, value in (("kind", kind), ("owner", owner), ("device", device), ("parent", parent)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order}"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return _rows(db, sql, params)


def finished_since(db: sqlite_utils.Database, t: float) -> list[dict]:
    """Jobs that reached a final status after unix time `t`."""
    return _rows(db, "SELECT * FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at > ?",
                 [t])


def children(db: sqlite_utils.Database, job_id: str) -> list[dict]:
    """The jobs that are part of `job_id` (a study's stages), oldest first."""
    return list_jobs(db, parent=job_id, limit=None, order="created_at, id")


def update(db: sqlite_utils.Database, job_id: str, *, expect: Iterable[str] | None = None,
           if_attempt: int | None = None, **fields: Any) -> bool:
    """Set `fields` on the job, only while its status is in `expect` and (if given) its attempt is `if_attempt`.
    Returns whether the row changed: a False means another process moved the job on first."""
    if not fields:
        return False
    for key in JSON_FIELDS:
        if key in fields and fields[key] is not None and not isinstance(fields[key], str):
            fields[key] = json.dumps(fields[key], ensure_ascii=False, default=str)
    sql = "UPDATE jobs SET " + ", ".join(f"{k} = ?" for k in fields) + " WHERE id = ?"
    params = list(fields.values()) + [job_id]
    if expect is not None:
        expect = list(expect)
        sql += f" AND status IN ({', '.join('?' * len(expect))})"
        params += expect
    if if_attempt is not None:
        sql += " AND attempt = ?"
        params.append(if_attempt)
    return execute(db, sql, params).rowcount > 0


def set_status(db: sqlite_utils.Database, job_id: str, status: str, *, expect: Iterable[str] | None = None,
               if_attempt: int | None = None, **fields: Any) -> bool:
    """Move a job to `status` (a final status also stamps finished_at), conditionally as in `update`."""
    if status not in STATUSES:
        raise ValueError(f"unknown job status {status!r}")
    if status in FINAL:
        fields.setdefault("finished_at", now())
    return update(db, job_id, expect=expect, if_attempt=if_attempt, status=status, **fields)


def finish(db: sqlite_utils.Database, job_id: str, status: str, *, attempt: int | None = None,
           exit_reason: str | None = None, result: Any = None, resumable: bool = False) -> bool:
    """Write a final status for a running job (no-op if it is no longer running, or was resumed since)."""
    fields: dict[str, Any] = {"exit_reason": exit_reason, "resumable": int(resumable)}
    if result is not None:
        fields["result"] = result
    if status == "succeeded":
        fields["progress"] = 1.0
    return set_status(db, job_id, status, expect=("running",), if_attempt=attempt, **fields)


def heartbeat(db: sqlite_utils.Database, job_id: str, attempt: int) -> bool:
    """Stamp the heartbeat; False when the job is no longer this worker's (cancelled, failed, resumed)."""
    return update(db, job_id, expect=("running",), if_attempt=attempt, heartbeat=now())


def set_progress(db: sqlite_utils.Database, job_id: str, fraction: float, message: str | None = None,
                 attempt: int | None = None) -> bool:
    fields: dict[str, Any] = {"progress": min(1.0, max(0.0, float(fraction))), "heartbeat": now()}
    if message is not None:
        fields["message"] = str(message)[:500]
    return update(db, job_id, expect=("running",), if_attempt=attempt, **fields)


def running_counts(db: sqlite_utils.Database) -> dict[str, int]:
    cursor = execute(db, "SELECT device, COUNT(*) FROM jobs WHERE status = 'running' GROUP BY device")
    return {device: n for device, n in cursor.fetchall()}


def claim(db: sqlite_utils.Database, job_id: str, device: str, slots: int) -> bool:
    """Atomically move a queued job to running on `device` if fewer than `slots` jobs run there (one statement,
    so two schedulers can never overfill a device nor launch the same job twice)."""
    t = now()
    cursor = execute(db, """
        UPDATE jobs SET status = 'running', device = ?, started_at = ?, heartbeat = ?, finished_at = NULL,
                        pid = NULL, pgid = NULL, exit_reason = NULL, message = 'starting'
        WHERE id = ? AND status = 'queued'
          AND (SELECT COUNT(*) FROM jobs WHERE status = 'running' AND device = ?) < ?""",
                     [device, t, t, job_id, device, slots])
    return cursor.rowcount > 0


# ------------------------------------------------------------------------------------------------------ submit

def _new_folder(home: Path, db: sqlite_utils.Database) -> tuple[str, Path]:
    """The next free job id: creating its folder (atomic mkdir) reserves it against concurrent submitters."""
    row = execute(db, "SELECT MAX(CAST(substr(id, 5) AS INTEGER)) FROM jobs WHERE id LIKE 'job-%'").fetchone()
    number = (row[0] or 0) + 1
    (Path(home) / "jobs").mkdir(parents=True, exist_ok=True)
    for _ in range(10_000):
        job_id = f"job-{number:06d}"
        folder = job_dir(home, job_id)
        try:
            folder.mkdir()
            return job_id, folder
        except FileExistsError:
            number += 1
    raise JobError(f"could not allocate a job folder under {Path(home) / 'jobs'}")


def reserve(db: sqlite_utils.Database, home: Path | str) -> str:
    """A job id (and its folder) for a job submitted later with `submit(..., job_id=...)`: the parent of a group
    is reserved first, so its parts can name it, and written last, once it can depend on them."""
    return _new_folder(Path(home), db)[0]


def submit(db: sqlite_utils.Database, home: Path | str, kind: str, config: Any, owner: str | None = None,
           device: str = "any", *, context: Any = None, depends_on: Iterable[str] = (), parent: str | None = None,
           label: str | None = None, job_id: str | None = None, admit: Callable | None = None,
           resources: dict | None = None) -> str:
    """Validate `config` with the kind's config class (and, given the feature's `context`, the kind's pre-launch
    check), then write the job's folder and its queued row. Returns the job id. An invalid request raises JobError
    (or the check's UserError) and writes nothing.

    A config may take values from the results of jobs it depends on (`jobs.deps.ref`): such a config is validated
    and checked when it starts, with those values filled in; the jobs it refers to are added to `depends_on`.
    `admit(spec, cfg or None, device)`: the scheduler's admission check (jobs.admission), before anything is
    written. `resources`: what this job asks a cluster for over its kind's defaults ({cpus, mem, time})."""
    from jobs import deps
    from jobs.kinds import check_asks, get_kind

    spec = get_kind(kind)
    device = (device or "any").strip()
    if not DEVICE_RE.match(device):
        raise JobError(f"device: '{device}' is not a device (use 'any', 'cpu' or 'cuda:N')")
    if device != "any" and device.split(":")[0] not in spec.devices:
        raise JobError(f"device: a {kind} job runs on {' or '.join(spec.devices)}, not '{device}'")
    asks = check_asks(resources)
    waits = list(dict.fromkeys([*depends_on, *deps.referenced(config)]))
    for other in waits:
        get(db, other)
    if deps.referenced(config):
        data = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
    else:
        model = spec.validate(config)
        if spec.check is not None and context is not None:
            spec.check(context, model)
        data = model.model_dump(mode="json")
    if admit is not None:
        admit(spec, None if deps.referenced(config) else model, device)
    if job_id is None:
        job_id, folder = _new_folder(Path(home), db)
    else:
        folder = job_dir(home, job_id)
    (folder / CHECKPOINTS_DIR).mkdir(exist_ok=True)
    (folder / CONFIG_FILE).write_text(json.dumps(data, indent=1, ensure_ascii=False), "utf-8")
    (folder / LOG_FILE).touch()
    (folder / METRICS_FILE).touch()
    t = now()
    execute(db, """INSERT INTO jobs (id, kind, owner, config, status, resumable, requested_device, created_at,
                   queued_at, progress, message, attempt, depends_on, parent, label, resources)
                   VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?, 0, 'queued', 1, ?, ?, ?, ?)""",
            [job_id, kind, owner, json.dumps(data, ensure_ascii=False), device, t, t,
             json.dumps(waits) if waits else None, parent, label, json.dumps(asks) if asks else None])
    record(db, owner, "launch", job_id, kind=kind, device=device, **({"parent": parent} if parent else {}))
    return job_id


def cancel_queued(db: sqlite_utils.Database, job_id: str, reason: str = "cancelled before it started") -> bool:
    return set_status(db, job_id, "cancelled", expect=("queued",), exit_reason=reason, resumable=1)


def requeue(db: sqlite_utils.Database, job_id: str, actor: str | None = None, *, retry_failed: bool = False,
            audit: bool = True) -> dict:
    """Resume: put a cancelled or failed-resumable job back in the queue (attempt + 1), keeping its folder, so a
    kind that checkpoints continues from `checkpoints/`. `retry_failed` also takes a job that failed with an error
    (a part of a group being resumed after its cause was fixed). JobError says why when it cannot be resumed (or
    `actor` may not)."""
    row = get(db, job_id)
    authorize(db, row, actor, "resume")
    status = row["status"]
    if status in ("queued", "running"):
        raise JobError(f"job {job_id} is {status}: nothing to resume")
    if status == "succeeded":
        raise JobError(f"job {job_id} succeeded: nothing to resume (clone it to run it again)")
    if status == "failed" and not row["resumable"] and not retry_failed:
        raise JobError(f"job {job_id} failed with an error and cannot be resumed ({row['exit_reason']}); "
                       "fix the cause and clone it")
    changed = update(db, job_id, expect=(status,), if_attempt=row["attempt"], status="queued",
                     attempt=row["attempt"] + 1, queued_at=now(), device=None, pid=None, pgid=None, heartbeat=None,
                     started_at=None, finished_at=None, exit_reason=None, result=None, resumable=0,
                     ingested=0, beat_seen=None, message="queued (resumed)")
    if not changed:
        raise JobError(f"job {job_id} changed while resuming it; try again")
    if audit:
        record(db, actor, "resume", job_id, attempt=row["attempt"] + 1)
    return get(db, job_id)


def delete(db: sqlite_utils.Database, home: Path | str, job_id: str, actor: str | None = None) -> dict:
    """Remove a finished job: its row and its folder (log, metrics, checkpoints), and its parts when it is a group.
    Models it produced stay registered. The folder is renamed aside first, so a crash midway leaves no half-deleted
    job folder in place."""
    row = get(db, job_id)
    authorize(db, row, actor, "delete")
    parts = children(db, job_id)
    for job in [row, *parts]:
        if job["status"] not in FINAL:
            raise JobError(f"job {job['id']} is {job['status']}: cancel it before deleting it")
    for part in parts:
        _delete_one(db, home, part, actor)
    _delete_one(db, home, row, actor)
    return row


def _delete_one(db: sqlite_utils.Database, home: Path | str, row: dict, actor: str | None) -> None:
    job_id = row["id"]
    folder = job_dir(home, job_id)
    aside = folder.with_name(f".deleted-{job_id}-{int(now())}")
    if folder.exists():
        folder.rename(aside)
    if execute(db, "DELETE FROM jobs WHERE id = ? AND status = ?", [job_id, row["status"]]).rowcount == 0:
        if aside.exists():
            aside.rename(folder)
        raise JobError(f"job {job_id} changed while deleting it; try again")
    shutil.rmtree(aside, ignore_errors=True)
    record(db, actor, "delete", job_id, kind=row["kind"], owner=row["owner"], status=row["status"])


def clone(db: sqlite_utils.Database, home: Path | str, job_id: str, owner: str | None = None,
          context: Any = None) -> str:
    """Submit a new job with the same kind, config and requested device, owned by `owner` (who clones it)."""
    row = get(db, job_id)
    if row.get("parent") or children(db, job_id):
        raise JobError(f"job {job_id} is part of a group (a study): resume the group, or start a new one")
    return submit(db, home, row["kind"], row["config"], owner=owner or row["owner"], device=row["requested_device"],
                  context=context)


def wait(db: sqlite_utils.Database, job_id: str, timeout: float | None = None, poll: float = 0.5,
         on_poll: Callable[[], Any] | None = None) -> dict:
    """Poll until the job reaches a final status (calling `on_poll` between polls, e.g. a scheduler tick);
    returns the row, or the current row when `timeout` seconds pass first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if on_poll is not None:
            on_poll()
        row = get(db, job_id)
        if row["status"] in FINAL or (deadline is not None and time.monotonic() >= deadline):
            return row
        time.sleep(poll)
