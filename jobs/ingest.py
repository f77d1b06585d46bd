"""The scheduler's side of jobs/channel.py: it alone writes the registry for jobs. Before a launch it clears the
folder's earlier reports and writes the registry copy (`prepare`); at every tick it applies what each running job's
worker wrote (`ingest`): the registry changes (in order, exactly once: the `ingested` byte offset moves in the same
transaction), a changed heartbeat file (stamped with the scheduler's clock), the progress, and the final status.
A job that finished a moment ago is still read for the changes its worker shipped on its way out (a cancel)."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from frbio_core.registry import retry_locked
from jobs import channel, journal, store
from jobs.launchers.base import note

log = logging.getLogger("frbio.jobs")
TRAILING_S = 600.0      # a finished job's late registry changes are still applied this long


def prepare(db, home: Path, job_id: str) -> None:
    """Before launching `job_id`: its folder without an earlier attempt's reports, and a fresh registry copy."""
    folder = store.job_dir(home, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    channel.clear(folder)
    store.update(db, job_id, ingested=0, beat_seen=None)
    journal.snapshot(db, folder)


@retry_locked
def _apply(conn, row: dict, offset: int, end: int, changes: list[dict]) -> list[str] | None:
    """Apply the lines between byte `offset` and `end` unless another process did (None then)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        moved = conn.execute("UPDATE jobs SET ingested = ? WHERE id = ? AND attempt = ? AND ingested = ?",
                             [end, row["id"], row["attempt"], offset]).rowcount
        notes = journal.apply(conn, changes, row["id"], row["attempt"]) if moved else None
        conn.execute("COMMIT")
        return notes
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def changes(db, home: Path, row: dict) -> None:
    """Apply the registry changes the job's worker shipped since the last call."""
    folder = store.job_dir(home, row["id"])
    offset = row.get("ingested") or 0
    lines, end = journal.read_changes(folder, offset)
    if end == offset:
        return
    try:
        notes = _apply(db.conn, row, offset, end, lines)
    except Exception as exc:  # a line this registry cannot take: said once in the log, the rest goes on
        store.update(db, row["id"], if_attempt=row["attempt"], ingested=end)
        note(home, row["id"], f"[scheduler] could not record the job's registry changes: {type(exc).__name__}: {exc}")
        log.exception("job %s: registry changes", row["id"])
        return
    for line in sorted(set(notes or [])):
        note(home, row["id"], f"[scheduler] {line}")


def ingest(db, home: Path, row: dict) -> bool:
    """Apply a running job's reports; True when it reached its final status."""
    folder = store.job_dir(home, row["id"])
    attempt = row["attempt"]
    final = channel.read_json(folder, channel.STATUS_FILE, attempt)   # read first: it is written after the changes
    changes(db, home, row)
    fields = {}
    beat = channel.heartbeat_stamp(folder, attempt)
    if beat and beat != row.get("beat_seen"):
        fields.update(heartbeat=store.now(), beat_seen=beat)
    progress = channel.read_json(folder, channel.PROGRESS_FILE, attempt)
    if progress and (progress.get("progress"), progress.get("message")) != (row["progress"], row["message"]):
        fields["progress"] = min(1.0, max(0.0, float(progress.get("progress") or 0)))
        if progress.get("message") is not None:
            fields["message"] = str(progress["message"])[:500]
    if fields:
        store.update(db, row["id"], expect=("running",), if_attempt=attempt, **fields)
    if final is None:
        return False
    store.finish(db, row["id"], final.get("status") or "failed", attempt=attempt, exit_reason=final.get("exit_reason"),
                 result=final.get("result"), resumable=bool(final.get("resumable")))
    return True


def trailing(db, home: Path) -> None:
    """Jobs that finished in the last TRAILING_S seconds: the changes their workers shipped on the way out (a cancel's
    last flush), and a `stop` file for a worker still beating on a row that moved on without it (cancelled or failed
    by another process that could not signal it)."""
    for row in store.finished_since(db, store.now() - TRAILING_S):
        folder = store.job_dir(home, row["id"])
        if channel.heartbeat_stamp(folder, row["attempt"]) and not (folder / channel.STOP_FILE).exists() \
                and channel.read_json(folder, channel.STATUS_FILE, row["attempt"]) is None:
            channel.request_stop(folder, row["attempt"], f"job became {row['status']} elsewhere")
        try:
            size = os.stat(store.job_dir(home, row["id"]) / channel.CHANGES_FILE).st_size
        except OSError:
            continue
        if size > (row.get("ingested") or 0):
            changes(db, home, row)
