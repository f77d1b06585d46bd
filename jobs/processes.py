"""Is a worker alive, is anything left in its process group, stop a group (SIGTERM, then SIGKILL). Linux reads
/proc (so a zombie counts as gone and a reused pid is not mistaken for a worker); elsewhere, signal 0."""
from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Callable

log = logging.getLogger("frbio.jobs")
GRACE_S = 3.0          # SIGTERM → SIGKILL


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a live pid from /proc, None when there is no such process."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[2])


def worker_alive(pid: int | None, job_id: str | None = None) -> bool:
    """Whether `pid` is a live (not zombie) process — and, with `job_id`, that it is that job's worker, so a pid
    reused by an unrelated process does not count."""
    if not pid:
        return False
    if not Path("/proc/self/stat").exists():  # not Linux: signal 0 (a zombie counts as alive here)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    stat = _proc_stat(pid)
    if stat is None or stat[0] in ("Z", "X"):
        return False
    if job_id is None:
        return True
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    if not raw:   # a process in the middle of exec (its new arguments not set up yet) reads empty: not gone
        return True
    cmdline = raw.split(b"\0")
    return b"jobs.worker" in cmdline and job_id.encode() in cmdline


def group_alive(pgid: int | None) -> bool:
    """Whether any live (not zombie) process is in process group `pgid`."""
    if not pgid:
        return False
    if not Path("/proc/self/stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat and stat[1] == pgid and stat[0] not in ("Z", "X"):
                return True
    return False


def signal_group(pgid: int | None, sig: int) -> None:
    if not pgid or pgid <= 1 or pgid == os.getpgid(0):  # never our own group, never init
        return
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        log.warning("cannot signal process group %s: %s", pgid, exc)


def stop_groups(live_groups: Callable[[], set[int]], grace: float = GRACE_S,
                reap: Callable[[], None] | None = None) -> bool:
    """SIGTERM the process groups `live_groups()` names, SIGKILL what is left after `grace` seconds (and any group
    that appears after that); True once none is left, False when some survive SIGKILL for 2 s."""
    groups = live_groups()
    if not groups:
        return True
    for group in groups:
        signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    killed_at = None
    while True:
        if reap:
            reap()
        groups = live_groups()
        if not groups:
            return True
        t = time.monotonic()
        if killed_at is None and t >= deadline:
            killed_at = t
        elif killed_at is not None and t - killed_at > 2.0:
            return False
        if killed_at is not None:
            for group in groups:   # the first SIGKILL, and any group started since
                signal_group(group, signal.SIGKILL)
        time.sleep(0.05)


def stop_group(pgid: int | None, grace: float = GRACE_S, reap: Callable[[], None] | None = None) -> bool:
    """SIGTERM the group, SIGKILL it after `grace` seconds; True once no live process is left in it (≤ grace+2 s)."""
    return stop_groups(lambda: {pgid} if group_alive(pgid) else set(), grace, reap)
