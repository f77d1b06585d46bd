"""Who holds a home's active-scheduler lock (`<home>/jobs/.scheduler.lock`, an flock the kernel releases when its
process dies): the scheduler writes its pid, how it runs jobs (local or Slurm) and its command line there, so a
command asking for the other way is refused by name instead of its job quietly running elsewhere."""
from __future__ import annotations

import fcntl
import json
from pathlib import Path

from jobs import store

LOCK_FILE = ".scheduler.lock"


def mode(settings) -> str:
    """How a scheduler started with these settings runs jobs: 'slurm' (sbatch) or 'local'."""
    return "slurm" if getattr(settings, "slurm", False) else "local"


def running_scheduler(home: Path) -> dict | None:
    """The process holding this home's active-scheduler lock ({pid, mode, command}; only the pid for a lock written
    by an older version), or None when no scheduler runs."""
    if not scheduler_running(home):
        return None
    try:
        text = (Path(home) / "jobs" / LOCK_FILE).read_text("utf-8").strip()
        return json.loads(text) if text.startswith("{") else {"pid": int(text or 0)}
    except (OSError, ValueError):
        return {}


def refuse_other_mode(settings) -> None:
    """JobError when this home's running scheduler runs jobs the other way (local or Slurm) than `settings` ask:
    a job submitted here would quietly run there."""
    holder = running_scheduler(settings.home_path)
    wanted = mode(settings)
    if not holder or holder.get("mode") in (None, wanted):
        return
    where = {"slurm": "through Slurm (sbatch)", "local": "on this machine"}
    flag = "without --slurm" if wanted == "slurm" else "with --slurm"
    raise store.JobError(f"this home's scheduler (process {holder.get('pid')}: {holder.get('command') or '?'}) runs "
                         f"jobs {where[holder['mode']]}, and this command asks for {wanted} execution: its job would "
                         f"run {where[holder['mode']]}. Run the command {flag}, or stop that process first.")


def scheduler_running(home: Path) -> bool:
    """Whether some process holds this home's active-scheduler lock (an app or `jobs serve` is up)."""
    path = Path(home) / "jobs" / LOCK_FILE
    if not path.exists():
        return False
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False
