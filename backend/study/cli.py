"""`python -m backend reproduce [--budget smallest|cpu-hour] [--FIELD VALUE …] [--json]`: run the paper's question
end to end (a study), printing each stage's wall time as it ends and the report's path; `reproduce status ID`,
`reproduce resume ID`, `reproduce cancel ID`, `reproduce list`.

While it waits, it drives a scheduler itself when no app (nor `jobs serve`) runs for the home, like `jobs wait`;
otherwise the app's scheduler advances the study. Interrupted, the study goes on at the next scheduler start.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from backend.study.config import StudyConfig
from backend.study.pipeline import STAGE_NAMES, cancel, create_study, get_study, list_studies, resume, stage_rows


def _say(args, text: str) -> None:
    if not args.json:
        print(text, file=sys.stderr, flush=True)


def _summary(row: dict) -> dict:
    return {"study": row["id"], "name": row["name"], "status": row["status"], "stage": row["stage"],
            "error": row["error"], "report": row["report_path"],
            "report_json": row["report_path"][:-len("html")] + "json" if row["report_path"] else None,
            "stages": {s: {"wall_s": t.get("wall_s"), "jobs": row["jobs"].get(s)} for s, t in row["timings"].items()},
            "artefacts": {k: v for k, v in row["artefacts"].items() if k not in ("sweep",)}}


def _stage_line(row: dict, stage: str) -> str:
    t = row["timings"][stage]
    jobs = ", ".join(f"{label} {job}" for label, job in (row["jobs"].get(stage) or {}).items())
    return f"  {stage:<9} {t['wall_s']:8.1f} s" + (f"   ({jobs})" if jobs else "")


def follow(studio, args, study_id: str) -> dict:
    """Wait until the study ends, driving a scheduler here if none runs; prints stage wall times as they end."""
    from jobs import store
    from jobs.scheduler import Scheduler

    scheduler = Scheduler(studio.settings)
    driving = scheduler.try_activate()
    if driving:
        _say(args, f"no scheduler is running for {studio.home}: running one here until {study_id} ends")
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    printed, last = set(), {}
    try:
        while True:
            if driving:
                scheduler.tick()      # launches jobs; its post-tick hook advances the study
            row = get_study(studio.db, study_id)
            for stage in STAGE_NAMES:
                if stage not in printed and row["timings"].get(stage, {}).get("wall_s") is not None:
                    printed.add(stage)
                    _say(args, _stage_line(row, stage))
            for job_id in (row["jobs"].get(row["stage"]) or {}).values():
                job = store.find(studio.db, job_id)
                if job and job["status"] == "running" and job["message"] != last.get(job_id):
                    last[job_id] = job["message"]
                    _say(args, f"    {job_id} [{job['progress']:4.0%}] {job['message']}")
            if row["status"] != "running":
                return row
            if deadline is not None and time.monotonic() > deadline:
                _say(args, f"{study_id} still running after {args.timeout:g} s; it goes on whenever a scheduler runs")
                return row
            time.sleep(1.0)
    finally:
        scheduler.deactivate()


def _finish(args, row: dict) -> None:
    from backend.study.results import total_wall_s

    out = _summary(row)
    out["total_wall_s"] = total_wall_s(row)
    if args.json:
        print(json.dumps(out, indent=1, ensure_ascii=False, default=str))
    elif row["status"] == "succeeded":
        print(f"{row['id']} succeeded in {out['total_wall_s']:.0f} s\nreport: {row['report_path']}\n"
              f"numbers: {out['report_json']}")
    else:
        print(f"{row['id']} {row['status']}: {row['error'] or 'still running'}"
              + (f" — resume with: python -m backend reproduce resume {row['id']}"
                 if row["status"] in ("failed", "cancelled") else ""))
    if row["status"] != "succeeded":
        raise SystemExit(1)


def cmd_run(studio, args):
    from backend.config import values_from_args
    from backend.default_model import DEFAULT_MODEL_NAME
    from backend.study.config import parse_study_config

    cfg = parse_study_config(values_from_args(args, StudyConfig)).resolve()
    if cfg.base_model == DEFAULT_MODEL_NAME:
        from backend.models.importing import register_default

        register_default(studio.db, studio.home, log=lambda m: _say(args, m))   # converted once on a fresh clone
    studio.scan_sources()
    row = create_study(studio.db, studio.home, cfg, owner=args.owner)
    _say(args, f"{row['id']}: {cfg.budget_text()}\nstage wall times:")
    _finish(args, follow(studio, args, row["id"]))


def cmd_status(studio, args):
    row = get_study(studio.db, args.id)
    stages = stage_rows(studio.db, row)
    if args.json:
        print(json.dumps({**_summary(row), "stage_rows": stages}, indent=1, ensure_ascii=False, default=str))
        return
    print(f"{row['id']}  {row['name']}  {row['status']}" + (f": {row['error']}" if row["error"] else ""))
    for s in stages:
        jobs = ", ".join(f"{j['label']} {j['id']} {j['status']}" for j in s["jobs"])
        wall = f"{s['wall_s']:8.1f} s" if s["wall_s"] is not None else " " * 10
        print(f"  {s['stage']:<9} {s['status']:<9} {wall}  {jobs}")
    if row["report_path"]:
        print(f"report: {row['report_path']}")


def cmd_resume(studio, args):
    row = resume(studio.db, studio.home, args.id, by=args.actor)
    _say(args, f"{row['id']}: resumed at stage {row['stage']}")
    _finish(args, follow(studio, args, row["id"]))


def cmd_cancel(studio, args):
    row = cancel(studio.db, studio.home, args.id, by=args.actor)
    print(json.dumps(_summary(row), default=str) if args.json else f"{row['id']}: cancelled")


def cmd_list(studio, args):
    rows = list_studies(studio.db, limit=args.limit)
    if args.json:
        print(json.dumps([_summary(r) for r in rows], indent=1, default=str))
        return
    for r in rows:
        print(f"{r['id']}  {r['status']:<10} {r['stage']:<9} {time.strftime('%Y-%m-%d %H:%M', time.localtime(r['created_at']))}"
              f"  {r['name']}" + (f"  {r['error']}" if r["error"] else ""))
    if not rows:
        print("no studies")


def add_reproduce_command(subparsers) -> None:
    from backend.config import add_arguments

    p = subparsers.add_parser("reproduce", help="the paper's question end to end: snapshot → DAPT → SLERP sweep → "
                              "merges → benchmarks → report (a study)")
    add_arguments(p.add_argument_group("study fields (empty: the budget preset's)"), StudyConfig)
    p.add_argument("--owner", help="owner of the study and its jobs (default: none, the server's operator)")
    p.add_argument("--timeout", type=float, default=None, help="stop waiting after this many seconds (the study "
                   "goes on whenever a scheduler runs)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_run)
    sub = p.add_subparsers(dest="cmd")
    s = sub.add_parser("status", help="a study's stages, jobs, wall times and report")
    s.add_argument("id")
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("resume", help="resume a failed or cancelled study from the stage that failed, then wait")
    s.add_argument("id")
    s.set_defaults(func=cmd_resume)
    s = sub.add_parser("cancel", help="cancel a running study (its running jobs are cancelled)")
    s.add_argument("id")
    s.set_defaults(func=cmd_cancel)
    for name in ("resume", "cancel"):
        sub.choices[name].add_argument("--as", dest="actor", metavar="USER", help="act as this account")
    s = sub.add_parser("list", help="studies, newest first")
    s.add_argument("--limit", type=int, default=20)
    s.set_defaults(func=cmd_list)
    for s in sub.choices.values():
        s.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
