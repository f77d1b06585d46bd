"""What a worker tells the app, through its job folder only: the worker never opens the registry, so its job folder
may live on a shared file system (a Slurm cluster's) while the registry stays on the app host's local disk.

Files in `<home>/jobs/<id>/` (each carries the attempt it belongs to; a file of another attempt is ignored):
- `heartbeat`       the worker rewrites it every 2 s (attempt, its clock, a counter): any change is a beat, timed
                    by the scheduler's own clock, so clocks of other nodes never matter
- `progress.json`   fraction and current step, replaced atomically (write, then rename)
- `status.json`     the final status, result and reason, written once, atomically, after the last registry change
- `registry_changes.jsonl`  the rows the runner wrote into its own copy of the registry (jobs/journal.py), appended
- `stop`            written by a cancel from the app's side: the worker stops as for SIGTERM (a signal may not reach
                    a process on another node)
The scheduler applies them to the registry (jobs/ingest.py); `clear` removes an earlier attempt's before a launch.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from frbio_core.files import write_atomic

HEARTBEAT_FILE, PROGRESS_FILE, STATUS_FILE, STOP_FILE = "heartbeat", "progress.json", "status.json", "stop"
CHANGES_FILE, SNAPSHOT_FILE = "registry_changes.jsonl", "registry.db"
ATTEMPT_ENV = "FRBIO_JOB_ATTEMPT"     # set for every launched worker: it reports through files only


def write_json(folder: Path, name: str, data: dict) -> None:
    write_atomic(Path(folder) / name, json.dumps(data, ensure_ascii=False, default=str))


def read_json(folder: Path, name: str, attempt: int | None = None) -> dict | None:
    """The file's object when it is whole and (given `attempt`) of that attempt; None otherwise."""
    try:
        data = json.loads((Path(folder) / name).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or (attempt is not None and data.get("attempt") != attempt):
        return None
    return data


class WorkerFiles:
    """The worker's side: beat, progress, final status, and whether the app asked it to stop."""

    def __init__(self, folder: Path, attempt: int):
        self.folder, self.attempt = Path(folder), attempt
        self._beats = 0

    def beat(self) -> None:
        self._beats += 1
        write_atomic(self.folder / HEARTBEAT_FILE, f"{self.attempt} {os.getpid()} {self._beats}\n")

    def progress(self, fraction: float, message: str | None) -> None:
        write_json(self.folder, PROGRESS_FILE, {"attempt": self.attempt, "progress": fraction, "message": message})

    def finish(self, status: str, reason: str | None = None, result: Any = None, resumable: bool = False) -> None:
        write_json(self.folder, STATUS_FILE, {"attempt": self.attempt, "status": status, "exit_reason": reason,
                                              "result": result, "resumable": bool(resumable)})

    def stop_requested(self) -> str | None:
        """The reason of a stop the app asked for this attempt, else None."""
        found = read_json(self.folder, STOP_FILE, self.attempt)
        return (found.get("reason") or "cancelled") if found else None


def request_stop(folder: Path, attempt: int, reason: str) -> None:
    """The app's side of a cancel: a worker that no signal reaches stops at its next beat."""
    try:
        write_json(folder, STOP_FILE, {"attempt": attempt, "reason": reason})
    except OSError:
        pass


def heartbeat_stamp(folder: Path, attempt: int) -> str | None:
    """The heartbeat file's content when it belongs to `attempt` (compared with the last one seen)."""
    try:
        text = (Path(folder) / HEARTBEAT_FILE).read_text("utf-8").strip()
    except OSError:
        return None
    return text if text.split(" ", 1)[0] == str(attempt) else None


def clear(folder: Path) -> None:
    """Remove an earlier attempt's reports before launching the next."""
    for name in (HEARTBEAT_FILE, PROGRESS_FILE, STATUS_FILE, STOP_FILE, CHANGES_FILE, SNAPSHOT_FILE):
        try:
            (Path(folder) / name).unlink()
        except FileNotFoundError:
            pass
