"""What a job's runner gets besides its config: a Reporter — who and where the job is (id, owner, attempt,
device, folder, checkpoint folder) and four ways to talk back: `progress(fraction, message)`, `metric(**values)`,
`log(message)`, and `should_stop()` for cancellation. It knows no feature and builds nothing.

It writes only into the job's folder (progress.json through jobs/channel.py, metrics.jsonl, log.txt): the worker never
writes the registry. The worker makes one per job; a test can make one in-process (`Reporter(home, store.get(db,
id))`) to call a runner directly.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

from jobs import store
from jobs.channel import WorkerFiles


class JobCancelled(BaseException):
    """Raised in the runner when the job is cancelled (SIGTERM). A BaseException, like KeyboardInterrupt, so a
    runner's `except Exception` does not swallow it; `finally` blocks still run."""


class Reporter:
    def __init__(self, home: Path | str, row: dict, progress_interval: float = 0.5):
        self.job_id: str = row["id"]
        self.kind: str = row["kind"]
        self.owner: str | None = row.get("owner")
        self.attempt: int = row.get("attempt") or 1
        self.device: str = row.get("device") or "cpu"     # the scheduler's name for it: 'cpu', 'cuda:1'
        self.job_dir: Path = store.job_dir(home, self.job_id)
        self.checkpoints_dir: Path = self.job_dir / store.CHECKPOINTS_DIR
        self.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        self.files = WorkerFiles(self.job_dir, self.attempt)
        self._stop = threading.Event()
        self.stop_reason: str | None = None
        self._interval = progress_interval
        self._last_write = 0.0
        self._last_message: str | None = None

    @property
    def torch_device(self) -> str:
        """The device string for torch inside the worker: the scheduler exposes exactly the job's GPUs
        (CUDA_VISIBLE_DEVICES), so 'cuda:3' on the server is 'cuda' here."""
        return "cuda" if self.device.startswith("cuda") else "cpu"

    def log(self, message: str) -> None:
        """A timestamped line in log.txt (the worker's stdout is the job's log file)."""
        print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {message}", flush=True)
        sys.stdout.flush()

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress (0..1) and the current step. Written at most every `progress_interval` seconds unless
        the step changes or the job is done; each new step is also logged."""
        changed = message is not None and message != self._last_message
        if changed:
            self._last_message = message
            self.log(f"[{float(fraction):4.0%}] {message}")
        t = time.monotonic()
        if changed or fraction >= 1 or t - self._last_write >= self._interval:
            self._last_write = t
            self.files.progress(min(1.0, max(0.0, float(fraction))), message)

    def metric(self, record: dict | None = None, **values: Any) -> dict:
        """Append a record to metrics.jsonl (e.g. step, loss, lr, tokens_per_s); `time` is added."""
        return store.append_metric(self.job_dir, {**(record or {}), **values})

    def should_stop(self) -> bool:
        """True once the job was asked to stop (cancel); a cooperative runner checks it and returns soon."""
        return self._stop.is_set()

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop.set()


class RankReporter(Reporter):
    """A rank other than 0 of a job on several GPUs: it runs the runner like rank 0 but reports nothing (the row,
    heartbeat, metrics and final status are rank 0's). Its log lines carry its rank."""

    def __init__(self, *args, rank: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.rank = rank

    def log(self, message: str) -> None:
        super().log(f"[rank {self.rank}] {message}")

    def progress(self, fraction: float, message: str | None = None) -> None:
        return None

    def metric(self, record: dict | None = None, **values) -> dict:
        return {**(record or {}), **values}
