"""A study is a row of the `studies` table and a state machine over its stages (backend.study.stages): `advance`
submits the next stage's jobs once every job of the stage before has succeeded, passing its artefacts forward;
a failed or cancelled job marks the study failed with the reason; `resume` puts it back on the failed stage,
resuming or cloning only the jobs that did not succeed (finished artefacts and cached evaluations are reused).

`advance_all` is called after every tick of the active scheduler (jobs.scheduler POST_TICK_HOOKS), so a study moves
on whenever the app, `jobs serve`, `jobs wait` or `python -m backend reproduce` runs, with or without a browser.
Only the active scheduler (one per home, an flock) advances studies; every row write is a compare-and-set on `rev`.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from backend.registry import now
from backend.settings import Settings, load_settings
from backend.study.config import StudyConfig, parse_study_config
from backend.study.stages import STAGES, StageContext
from jobs import store
from jobs.store import FINAL, JobError

log = logging.getLogger("frbio.study")
ID_RE = re.compile(r"^study-\d{6,}$")
REPORT = "report"
STAGE_NAMES = [s.name for s in STAGES] + [REPORT]
JSON_FIELDS = ("config", "jobs", "artefacts", "timings")


class StudyError(JobError):
    """A study request that cannot be honoured (unknown id, wrong state); the message is for the user."""


# ------------------------------------------------------------------------------------------------------ rows

def _decode(row: dict | None) -> dict | None:
    if row is None:
        return None
    row = dict(row)
    for f in JSON_FIELDS:
        row[f] = json.loads(row[f]) if isinstance(row.get(f), str) else (row.get(f) or {})
    return row


def get_study(db, study_id: str) -> dict:
    if not ID_RE.match(str(study_id)):
        raise StudyError(f"'{study_id}' is not a study id (expected e.g. study-000001)")
    rows = list(db["studies"].rows_where("id = ?", [study_id], limit=1))
    if not rows:
        raise StudyError(f"unknown study '{study_id}'")
    return _decode(rows[0])


def list_studies(db, limit: int = 50, status: str | None = None) -> list[dict]:
    where, args = ("status = ?", [status]) if status else (None, None)
    return [_decode(r) for r in db["studies"].rows_where(where, args, order_by="created_at DESC, id DESC",
                                                         limit=limit)]


def _write(db, row: dict, **fields) -> bool:
    """Set `fields` if nobody changed the row since it was read (its rev); updates `row` in place on success."""
    values = {k: (json.dumps(v, ensure_ascii=False, default=str) if k in JSON_FIELDS else v) for k, v in fields.items()}
    sql = "UPDATE studies SET " + ", ".join(f"{k} = ?" for k in values) + ", rev = rev + 1 WHERE id = ? AND rev = ?"
    if store.execute(db, sql, list(values.values()) + [row["id"], row["rev"]]).rowcount == 0:
        return False
    row.update(fields, rev=row["rev"] + 1)
    return True


def create_study(db, home: Path | str, config: StudyConfig | dict, owner: str | None = None) -> dict:
    """Write a new study row (status running, first stage pending); the scheduler's next tick submits its first job.
    The config is validated and resolved now, so the study keeps the preset values it started with."""
    cfg = parse_study_config(config).resolve()
    for _ in range(100):
        n = store.execute(db, "SELECT MAX(CAST(substr(id, 7) AS INTEGER)) FROM studies").fetchone()[0] or 0
        study_id = f"study-{n + 1:06d}"
        try:
            store.execute(db, """INSERT INTO studies (id, name, config, status, stage, jobs, artefacts, timings, owner,
                                 created_at, rev) VALUES (?, ?, ?, 'running', ?, '{}', '{}', '{}', ?, ?, 0)""",
                          [study_id, cfg.name or study_id, cfg.model_dump_json(), STAGE_NAMES[0], owner, now()])
            return get_study(db, study_id)
        except Exception as exc:  # a concurrent creator took the id: take the next
            if "UNIQUE" not in str(exc):
                raise
    raise StudyError("could not allocate a study id")


# ----------------------------------------------------------------------------------------------- advancing

def _stage(name: str):
    return next(s for s in STAGES if s.name == name)


def _context(db, home: Path, settings: Settings, row: dict) -> StageContext:
    return StageContext(db, Path(home), settings, row, StudyConfig.model_validate(row["config"]))


def _fail(db, row: dict, status: str, error: str) -> None:
    if _write(db, row, status=status, error=error, finished_at=now()):
        log.warning("study %s %s at stage %s: %s", row["id"], status, row["stage"], error)


def _submit(db, home: Path, settings: Settings, row: dict) -> None:
    """Submit the current stage's jobs (or, for the report, write it) and record them."""
    stage = row["stage"]
    timings = {**row["timings"], stage: {"started_at": now()}}
    if stage == REPORT:
        from backend.study.report import write_report

        try:
            paths = write_report(db, home, settings, row)
        except (JobError, RuntimeError, ValueError, KeyError, OSError) as exc:
            _fail(db, row, "failed", f"report: {type(exc).__name__}: {exc}")
            return
        t = now()
        timings[stage].update(finished_at=t, wall_s=round(t - timings[stage]["started_at"], 3))
        _write(db, row, timings=timings, report_path=str(paths["html"]), status="succeeded", stage="done",
               finished_at=t)
        return
    # claim the stage first (empty job set), so a second advancer cannot submit it too
    if not _write(db, row, jobs={**row["jobs"], stage: {}}, timings=timings):
        return
    try:
        jobs = _stage(stage).submit(_context(db, home, settings, row))
    except (JobError, RuntimeError, ValueError, OSError) as exc:
        _fail(db, row, "failed", f"{stage}: {exc}")
        return
    _write(db, row, jobs={**row["jobs"], stage: jobs})


def _job_rows(db, ids: dict) -> dict:
    out = {}
    for label, job_id in ids.items():
        row = store.find(db, job_id)
        if row is None:
            raise StudyError(f"job {job_id} ({label}) was deleted")
        out[label] = row
    return out


def advance(db, home: Path | str, study_id: str, settings: Settings | None = None) -> dict:
    """One step of the state machine for a running study: submit the current stage if it has no jobs yet; if all
    its jobs succeeded, keep their artefacts and go to the next stage (submitting it at once); if one failed or was
    cancelled, fail the study with the reason. Returns the row."""
    home = Path(home)
    settings = settings or load_settings(home=str(home))
    row = get_study(db, study_id)
    if row["status"] != "running":
        return row
    stage = row["stage"]
    if stage not in row["jobs"] or stage == REPORT:
        _submit(db, home, settings, row)
        return get_study(db, study_id)
    jobs = _job_rows(db, row["jobs"][stage])
    bad = [j for j in jobs.values() if j["status"] in ("failed", "cancelled")]
    if bad:
        j = bad[0]
        _fail(db, row, "failed", f"{stage}: job {j['id']} ({j['kind']}) {j['status']}: {j['exit_reason'] or '?'}")
        return get_study(db, study_id)
    if any(j["status"] not in FINAL for j in jobs.values()):
        return row
    ctx = _context(db, home, settings, row)
    try:
        found = _stage(stage).collect(ctx, jobs)
    except (JobError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        _fail(db, row, "failed", f"{stage}: {exc}")
        return get_study(db, study_id)
    t = now()
    timing = dict(row["timings"].get(stage, {}))
    ends = [j["finished_at"] for j in jobs.values() if j.get("finished_at")]
    finished = max(ends) if ends else t
    timing.update(finished_at=finished, wall_s=round(finished - timing.get("started_at", finished), 3),
                  jobs={label: {"id": j["id"], "run_s": round((j["finished_at"] or t) - (j["started_at"] or t), 3)}
                        for label, j in jobs.items()})
    nxt = STAGE_NAMES[STAGE_NAMES.index(stage) + 1]
    if _write(db, row, artefacts={**row["artefacts"], **found}, timings={**row["timings"], stage: timing}, stage=nxt):
        _submit(db, home, settings, row)
    return get_study(db, study_id)


def advance_all(db, home: Path | str, settings: Settings | None = None) -> list[str]:
    """Advance every running study (the scheduler's post-tick hook). One broken study never stops the others: an
    unexpected error fails that study with the error (logged with its traceback)."""
    ids = [r["id"] for r in db["studies"].rows_where("status = 'running'", select="id")] \
        if db["studies"].exists() else []
    for study_id in ids:
        try:
            advance(db, home, study_id, settings)
        except Exception as exc:  # noqa: BLE001
            log.exception("study %s: advance failed", study_id)
            try:
                row = get_study(db, study_id)
                _fail(db, row, "failed", f"{row['stage']}: internal error: {type(exc).__name__}: {exc}")
            except Exception:  # noqa: BLE001
                pass
    return ids


# ---------------------------------------------------------------------------------------------- resume, cancel

def _authorize(db, row: dict, actor: str | None, action: str) -> None:
    from backend import users

    try:
        users.require_can_manage(db, actor, row.get("owner"), action, f"study {row['id']}")
    except users.PermissionDenied as exc:
        raise StudyError(str(exc)) from None


def resume(db, home: Path | str, study_id: str, by: str | None = None) -> dict:
    """Back to running on the stage that failed: its succeeded (and still running) jobs are kept, a resumable one is
    queued again (training continues from its checkpoint), any other is cloned; earlier stages' artefacts stay."""
    row = get_study(db, study_id)
    _authorize(db, row, by, "resume")
    if row["status"] not in ("failed", "cancelled"):
        raise StudyError(f"study {study_id} is {row['status']}: nothing to resume")
    stage = row["stage"]
    jobs = dict(row["jobs"].get(stage) or {})
    for label, job_id in list(jobs.items()):
        job = store.find(db, job_id)
        if job is None:
            del jobs[label]
        elif job["status"] == "cancelled" or (job["status"] == "failed" and job["resumable"]):
            store.requeue(db, job_id, actor=by)
        elif job["status"] == "failed":
            jobs[label] = store.clone(db, home, job_id, owner=row.get("owner"))
    all_jobs = dict(row["jobs"])
    if jobs:
        all_jobs[stage] = jobs
    else:
        all_jobs.pop(stage, None)   # nothing left of it: submitted afresh at the next tick
    if not _write(db, row, status="running", error=None, finished_at=None, jobs=all_jobs):
        raise StudyError(f"study {study_id} changed while resuming it; try again")
    return row


def cancel(db, home: Path | str, study_id: str, by: str | None = None) -> dict:
    """Cancel the study's unfinished jobs and mark it cancelled (resumable)."""
    from jobs.scheduler import cancel as cancel_job

    row = get_study(db, study_id)
    _authorize(db, row, by, "cancel")
    if row["status"] != "running":
        raise StudyError(f"study {study_id} is already {row['status']}")
    reason = f"cancelled by {by}" if by else "cancelled by the user"
    if not _write(db, row, status="cancelled", error=f"{row['stage']}: {reason}", finished_at=now()):
        raise StudyError(f"study {study_id} changed while cancelling it; try again")
    for job_id in (row["jobs"].get(row["stage"]) or {}).values():
        job = store.find(db, job_id)
        if job is not None and job["status"] not in FINAL:
            try:
                cancel_job(db, Path(home), job_id, by=by)
            except JobError as exc:
                log.warning("study %s: %s", study_id, exc)
    return row


def stage_rows(db, row: dict) -> list[dict]:
    """One line per stage for the UI and the CLI: status, wall time, jobs (id, status, progress, message)."""
    out = []
    current = STAGE_NAMES.index(row["stage"]) if row["stage"] in STAGE_NAMES else len(STAGE_NAMES)
    for i, name in enumerate(STAGE_NAMES):
        timing = row["timings"].get(name, {})
        jobs = []
        for label, job_id in (row["jobs"].get(name) or {}).items():
            job = store.find(db, job_id)
            jobs.append({"label": label, "id": job_id, "status": job["status"] if job else "deleted",
                         "progress": job["progress"] if job else None, "message": job["message"] if job else None})
        if i < current:
            status = "done"
        elif i == current:
            status = {"running": "running" if name in row["jobs"] or name == REPORT else "pending"}.get(
                row["status"], row["status"])
        else:
            status = "pending"
        title = next((s.title for s in STAGES if s.name == name), "Report (HTML and JSON)")
        out.append({"stage": name, "title": title, "status": status, "wall_s": timing.get("wall_s"), "jobs": jobs})
    return out
