"""Several GPUs for one job on this machine: the claim, the placement policy, ranks, and stopping every process.

A job on N GPUs has the device 'cuda:0,cuda:2' in its row (the GPUs it holds, in CUDA_VISIBLE_DEVICES order) and
holds one slot on each. Its pid/pgid are the accelerate launcher's; torchrun starts each rank in a session of its
own, so stopping the job signals the launcher's group and the group of every process whose command line is this
job's worker (found in /proc, which also finds ranks whose launcher is already gone).

Placement policy (FIFO without starvation): the queue is walked in the scheduler's policy order (FIFO by default);
a job on N GPUs starts only when N of its candidate GPUs have a free slot at once. When it cannot, it reserves the
slots that are free among its candidates: jobs behind it in the queue may not take them (no backfilling onto GPUs
it waits for), so a large job at the head is never starved by a stream of 1-GPU jobs; jobs for other devices (the
CPU, or a specific GPU outside its candidates) still start. The price: GPUs may idle while the large job waits for
the rest to free up.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Callable

from jobs import store
from jobs.processes import GRACE_S, signal_group, stop_groups

LAUNCH_GRACE_S = 120.0   # a multi-process job may take this long (launcher + N ranks importing) before rank 0 beats


def split_devices(device: str | None) -> list[str]:
    """'cuda:0,cuda:1' → ['cuda:0', 'cuda:1']; 'cpu' → ['cpu']; None → []."""
    return [d.strip() for d in (device or "").split(",") if d.strip()]


def place(candidates: list[str], free: dict[str, int], n: int) -> list[str] | None:
    """`n` distinct devices among `candidates` that have a free slot (emptiest first, then in candidate order),
    or None when fewer than `n` have one."""
    ready = [d for d in candidates if free.get(d, 0) > 0]
    if len(ready) < n:
        return None
    ready.sort(key=lambda d: -free[d])  # stable: ties keep the candidates' order
    return sorted(ready[:n], key=candidates.index)


def claim_devices(db, job_id: str, devices: list[str], slots: dict[str, int]) -> bool:
    """Atomically move a queued job to running on all of `devices` if each has fewer running jobs than its slot
    count (jobs on several GPUs count on each of theirs). One statement, as `store.claim`."""
    if not devices:
        return False
    t = store.now()
    conditions, params = [], [",".join(devices), t, t, job_id]
    for device in devices:
        conditions.append("(SELECT COUNT(*) FROM jobs WHERE status = 'running' "
                          "AND (',' || device || ',') LIKE ?) < ?")
        params += [f"%,{device},%", int(slots[device])]
    cursor = store.execute(db, f"""
        UPDATE jobs SET status = 'running', device = ?, started_at = ?, heartbeat = ?, finished_at = NULL,
                        pid = NULL, pgid = NULL, exit_reason = NULL, message = 'starting'
        WHERE id = ? AND status = 'queued' AND {' AND '.join(conditions)}""", params)
    return cursor.rowcount > 0


# ------------------------------------------------------------------------------------------------------- ranks

def process_rank() -> int:
    """This process's rank under accelerate/torchrun (RANK, else LOCAL_RANK); 0 when not launched by them."""
    for name in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(name)
        if value not in (None, ""):
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def is_ancestor(pid: int | None) -> bool:
    """Whether `pid` is a parent, grandparent, ... of this process (the accelerate launcher of a rank)."""
    if not pid:
        return False
    current = os.getppid()
    for _ in range(64):
        if current == pid:
            return True
        if current <= 1:
            return False
        try:
            data = Path(f"/proc/{current}/stat").read_bytes()
            current = int(data[data.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


# ----------------------------------------------------------------------------------------------- stopping all

def _scan(job_id: str | None) -> tuple[set[int], set[int]]:
    """(process groups with a live member, process groups of this job's live worker processes) from /proc."""
    live, ours = set(), set()
    needle = job_id.encode() if job_id else None
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            data = Path(f"/proc/{entry.name}/stat").read_bytes()
            fields = data[data.rindex(b")") + 2:].split()
            state, pgid = fields[0].decode(), int(fields[2])
        except (OSError, ValueError, IndexError):
            continue
        if state in ("Z", "X"):
            continue
        live.add(pgid)
        if needle is not None:
            try:
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"jobs.worker" in cmdline and needle in cmdline:
                ours.add(pgid)
    return live, ours


def job_process_groups(job_id: str, pgid: int | None = None) -> set[int]:
    """The live process groups of a job: `pgid` (the launcher's) and those of every process running this job's
    worker (each torchrun rank has its own session). Never this process's own group."""
    live, ours = _scan(job_id)
    groups = ours | ({pgid} if pgid and pgid in live else set())
    groups.discard(os.getpgid(0))
    return {g for g in groups if g > 1}


def stop_job_processes(job_id: str, pgid: int | None, grace: float = GRACE_S,
                       reap: Callable[[], None] | None = None) -> bool:
    """SIGTERM every process group of the job, SIGKILL what is left after `grace` s; True once none is left
    (within grace + 2 s). For jobs on several GPUs; a one-process job keeps `processes.stop_group`."""
    return stop_groups(lambda: job_process_groups(job_id, pgid), grace, reap)


def kill_job_processes(job_id: str, pgid: int | None) -> None:
    """SIGKILL every process group of the job at once (reconcile of a dead or silent multi-process job)."""
    for group in job_process_groups(job_id, pgid):
        signal_group(group, signal.SIGKILL)
