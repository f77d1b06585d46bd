"""Workers on this machine: one process on one device (`ProcessLauncher`), or `accelerate launch` with one
process per GPU (`AccelerateLauncher`). Either runs in its own process session with its output on the job's
log.txt and CUDA_VISIBLE_DEVICES listing its GPUs ('' on the CPU); the row records its pid and process group."""
from __future__ import annotations

import signal
import sys
from typing import Callable

from jobs import store
from jobs.kinds import Resources
from jobs.launchers import accelerate, multiprocess as multi
from jobs.launchers.base import Launcher
from jobs.processes import group_alive, signal_group, stop_group, worker_alive


class ProcessLauncher(Launcher):
    name = "process"

    def handles(self, row: dict) -> bool:
        return len(multi.split_devices(row.get("device"))) <= 1

    def command(self, row: dict, devices: list[str], resources: Resources | None) -> list[str]:
        return accelerate.worker_command(row["id"])

    def start(self, row: dict, devices: list[str], resources: Resources) -> bool:
        self.scheduler._spawn(row["id"], ",".join(devices))
        return True

    def stop(self, row: dict, grace: float, reap: Callable[[], None] | None = None) -> str:
        if row["pgid"] and (worker_alive(row["pid"], row["id"]) or group_alive(row["pgid"])):
            return "" if stop_group(row["pgid"], grace, reap) else "; some processes did not exit"
        return ""

    def stale_after(self, row: dict) -> float:
        return self.scheduler.stale_after

    def verdict(self, row: dict) -> str | None:
        s = self.scheduler
        age = store.now() - (row["heartbeat"] or row["started_at"] or 0)
        with s._lock:
            ours = row["id"] in s._children
        if row["pid"] is None:
            if ours or age <= s.stale_after:
                return None
            return "worker died (no heartbeat): it never started"
        if not worker_alive(row["pid"], row["id"]):
            return f"worker died (no heartbeat): process {row['pid']} is gone without a final status"
        if age > self.stale_after(row):
            return f"worker died (no heartbeat): silent for {age:.0f} s; its processes were killed"
        return None

    def kill(self, row: dict) -> None:
        """What is left of a job marked dead: SIGKILL its process group."""
        signal_group(row["pgid"], signal.SIGKILL)


class AccelerateLauncher(ProcessLauncher):
    """One job on N GPUs: `accelerate launch` with `<job_dir>/accelerate.yaml`, N ranks each running the worker."""
    name = "accelerate"

    def handles(self, row: dict) -> bool:
        return len(multi.split_devices(row.get("device"))) > 1

    def command(self, row: dict, devices: list[str], resources: Resources | None) -> list[str]:
        folder = store.job_dir(self.scheduler.home, row["id"])
        path = accelerate.write_accelerate_config(folder, resources or Resources(devices=("cuda",)), len(devices),
                                                  port=accelerate.free_port())
        return accelerate.worker_command(row["id"], path, python=sys.executable)

    def stop(self, row: dict, grace: float, reap: Callable[[], None] | None = None) -> str:
        if not row["pgid"]:
            return ""
        gone = multi.stop_job_processes(row["id"], row["pgid"], grace, reap)
        return "" if gone else "; some processes did not exit"

    def stale_after(self, row: dict) -> float:
        # rank 0 not up yet: the launcher and N ranks are still importing
        grace = multi.LAUNCH_GRACE_S if row["heartbeat"] == row["started_at"] else 0.0
        return self.scheduler.stale_after + grace

    def kill(self, row: dict) -> None:
        super().kill(row)
        multi.kill_job_processes(row["id"], row["pgid"])
