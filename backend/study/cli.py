"""`python -m backend reproduce [--budget smallest|cpu-hour] [--FIELD VALUE …] [--json]` (generated from the study
action, backend.study.job) runs the paper's question end to end (a study: a job whose parts are the snapshot, DAPT,
sweep, merges and evaluation jobs), printing each stage's wall time as it ends and the report's path; here:
`reproduce status ID`, `reproduce resume ID`, `reproduce cancel ID`, `reproduce list`. The same study can be
followed, cancelled and resumed with `python -m backend jobs …` (its id is its job's).

While it waits, it drives a scheduler itself when no app (nor `jobs serve`) runs for the home, like `jobs wait`;
otherwise the app's scheduler runs the study. Interrupted, the study goes on at the next scheduler start.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from backend.study.state import STAGE_NAMES, get_job, load_study, stage_rows, summaries

_PRINTED: dict[str, set] = {}


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


def new_stage_lines(studio, study_id: str) -> list[str]:
    """The wall-time line of each stage that ended since the last call (printed while `reproduce` waits)."""
    row = load_study(studio.db, studio.settings, study_id)
    printed = _PRINTED.setdefault(study_id, set())
    lines = []
    for stage in STAGE_NAMES:
        if stage not in printed and row["timings"].get(stage, {}).get("wall_s") is not None:
            printed.add(stage)
            lines.append(_stage_line(row, stage))
    return lines


def study_output(row: dict) -> tuple[dict, str]:
    """What `reproduce` prints at the end: the summary (JSON) or the report's path, or why it stopped."""
    from backend.study.results import total_wall_s

    out = _summary(row)
    out["total_wall_s"] = total_wall_s(row)
    if row["status"] == "succeeded":
        text = (f"{row['id']} succeeded in {out['total_wall_s']:.0f} s\nreport: {row['report_path']}\n"
                f"numbers: {out['report_json']}")
    else:
        text = (f"{row['id']} {row['status']}: {row['error'] or 'still running'}"
                + (f" — resume with: python -m backend reproduce resume {row['id']}"
                   if row["status"] in ("failed", "cancelled") else ""))
    return out, text


def _wait(studio, args, study_id: str) -> None:
    from jobs.follow import follow

    say = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    on_poll = None if say is None else (lambda: [say(line) for line in new_stage_lines(studio, study_id)])
    follow(studio.settings, [study_id], timeout=getattr(args, "timeout", None), say=say, context=studio, poll=1.0,
           on_poll=on_poll)
    row = load_study(studio.db, studio.settings, study_id)
    payload, text = study_output(row)
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str) if args.json else text)
    if row["status"] != "succeeded":
        raise SystemExit(1)


def cmd_status(studio, args):
    row = load_study(studio.db, studio.settings, args.id)
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
    from jobs.control import resume

    get_job(studio.db, args.id)
    resume(studio.db, studio.home, args.id, by=args.actor)
    _PRINTED[args.id] = set(load_study(studio.db, studio.settings, args.id)["timings"])
    if not args.json:
        print(f"{args.id}: resumed", file=sys.stderr)
    _wait(studio, args, args.id)


def cmd_cancel(studio, args):
    from jobs.control import cancel

    get_job(studio.db, args.id)
    cancel(studio.db, studio.home, args.id, by=args.actor)
    row = load_study(studio.db, studio.settings, args.id)
    print(json.dumps(_summary(row), default=str) if args.json else f"{row['id']}: cancelled")


def cmd_list(studio, args):
    rows = summaries(studio.db, limit=args.limit)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return
    for r in rows:
        print(f"{r['id']}  {r['status']:<10} {time.strftime('%Y-%m-%d %H:%M', time.localtime(r['created_at']))}"
              f"  {r['name']}")
    if not rows:
        print("no studies")


def add_reproduce_subcommands(parser) -> None:
    """`reproduce status|resume|cancel|list` under the `reproduce` command generated from the study action."""
    sub = parser.add_subparsers(dest="cmd")
    s = sub.add_parser("status", help="a study's stages, jobs, wall times and report")
    s.add_argument("id")
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("resume", help="resume a failed or cancelled study from the stage that failed, then wait")
    s.add_argument("id")
    s.add_argument("--timeout", type=float, default=None, help="stop waiting after this many seconds")
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
