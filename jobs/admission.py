"""What a job must pass to enter the queue, and to leave it: settings that can never run here are refused at
submission (a device this server does not have, more GPUs than it has), and each person's share of the shared
server is bounded by the operator's per-user limits:

- `user_max_running_jobs`: jobs of one owner running at once; beyond it their next job waits in the queue (others
  go ahead), it is not refused;
- `user_gpu_hours_per_day`: GPU-hours (GPUs × hours running) one owner used over the last 24 hours; over it, their
  jobs needing a GPU are refused at submission and the queued ones wait until the window has room again.

0 means no limit. A job without an owner (the operator's command line) is never limited. Under Slurm the cluster
owns placement and its own limits: only the per-user limits apply here.
"""
from __future__ import annotations

import time
from typing import Any

from jobs.launchers import multiprocess as multi
from jobs.store import JobError

DAY_S = 24 * 3600


def gpu_hours(db, owner: str, now: float | None = None, window_s: float = DAY_S) -> float:
    """GPU-hours `owner`'s jobs ran within the last `window_s` (each job: its GPUs × its running time in the window;
    a job resumed after a stop counts its latest run)."""
    now = time.time() if now is None else now
    since = now - window_s
    total = 0.0
    for device, started, finished in db.execute(
            "SELECT device, started_at, finished_at FROM jobs WHERE owner = ? AND started_at IS NOT NULL AND "
            "device LIKE '%cuda%' AND (finished_at IS NULL OR finished_at > ?)", [owner, since]).fetchall():
        gpus = sum(1 for d in multi.split_devices(device) if d.startswith("cuda"))
        end = float(finished) if finished else now
        total += gpus * max(0.0, end - max(float(started), since)) / 3600
    return total


def running(db, owner: str) -> int:
    return int(db.execute("SELECT COUNT(*) FROM jobs WHERE owner = ? AND status = 'running'", [owner]).fetchone()[0])


def usage(db, settings, owner: str | None) -> dict[str, Any]:
    """{running, max_running, gpu_hours, max_gpu_hours} of `owner` (limits 0: none)."""
    return {"running": running(db, owner) if owner else 0, "max_running": int(settings.user_max_running_jobs),
            "gpu_hours": round(gpu_hours(db, owner), 2) if owner else 0.0,
            "max_gpu_hours": float(settings.user_gpu_hours_per_day)}


def describe(use: dict[str, Any]) -> str:
    """One line for the Jobs tab: what the person uses of their limits."""
    jobs = f"{use['running']} of {use['max_running']}" if use["max_running"] else f"{use['running']} (no limit)"
    hours = (f"{use['gpu_hours']:.1f} of {use['max_gpu_hours']:g}" if use["max_gpu_hours"]
             else f"{use['gpu_hours']:.1f} (no limit)")
    return f"jobs running: {jobs} · GPU-hours over the last 24 h: {hours}"


def _over_gpu_hours(db, settings, owner: str | None) -> str | None:
    limit = float(settings.user_gpu_hours_per_day)
    if not owner or not limit:
        return None
    used = gpu_hours(db, owner)
    if used < limit:
        return None
    return f"{owner} used {used:.1f} GPU-hours over the last 24 h (limit {limit:g})"


def check_submit(db, settings, devices: dict[str, str], slots: dict[str, int], owner: str | None, device: str,
                 kind_devices: tuple[str, ...], gpus: int) -> None:
    """JobError, worded for the person, for a request that can never run on this server or is over their limit.
    `devices`/`slots`: the scheduler's; `gpus`: the GPUs the job asks for (1: a plain worker)."""
    here = [d for d in devices if slots.get(d, 0) > 0]
    if not settings.slurm:
        if device != "any" and device not in here:
            raise JobError(f"device: this server has no {device} (it has {', '.join(here) or 'no device'})")
        cuda = [d for d in here if d.startswith("cuda:")]
        if gpus > 1 and len(cuda) < gpus:
            raise JobError(f"num_gpus: {gpus} GPUs asked for, this server has {len(cuda)}"
                           + (f" ({', '.join(cuda)})" if cuda else ""))
    on_gpu = device.startswith("cuda") or (device == "any" and "cuda" in kind_devices
                                           and (settings.slurm or any(d.startswith("cuda") for d in here)))
    why = _over_gpu_hours(db, settings, owner) if on_gpu else None
    if why:
        raise JobError(f"GPU limit reached: {why}; try again later, or ask an admin")


def held(db, settings, job: dict, on_gpu: bool) -> str | None:
    """Why a queued job of an owner over a limit waits (None: it may start)."""
    owner = job.get("owner")
    if not owner:
        return None
    limit = int(settings.user_max_running_jobs)
    if limit and running(db, owner) >= limit:
        return f"waiting: {owner} has {limit} job{'s' if limit > 1 else ''} running (the per-user limit)"
    why = _over_gpu_hours(db, settings, owner) if on_gpu else None
    return f"waiting: {why}" if why else None
