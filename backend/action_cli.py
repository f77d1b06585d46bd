"""The command line of every declared action (backend.actions), generated from its declaration the way litgpt
generates its CLI from config dataclasses: one `--flag` per config field (nested models and mappings as JSON), the
config file flag (`--config FILE`; the flags override its fields), `--device`, `--owner`/`--as`, `--wait` (or
`--no-wait`, for the actions that wait by default: they report a result), `--timeout`, `--json`, `--preset NAME` (a
saved preset: backend.presets), and the action's own options.

Without waiting it prints the job id (`{"id", "status": "queued"}` with --json); waiting, it follows the jobs
(driving a scheduler here when no app runs for the home), then prints the action's summary (with --json: the
action's result for the actions that wait by default, the job's row for `--wait`), or exits 1 with each failed
job's reason (124 on timeout). A refused request exits 2 with one line, having written nothing.
"""
from __future__ import annotations

import argparse
import json
import sys

from backend.actions import ACTIONS, Action, get_action
from frbio_core.config import add_grouped_arguments, values_from_args


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_action_command(subparsers, action: Action, parser: argparse.ArgumentParser | None = None):
    """The parser of `action` (added to `subparsers` under the last word of its command, unless given)."""
    p = parser or subparsers.add_parser(action.command[-1], help=action.help or action.title,
                                        description=action.help or action.title)
    p.add_argument(action.file_flag, dest="config_file", metavar="FILE",
                   help=f"{action.name} config (YAML or JSON); the flags below override its fields")
    p.add_argument("--preset", metavar="NAME", help="start from a saved preset (yours with --as, USER/NAME, or the "
                   "only one of that name; `presets list`); the config file and the flags override its fields")
    p.add_argument("--device", default="any", help="'any' (default), 'cpu' or 'cuda:N'")
    p.add_argument("--owner", "--as", dest="owner", metavar="USER", help="who submits it")
    asks = p.add_argument_group("cluster asks (Slurm), over the kind's defaults and capped at what the partition offers")
    asks.add_argument("--job-cpus", metavar="N", help="CPU cores per job (sbatch --cpus-per-task)")
    asks.add_argument("--job-mem", metavar="SIZE", help="memory per job, e.g. 32G (sbatch --mem)")
    asks.add_argument("--job-time", metavar="LIMIT", help="wall-clock limit per job, e.g. 2:00:00 (sbatch --time)")
    if action.waits:
        p.add_argument("--no-wait", dest="wait", action="store_false", default=True,
                       help="submit and print the job id; do not wait for the result")
    else:
        p.add_argument("--wait", action="store_true", help="wait for the job to end (drives a scheduler if none "
                                                           "runs), then print its result")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait before giving up (the jobs go on)")
    p.add_argument("--json", action="store_true", help="print JSON")
    for option in action.options:
        if option.kind == "flag":
            p.add_argument(option.flag, dest=_dest(option.flag), action="store_true", help=option.help)
        elif option.kind == "list":
            p.add_argument(option.flag, dest=_dest(option.flag), nargs="+", help=option.help)
        else:
            p.add_argument(option.flag, dest=_dest(option.flag), metavar="VALUE", help=option.help)
    add_grouped_arguments(p, action.config, f"{action.name} config fields")
    p.set_defaults(func=run_action_command, action_name=action.name)
    return p


def config_data(studio, action: Action, args) -> dict:
    """The preset's fields (if any), the config file's on top, then the flags."""
    given = action.fields(studio, getattr(args, "config_file", None), values_from_args(args, action.config))
    if not getattr(args, "preset", None):
        return given
    from backend.presets import config_of

    data = config_of(studio.db, action, args.preset, args.owner)
    for name, value in given.items():
        data[name] = {**data[name], **value} if isinstance(value, dict) and isinstance(data.get(name), dict) else value
    return data


def _print(args, payload, text: str) -> None:
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str) if args.json else text)


def run_action_command(studio, args) -> None:
    from jobs.cli import no_scheduler_hint
    from jobs.follow import follow
    from jobs.lock import refuse_other_mode

    action = get_action(args.action_name)
    options = {_dest(o.flag): getattr(args, _dest(o.flag), None) for o in action.options}
    cfg = action.parse(config_data(studio, action, args))
    if action.preview is not None:
        answered = action.preview(studio, cfg, options)
        if answered is not None:
            return _print(args, *answered)
    refuse_other_mode(studio.settings)   # a --slurm command on a home whose app runs jobs locally, or the reverse
    ids = action.launch(studio, cfg, owner=args.owner, device=args.device, options=options,
                        resources={"cpus": args.job_cpus, "mem": args.job_mem, "time": args.job_time})
    if not args.wait:
        if args.json:
            print(json.dumps({"id": ids[0], "status": "queued"} if len(ids) == 1 else
                             [{"id": j, "status": "queued"} for j in ids]))
        else:
            print("\n".join(ids))
            hint = no_scheduler_hint(studio, ids[-1]) if ids else ""
            if hint:
                print(hint.strip(" —"), file=sys.stderr)
        return
    say = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    on_poll = None
    if action.progress is not None and say is not None:
        on_poll = lambda: [say(line) for line in action.progress(studio, ids)]  # noqa: E731
    rows, timed_out = follow(studio.settings, ids, timeout=args.timeout, say=say, context=studio, on_poll=on_poll)
    if timed_out:
        waiting = [r["id"] for r in rows if r["status"] not in ("succeeded", "failed", "cancelled")]
        _print(args, {"ids": ids, "timed_out": True, "running": waiting},
               f"still running after {args.timeout:g} s: {', '.join(waiting)} (the jobs go on)")
        raise SystemExit(124)
    failed = [r for r in rows if r["status"] != "succeeded"]
    if failed and action.reports_failures:
        _print(args, *action.describe(studio, cfg, rows, options))
        raise SystemExit(1)
    if failed:
        reason = "; ".join(f"{r['id']} {r['status']}: {r['exit_reason']}" for r in failed)
        if args.json:
            print(json.dumps({"error": reason, "jobs": [r["id"] for r in rows]}, ensure_ascii=False))
        print(f"error: {reason}", file=sys.stderr)
        raise SystemExit(1)
    payload, text = action.describe(studio, cfg, rows, options)
    if not action.waits:   # `--wait` is `jobs wait` after the submission: the job's row (its result inside)
        payload = rows[0] if len(rows) == 1 else rows
    _print(args, payload, text)


def add_action_commands(top, groups: dict) -> dict[str, argparse.ArgumentParser]:
    """Every declared action under `python -m backend`: a one-word command on `top`, a two-word one in the group
    named by its first word (`groups`: first word → subparsers; a one-word action's parser becomes the group of
    the two-word ones that start with it, e.g. `merge` and `merge sweep`). Returns the parsers by command."""
    parsers = {}
    for action in ACTIONS.values():
        if len(action.command) == 1:
            parsers[action.command[0]] = add_action_command(top, action)
    for action in ACTIONS.values():
        if len(action.command) == 2:
            word = action.command[0]
            if word not in groups:
                groups[word] = (parsers[word].add_subparsers(dest="cmd", required=False) if word in parsers else
                                top.add_parser(word).add_subparsers(dest="cmd", required=True))
            parsers[" ".join(action.command)] = add_action_command(groups[word], action)
    return parsers


def command_line(action: Action, cfg, device: str = "any", owner: str | None = None) -> str:
    """The shell command that submits `cfg` (the UI's "Show command"): only the fields that differ from their
    defaults, as the flags generated above."""
    import shlex

    from frbio_core.config import to_cli_args

    args = ["python", "-m", "backend", *action.command, *to_cli_args(action.parse(cfg))]
    if device and device != "any":
        args += ["--device", device]
    if owner:
        args += ["--owner", owner]
    return shlex.join(args)
