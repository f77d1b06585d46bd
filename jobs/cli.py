"""`python -m backend jobs list|show|cancel|resume|delete|wait|serve|devices`: the runtime's own commands, the
same for every kind of job (a study included: cancelling or resuming it acts on its parts).

Jobs run under the app's scheduler. When no app (nor `jobs serve`) is running for the home, queued jobs wait;
`jobs wait ID` (and every command's `--wait`) then drives a scheduler itself while it waits (it says so on stderr),
and `jobs serve` runs one in the foreground (a headless server). A job started that way keeps running if the
command is interrupted; the next scheduler finds its result.

`cancel`, `resume` and `delete` act as the server's operator (anyone with a shell here can edit the registry
anyway), or with `--as USER` as that account: then only its own jobs, or any job for an admin. The commands get
`studio`: any object with `db`, `home`, `settings` and `scheduler` (the feature layer's Studio).
"""
from __future__ import annotations

import json
import sys
import time

from jobs import store
from jobs.store import JobError

SUMMARY_FIELDS = ("id", "kind", "owner", "status", "requested_device", "device", "progress", "message",
                  "exit_reason", "resumable", "attempt", "created_at", "started_at", "finished_at", "pid", "external_id",
                  "parent", "label", "depends_on")


def _emit(args, payload, text: str) -> None:
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str) if args.json else text)


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _line(row: dict) -> str:
    note = row["exit_reason"] if row["status"] in ("failed", "cancelled") else row["message"]
    resumable = " (resumable)" if row["status"] == "failed" and row["resumable"] else ""
    part = f"  [{row['parent']} · {row['label']}]" if row.get("parent") else ""
    return (f"{row['id']}  {row['kind']:<14} {row['status'] + resumable:<21} {row['device'] or row['requested_device']:<7}"
            f" {row['progress']:4.0%}  {row['owner'] or '-':<10} {_when(row['created_at'])}  {note or ''}{part}")


def _show_text(row: dict, home) -> str:
    lines = [f"{k:<17} {_when(row[k]) if k.endswith('_at') else row[k]}" for k in SUMMARY_FIELDS]
    lines.append(f"{'folder':<17} {store.job_dir(home, row['id'])}")
    lines.append("config: " + json.dumps(row["config"], ensure_ascii=False))
    if row["result"] is not None:
        lines.append("result: " + json.dumps(row["result"], indent=1, ensure_ascii=False))
    return "\n".join(lines)


def cmd_list(studio, args):
    rows = store.list_jobs(studio.db, status=args.status, kind=args.kind, owner=args.owner, limit=args.limit)
    if args.json:
        rows = [{k: r[k] for k in SUMMARY_FIELDS} for r in rows]
    _emit(args, rows, "\n".join(_line(r) for r in rows) or "no jobs")


def cmd_show(studio, args):
    row = store.get(studio.db, args.id)
    folder = store.job_dir(studio.home, args.id)
    payload = {**row, "folder": str(folder), "log_tail": store.log_tail(folder, args.log),
               "metrics": store.read_metrics(folder)[-args.metrics:] if args.metrics else []}
    parts = store.children(studio.db, args.id)
    payload["parts"] = [{k: r[k] for k in SUMMARY_FIELDS} for r in parts]
    text = _show_text(row, studio.home)
    if parts:
        text += "\nparts:\n" + "\n".join("  " + _line(r) for r in parts)
    if args.metrics:
        text += "\nmetrics (last %d):\n" % args.metrics + "\n".join(json.dumps(m) for m in payload["metrics"])
    if args.log:
        text += f"\nlog (last {args.log} lines):\n{payload['log_tail']}"
    _emit(args, payload, text)


def cmd_cancel(studio, args):
    from jobs.control import cancel

    row = cancel(studio.db, studio.home, args.id, by=args.actor, grace=args.grace)
    _emit(args, row, f"{row['id']}: {row['status']} ({row['exit_reason']})")


def cmd_resume(studio, args):
    from jobs.control import resume

    row = resume(studio.db, studio.home, args.id, by=args.actor)
    if args.wait:
        return wait_and_report(studio, args, row["id"])
    _emit(args, row, f"{row['id']}: queued (attempt {row['attempt']}){no_scheduler_hint(studio, row['id'])}")


def cmd_delete(studio, args):
    from jobs.control import delete

    row = delete(studio.db, studio.home, args.id, by=args.actor)
    _emit(args, {"id": row["id"], "deleted": True}, f"{row['id']}: deleted (row and folder)")


def no_scheduler_hint(studio, job_id: str) -> str:
    from jobs.lock import scheduler_running

    return "" if scheduler_running(studio.home) else \
        f" — no scheduler is running for this home: start the app, `jobs serve`, or `jobs wait {job_id}`"


def cmd_devices(studio, args):
    rows = studio.scheduler.usage()

    def size(b):
        return f"{b / 2 ** 30:.1f}" if b is not None else "?"
    _emit(args, rows, "\n".join(
        f"{r['device']:<8} {r['name']:<32} memory {size(r['memory_used'])}/{size(r['memory_total'])} GiB  "
        f"{'?' if r['utilization'] is None else format(r['utilization'], '.0f')} % busy  "
        f"jobs {r['jobs']}/{r['slots']}" for r in rows))


def wait_and_report(studio, args, job_id: str) -> None:
    """Wait for a final status (driving a scheduler here when no app holds this home's scheduler lock) and print
    it; exit status 124 on timeout, 1 unless it succeeded."""
    from jobs.follow import follow

    store.get(studio.db, job_id)
    say = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    (row,), timed_out = follow(studio.settings, [job_id], timeout=getattr(args, "timeout", None), say=say,
                               context=studio)
    if timed_out:
        _emit(args, {**row, "timed_out": True}, f"{job_id}: still {row['status']} after {args.timeout:g} s")
        raise SystemExit(124)
    _emit(args, row, _line(row) + ("\n" + json.dumps(row["result"], indent=1, ensure_ascii=False)
                                   if row["result"] is not None else ""))
    if row["status"] != "succeeded":
        raise SystemExit(1)


def cmd_wait(studio, args):
    wait_and_report(studio, args, args.id)


def cmd_serve(studio, args):
    """A scheduler in the foreground, for a server without the UI (or a test's stand-in for the app)."""
    scheduler = studio.scheduler
    if not scheduler.try_activate():
        raise JobError(f"a scheduler is already running for {studio.home}")
    scheduler.start()
    print(f"scheduler running for {studio.home} on {', '.join(f'{d} ({n} slot)' for d, n in scheduler.slots.items())}"
          "; Ctrl-C stops it (jobs keep running)", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        scheduler.stop()


def add_jobs_commands(subparsers) -> None:
    """Add the `jobs` command group to the top-level subparsers of `python -m backend`."""
    group = subparsers.add_parser("jobs", help="background jobs: list, show, cancel, resume, wait, serve")
    jobs = group.add_subparsers(dest="cmd", required=True)
    p = jobs.add_parser("list", help="jobs, newest first")
    p.add_argument("--status", choices=store.STATUSES)
    p.add_argument("--kind")
    p.add_argument("--owner")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_list)
    p = jobs.add_parser("show", help="one job: row, config, result, metrics and log tail")
    p.add_argument("id")
    p.add_argument("--log", type=int, default=20, metavar="LINES", help="log lines to show (default 20)")
    p.add_argument("--metrics", type=int, default=5, metavar="N", help="last metric records to show (default 5)")
    p.set_defaults(func=cmd_show)
    p = jobs.add_parser("cancel", help="cancel a queued or running job (SIGTERM, SIGKILL after the grace period)")
    p.add_argument("id")
    p.add_argument("--grace", type=float, default=3.0, help="seconds between SIGTERM and SIGKILL (default 3)")
    p.set_defaults(func=cmd_cancel)
    p = jobs.add_parser("resume", help="queue a cancelled or failed-resumable job again, keeping its folder")
    p.add_argument("id")
    p.add_argument("--wait", action="store_true", help="then wait for it (see `wait`)")
    p.add_argument("--timeout", type=float, default=None)
    p.set_defaults(func=cmd_resume)
    p = jobs.add_parser("delete", help="delete a finished job: its row and folder (models it made stay)")
    p.add_argument("id")
    p.set_defaults(func=cmd_delete)
    for name in ("cancel", "resume", "delete"):
        jobs.choices[name].add_argument("--as", "--owner", dest="actor", metavar="USER",
                                        help="act as this account (only its own jobs unless it is an admin); "
                                             "default: the server's operator")
    p = jobs.add_parser("wait", help="wait for a final status (exit 0 succeeded, 1 failed/cancelled, 124 timeout); "
                                     "drives a scheduler here when no app is running")
    p.add_argument("id")
    p.add_argument("--timeout", type=float, default=None, help="seconds (default: no limit)")
    p.set_defaults(func=cmd_wait)
    p = jobs.add_parser("devices", help="devices, their slots, running jobs, memory and load (nvidia-smi, /proc)")
    p.set_defaults(func=cmd_devices)
    p = jobs.add_parser("serve", help="run the scheduler in the foreground (no UI)")
    p.set_defaults(func=cmd_serve)
    for choice in jobs.choices.values():
        choice.add_argument("--json", action="store_true", help="print JSON")
