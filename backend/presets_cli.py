"""`python -m backend presets list|show|save|delete`: saved presets from the command line (backend.presets). Every
declared action also takes `--preset NAME` (backend.action_cli): its fields first, then the config file, then the
flags."""
from __future__ import annotations

import json

from backend.actions import ACTIONS, get_action


def _print(args, payload, text: str) -> None:
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str) if args.json else text)


def cmd_list(studio, args) -> None:
    from backend.presets import list_presets

    found = list_presets(studio.db, args.owner, args.action)
    _print(args, found, "\n".join(f"{p['action']:<14} {(p['owner'] or '(operator)') + '/' + p['name']:<32} "
                                  + (f"from {p['source_job']}" if p["source_job"] else "") for p in found)
           or "no presets yet")


def cmd_show(studio, args) -> None:
    from backend.presets import compare_with_run, get

    preset = get(studio.db, args.action, args.name, args.owner)
    lines = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in preset["config"].items()]
    payload = dict(preset)
    if args.compare:
        run, changed = compare_with_run(studio.db, get_action(args.action), preset)
        payload["changed_from_run"] = changed
        lines.append(f"-- changed from {run['id']} ({run['status']}):")
        lines += [f"{c['field']}: {json.dumps(c['other'])} → {json.dumps(c['value'])}" for c in changed] or ["(none)"]
    _print(args, payload, "\n".join(lines))


def cmd_save(studio, args) -> None:
    from backend.presets import PresetError, save
    from jobs import store

    action = get_action(args.action)
    if bool(args.from_job) == bool(args.config):
        raise PresetError("give the preset's settings with --from-job JOB or --config FILE (one of them)")
    if args.from_job:
        run = store.get(studio.db, args.from_job)
        if run["kind"] != action.kind:
            raise PresetError(f"{args.from_job} is a {run['kind']} job, not a {action.title.lower()}")
        data, source = run["config"], args.from_job
    else:
        data, source = action.load(studio, args.config), None
    preset = save(studio.db, args.owner, action, args.name, data, source_job=source, replace=args.replace)
    _print(args, preset, f"saved {action.name} preset '{preset['name']}'" + (f" (from {source})" if source else ""))


def cmd_delete(studio, args) -> None:
    from backend.presets import delete

    delete(studio.db, args.owner, args.action, args.name)
    _print(args, {"deleted": args.name}, f"deleted {args.action} preset '{args.name}'")


def add_presets_command(top) -> None:
    """Add `presets` to the top-level subparsers of `python -m backend`."""
    actions = sorted(ACTIONS)
    sub = top.add_parser("presets", help="saved presets of train, corpus build, merge, reproduce, …").add_subparsers(
        dest="cmd", required=True)
    p = sub.add_parser("list", help="saved presets (yours with --as, else everyone's)")
    p.add_argument("--action", choices=actions)
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("show", help="a preset's fields; --compare: what it changes from the run it came from")
    p.add_argument("name", help="NAME (yours with --as, or the only one of that name) or USER/NAME")
    p.add_argument("--action", choices=actions, default="train")
    p.add_argument("--compare", action="store_true", help="the fields that differ from the run it came from")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("save", help="save a run's settings (--from-job) or a config file as a preset")
    p.add_argument("name")
    p.add_argument("--action", choices=actions, default="train")
    p.add_argument("--from-job", metavar="JOB", help="the job whose config it takes (and compares with)")
    p.add_argument("--config", metavar="FILE", help="a config file (YAML or JSON)")
    p.add_argument("--replace", action="store_true", help="replace your preset of that name")
    p.set_defaults(func=cmd_save)
    p = sub.add_parser("delete", help="delete your preset (an admin: USER/NAME)")
    p.add_argument("name")
    p.add_argument("--action", choices=actions, default="train")
    p.set_defaults(func=cmd_delete)
    for choice in sub.choices.values():
        choice.add_argument("--as", dest="owner", metavar="USER", help="whose presets (default: the operator's)")
        choice.add_argument("--json", action="store_true", help="print JSON")
