"""A study as jobs: `start_study` submits its parts (backend.study.stages) and then its own job, kind `study`,
which waits for every part and writes the report. Cancel, resume, ownership, audit and the Jobs tab are the job
runtime's, as for any job (cancelling or resuming the study's job acts on its parts)."""
from __future__ import annotations

import shutil

from backend.actions import Action, declare
from backend.errors import StudyError
from backend.study.config import StudyConfig, parse_study_config
from backend.study.stages import STAGES, Planner
from backend.study.state import KIND, load_study
from jobs import store
from jobs.kinds import register


@register(KIND, config=StudyConfig, devices=("cpu",), title="Study (the paper's question)",
          cluster={"cpus": 1, "mem": "4G", "time": "1:00:00"})
def run_study(studio, cfg: StudyConfig, job) -> dict:
    """Every part has succeeded (the runtime started this job only then): write the report."""
    from backend.study.report import write_report

    job.progress(0.1, "writing the report")
    row = load_study(studio.db, studio.settings, job.job_id)
    paths = write_report(studio.db, studio.home, studio.settings, row)
    job.log(f"report written: {paths['html']}")
    return {"report": str(paths["html"]), "report_fr": str(paths["html_fr"]), "report_json": str(paths["json"]),
            "artefacts": row["artefacts"]}


def start_study(studio, config: StudyConfig | dict, owner: str | None = None) -> str:
    """Submit a study: its parts, each waiting for the parts it takes artefacts from, then its own job waiting for
    all of them. Returns the study's id (its job's). The config is validated and resolved now, so the study keeps
    the preset values it started with; nothing is left behind when a part is refused."""
    cfg = parse_study_config(config).resolve()
    studio.db  # noqa: B018 — the registry is open before the id is reserved
    top = store.reserve(studio.db, studio.home)
    planner = Planner(studio, cfg, owner, top)
    try:
        for stage in STAGES:
            stage.plan(planner)
        store.submit(studio.db, studio.home, KIND, cfg, owner=owner, context=studio,
                     depends_on=list(planner.parts.values()), job_id=top)
    except BaseException:
        from jobs import control

        for job_id in reversed(list(planner.parts.values())):
            try:
                control.cancel(studio.db, studio.home, job_id)
            except store.JobError:
                pass
            try:
                store.delete(studio.db, studio.home, job_id)
            except store.JobError:
                pass
        shutil.rmtree(store.job_dir(studio.home, top), ignore_errors=True)
        raise
    if hasattr(studio, "scheduler"):
        studio.scheduler.wake()
    return top


def _submit(studio, cfg: StudyConfig, owner, device, options) -> list[str]:
    from backend.default_model import DEFAULT_MODEL_NAME

    cfg = cfg.resolve()
    if cfg.base_model == DEFAULT_MODEL_NAME:
        from backend.models.importing import register_default

        register_default(studio.db, studio.home)   # converted once on a fresh clone
    studio.scan_sources()
    return [start_study(studio, cfg, owner=owner)]


def summary(studio, cfg: StudyConfig, rows, options) -> tuple[dict, str]:
    from backend.study.cli import study_output

    return study_output(load_study(studio.db, studio.settings, rows[0]["id"]))


def progress(studio, ids: list[str]) -> list[str]:
    from backend.study.cli import new_stage_lines

    return new_stage_lines(studio, ids[0])


STUDY = declare(Action("study", ("reproduce",), StudyConfig, kind=KIND, title="Study (the paper's question)",
                       title_fr="Étude (la question de l'article)", error=StudyError, what="study config", waits=True,
                       reports_failures=True, submit=_submit, summary=summary, progress=progress,
                       help="the paper's question end to end: snapshot → DAPT → SLERP sweep → merges → benchmarks → "
                            "report (a study: a job whose parts are jobs)"))
