"""The queue policy: fair between owners (round-robin), first in, first out for each owner.

Round k of the queue holds each owner's k-th oldest queued job. Within a round, owners go in this order: fewer jobs
running now first, then whoever started a job least recently (never before: first), then whoever has waited longest.
So on one slot, ten users each submitting five jobs at once get one job each in turn, and a newcomer does not wait
behind someone's long list; on several devices, a user already running jobs yields the next free slot to one who is
not. Jobs without an owner (command line) count as one owner. The scheduler walks this order and gives each job the
first free slot among the devices it may use, so each device's queue is fair in the same way.
"""
from __future__ import annotations

from collections import defaultdict


def fair_order(queued: list[dict], running: dict[str, int], last_start: dict[str, float]) -> list[dict]:
    """`queued` in queued_at order; `running` and `last_start` are keyed by owner ('' for none)."""
    per_owner: dict[str, list[dict]] = defaultdict(list)
    for job in queued:
        per_owner[job.get("owner") or ""].append(job)
    rank = {owner: (running.get(owner, 0), last_start.get(owner, float("-inf")), jobs[0]["queued_at"])
            for owner, jobs in per_owner.items()}
    owners = sorted(per_owner, key=lambda o: rank[o])
    out = []
    for k in range(max((len(v) for v in per_owner.values()), default=0)):
        out.extend(per_owner[o][k] for o in owners if k < len(per_owner[o]))
    return out


def owner_stats(db) -> tuple[dict[str, int], dict[str, float]]:
    """(running jobs per owner, last start time per owner) from the registry."""
    running: dict[str, int] = {}
    last: dict[str, float] = {}
    for owner, n_running, started in db.execute(
            "SELECT COALESCE(owner, ''), SUM(status = 'running'), MAX(started_at) FROM jobs GROUP BY 1").fetchall():
        running[owner] = int(n_running or 0)
        if started is not None:
            last[owner] = float(started)
    return running, last
