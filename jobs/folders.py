"""A job's folder, `<home>/jobs/<id>/`: config.json, log.txt (the worker's output), metrics.jsonl (one JSON record
per line, appended), checkpoints/. Plain files, so a worker on another machine can write them."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

CONFIG_FILE, LOG_FILE, METRICS_FILE, CHECKPOINTS_DIR = "config.json", "log.txt", "metrics.jsonl", "checkpoints"
ID_RE = re.compile(r"^job-\d{6,}$")


def job_dir(home: Path | str, job_id: str) -> Path:
    """The job's folder; the id is checked so a crafted id cannot point outside `<home>/jobs`."""
    if not ID_RE.match(str(job_id)):
        raise _error(f"'{job_id}' is not a job id (expected e.g. job-000042)")
    return Path(home) / "jobs" / job_id


def append_metric(folder: Path, record: dict) -> dict:
    """Append one JSON line to metrics.jsonl (a `time` field is added when missing); one write call per line."""
    record = {"time": round(time.time(), 3), **record}
    line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    with open(Path(folder) / METRICS_FILE, "a", encoding="utf-8") as f:
        f.write(line)
    return record


def read_metrics(folder: Path, since: int = 0) -> list[dict]:
    """Metric records from line `since` on; a torn last line (a worker killed mid-write) is skipped."""
    path = Path(folder) / METRICS_FILE
    if not path.is_file():
        return []
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f):
            if i < since or not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def log_tail(folder: Path, lines: int = 50, max_bytes: int = 256_000) -> str:
    """The last `lines` lines of the job's log.txt (reads at most `max_bytes` from its end)."""
    path = Path(folder) / LOG_FILE
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - max_bytes))
        data = f.read()
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:]) if lines else text


def append_log(folder: Path, message: str) -> None:
    """A line in the job's log.txt, written from outside the worker (the scheduler notes why it stopped a job)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with open(Path(folder) / LOG_FILE, "a", encoding="utf-8") as f:
        f.write(f"[{stamp}] {message}\n")



def _error(message: str) -> Exception:
    from jobs.store import JobError

    return JobError(message)
