"""A study as one piece of work: its own job (kind `study`, which writes the report once every part succeeded) and
its parts (snapshot, DAPT, sweep, merges, evaluations), jobs with dependencies. Nothing about a study is stored
apart from those jobs: `load_study` reads them back as the study's status, current stage, jobs per stage,
artefacts (gathered from the finished parts' results) and stage timings, for the Reproduce tab, the report and
`python -m backend reproduce`."""
from __future__ import annotations

import re
from pathlib import Path

from backend.errors import StudyError, UserError
from backend.study.config import StudyConfig
from backend.study.stages import STAGES, StageContext
from frbio_core.settings import Settings
from jobs import store

KIND = "study"
REPORT = "report"
STAGE_NAMES = [s.name for s in STAGES] + [REPORT]
ID_RE = re.compile(r"^job-\d{6,}$")


def stage_of(label: str | None) -> str:
    return (label or "").split(" ", 1)[0]


def _stage(name: str):
    return next(s for s in STAGES if s.name == name)


def get_job(db, study_id: str) -> dict:
    """The study's own job row; StudyError for anything else."""
    row = store.find(db, study_id) if ID_RE.match(str(study_id)) else None
    if row is None or row["kind"] != KIND:
        raise StudyError(f"unknown study '{study_id}'")
    return row


def _timing(parts: list[dict]) -> dict:
    starts = [p["started_at"] for p in parts if p.get("started_at")]
    ends = [p["finished_at"] for p in parts if p.get("finished_at")]
    out: dict = {}
    if starts:
        out["started_at"] = min(starts)
    if ends and all(p["status"] in store.FINAL for p in parts):
        out["finished_at"] = max(ends)
        if starts:
            out["wall_s"] = round(out["finished_at"] - out["started_at"], 3)
    out["jobs"] = {}
    return out


def load_study(db, settings: Settings, study_id: str) -> dict:
    """The study read back from its jobs (see the module's docstring)."""
    top = get_job(db, study_id)
    parts = store.children(db, top["id"])
    cfg = StudyConfig.model_validate(top["config"])
    jobs: dict[str, dict] = {}
    by_stage: dict[str, list[dict]] = {}
    for part in parts:
        stage = stage_of(part["label"])
        role = _stage(stage).roles(part["label"])
        jobs.setdefault(stage, {})[role] = part["id"]
        by_stage.setdefault(stage, []).append({**part, "role": role})
    timings = {}
    for stage, rows in by_stage.items():
        timings[stage] = _timing(rows)
        timings[stage]["jobs"] = {r["role"]: {"id": r["id"], "run_s": round(r["finished_at"] - r["started_at"], 3)}
                                  for r in rows if r.get("finished_at") and r.get("started_at")}
    if top["status"] == "succeeded" and top.get("started_at") and top.get("finished_at"):
        timings[REPORT] = {"started_at": top["started_at"], "finished_at": top["finished_at"], "jobs": {},
                           "wall_s": round(top["finished_at"] - top["started_at"], 3)}
    row = {"id": top["id"], "name": cfg.name or top["id"], "config": top["config"], "owner": top["owner"],
           "created_at": top["created_at"], "finished_at": top.get("finished_at"), "jobs": jobs,
           "timings": timings, "artefacts": {}, "error": None,
           "report_path": (top.get("result") or {}).get("report") if top["status"] == "succeeded" else None,
           "rev": [(p["id"], p["status"], p["attempt"]) for p in [top, *parts]]}
    failed = next((p for p in parts if p["status"] in ("failed", "cancelled")), None)
    row["stage"] = next((s for s in STAGE_NAMES[:-1] if any(p["status"] != "succeeded"
                                                          for p in by_stage.get(s, []))), REPORT)
    if top["status"] == "succeeded":
        row["stage"], row["status"] = "done", "succeeded"
    elif top["status"] in ("failed", "cancelled") or failed is not None:
        row["status"] = "cancelled" if top["status"] == "cancelled" else "failed"
        if failed is not None:
            row["stage"] = stage_of(failed["label"])
            row["error"] = (f"{row['stage']}: job {failed['id']} ({failed['kind']}) {failed['status']}: "
                            f"{failed['exit_reason'] or '?'}")
        else:
            row["error"] = f"{REPORT}: {top['exit_reason'] or top['status']}"
    else:
        row["status"] = "running"
    row["artefacts"] = artefacts(db, settings, row, by_stage, cfg)
    return row


def artefacts(db, settings: Settings, row: dict, by_stage: dict, cfg: StudyConfig) -> dict:
    """What the finished stages produced, in stage order, until the first stage that has not finished."""
    ctx = StageContext(db, Path(settings.home_path), settings, {**row, "artefacts": {}}, cfg)
    for stage in STAGES:
        rows = {r["role"]: r for r in by_stage.get(stage.name, [])}
        if not rows or any(r["status"] != "succeeded" for r in rows.values()):
            break
        try:
            ctx.study["artefacts"].update(stage.collect(ctx, rows))
        except (UserError, KeyError, TypeError, ValueError):
            break
    return ctx.study["artefacts"]


def status_of(db, top: dict) -> str:
    """running, succeeded, failed or cancelled, without gathering the artefacts."""
    if top["status"] in ("succeeded", "cancelled"):
        return top["status"]
    if top["status"] == "failed" or any(p["status"] in ("failed", "cancelled") for p in store.children(db, top["id"])):
        return "failed"
    return "running"


def summaries(db, limit: int = 50) -> list[dict]:
    """(id, name, status, created_at) of the studies, newest first (cheap: for lists and choices)."""
    out = []
    for top in store.list_jobs(db, kind=KIND, limit=limit):
        name = (top["config"] or {}).get("name") if isinstance(top["config"], dict) else None
        out.append({"id": top["id"], "name": name or top["id"], "status": status_of(db, top),
                    "created_at": top["created_at"], "owner": top["owner"]})
    return out


def list_studies(db, settings: Settings, limit: int = 50) -> list[dict]:
    return [load_study(db, settings, r["id"]) for r in store.list_jobs(db, kind=KIND, limit=limit)]


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
            status = row["status"]
        else:
            status = "pending"
        title = next((s.title for s in STAGES if s.name == name), "Report (HTML and JSON)")
        out.append({"stage": name, "title": title, "status": status, "wall_s": timing.get("wall_s"), "jobs": jobs})
    return out
