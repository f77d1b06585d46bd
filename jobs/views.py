"""What a job looks like to a person: a table row with ETA, and metric series for curves. No gradio here."""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from jobs import store

JOB_HEADERS = ["job", "kind", "part of", "owner", "status", "device", "progress", "ETA", "started", "message"]


def curves_of(kind: str | None) -> tuple[tuple[str, str], ...]:
    """The (metric, label) curves a job kind declares (jobs.kinds.register(curves=...)); none for an unknown kind."""
    from jobs.kinds import KINDS

    spec = KINDS.get(kind or "")
    return spec.curves if spec is not None else ()


def eta_seconds(job: dict, now: float | None = None) -> float | None:
    """Remaining time from progress so far (linear); None before any progress."""
    if job["status"] != "running" or not job.get("started_at") or not job.get("progress"):
        return None
    elapsed = (now or time.time()) - job["started_at"]
    fraction = min(max(job["progress"], 1e-6), 1.0)
    return max(0.0, elapsed * (1 - fraction) / fraction)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}" if h else (f"{m}m{s:02d}" if m else f"{s}s")


def status_label(job: dict) -> str:
    if job["status"] == "failed" and job.get("resumable"):
        return "failed (resumable)"
    return job["status"]


def job_table(db, kind: str | None = None, owner: str | None = None, limit: int = 50) -> list[list]:
    rows = store.list_jobs(db, kind=kind, owner=owner, limit=limit)
    out = []
    for job in rows:
        note = job["exit_reason"] if job["status"] in ("failed", "cancelled") else job["message"]
        started = time.strftime("%d/%m %H:%M", time.localtime(job["started_at"])) if job.get("started_at") else "—"
        part = f"{job['parent']} · {job['label'] or ''}" if job.get("parent") else ""
        out.append([job["id"], job["kind"], part, job.get("owner") or "—", status_label(job),
                    job.get("device") or job.get("requested_device"), f"{(job.get('progress') or 0):.0%}",
                    format_duration(eta_seconds(job)), started, note or ""])
    return out


def metrics_signature(home: Path, job_id: str) -> list | None:
    """[job id, size, mtime] of the job's metrics file: the curves change only when it does (None: no file)."""
    try:
        st = (store.job_dir(home, job_id) / store.METRICS_FILE).stat()
    except OSError:
        return None
    return [job_id, st.st_size, st.st_mtime_ns]


def metric_series(home: Path, job_id: str, curves: tuple = ()) -> dict[str, tuple[list, list]]:
    """{metric: (steps, values)} for the `curves` (metric, label) this job has recorded (x = 'step' when
    present)."""
    series: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for i, record in enumerate(store.read_metrics(store.job_dir(home, job_id))):
        x = record.get("step", i)
        for key, _ in curves:
            if isinstance(record.get(key), (int, float)):
                series[key][0].append(x)
                series[key][1].append(record[key])
    return dict(series)
