"""Waiting for jobs from a command line: poll until every job (and every part of a group) is final, driving a
scheduler here while no app (nor `jobs serve`) runs for the home, and telling what moves. One helper for every
command that waits (`jobs wait`, `train --wait`, `eval`, `compare`, `reproduce`)."""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, Iterable

from jobs import deps, store

Say = Callable[[str], None]


def notice(line: str) -> None:
    """The default for notices: stderr (stdout stays for the command's answer, JSON included)."""
    print(line, file=sys.stderr, flush=True)


def follow(settings, job_ids: Iterable[str], *, timeout: float | None = None, say: Say | None = None,
           context: Any = None, poll: float = 0.5, on_poll: Callable[[], None] | None = None,
           quiet_parts: bool = False, tell: Say | None = notice) -> tuple[list[dict], bool]:
    """(final rows of `job_ids`, timed_out). `say` gets one line whenever a running job's (or part's) message
    changes; `tell` the notice that this process drives the scheduler; `on_poll` runs after each round."""
    from jobs.scheduler import Scheduler

    ids = list(dict.fromkeys(job_ids))
    scheduler = Scheduler(settings, context=context)
    driving = scheduler.try_activate()
    if driving and tell and any(store.get(scheduler.db, j)["status"] not in store.FINAL for j in ids):
        tell(f"no scheduler is running for {settings.home_path}: running one here until "
            f"{', '.join(ids)} end{'s' if len(ids) == 1 else ''}")
    deadline = None if timeout is None else time.monotonic() + timeout
    last: dict[str, str] = {}
    try:
        while True:
            if driving:
                scheduler.tick()
            rows = [store.get(scheduler.db, j) for j in ids]
            if on_poll is not None:
                on_poll()
            watched = rows + ([] if quiet_parts else [p for r in rows for p in deps.descendants(scheduler.db, r["id"])])
            for row in watched:
                if say and row["status"] == "running" and row["message"] != last.get(row["id"]):
                    last[row["id"]] = row["message"]
                    say(f"{row['id']}" + (f" ({row['label']})" if row.get("label") else "")
                        + f" [{row['progress']:4.0%}] {row['message']}")
            if all(r["status"] in store.FINAL for r in rows):
                return rows, False
            if deadline is not None and time.monotonic() >= deadline:
                return rows, True
            time.sleep(poll)
    finally:
        scheduler.deactivate()
