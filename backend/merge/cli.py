"""`python -m backend merge --config FILE [--json] [--wait]`: submit a merge job (FILE: a mergekit-style YAML naming
the base and the DAPT model — registry ids or folders — or the studio's own merge config); the flags, generated from
MergeConfig, override the file. `merge sweep --config FILE [--snapshot ID] [--grid 0 0.25 …] [--wait]` submits a
t-sweep; `merge methods` lists the methods and their parameters; `merge check BASE DAPT` says whether two models can
be merged; `merge yaml --config FILE` prints the mergekit YAML a merge would run."""
from __future__ import annotations

import json
import sys


def _emit(args, payload, text: str) -> None:
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str) if args.json else text)


def _config_data(studio, args, model) -> dict:
    from backend.config import values_from_args
    from backend.merge.config import load_merge_file

    data = load_merge_file(studio.db, args.config) if args.config else {}
    flags = values_from_args(args, model)
    if "parameters" in flags:
        if not isinstance(flags["parameters"], dict):
            from backend.merge.methods import MergeError

            raise MergeError("--parameters: give a JSON object, e.g. '{\"t\": 0.3}'")
        flags["parameters"] = {**(data.get("parameters") or {}), **flags["parameters"]}
    return {**data, **flags}


def _submit(studio, args, kind: str, data: dict) -> None:
    from jobs import store
    from jobs.scheduler import scheduler_running

    job_id = store.submit(studio.db, studio.home, kind, data, owner=args.owner, device=args.device)
    if args.wait:
        from jobs.cli import _wait

        return _wait(studio, args, job_id)
    if args.json:
        print(json.dumps({"id": job_id, "status": "queued"}))
        return None
    print(job_id)
    if not scheduler_running(studio.home):
        print(f"no scheduler is running for this home: start the app, `jobs serve`, or `jobs wait {job_id}`",
              file=sys.stderr)
    return None


def cmd_merge(studio, args) -> None:
    from backend.merge.config import MergeConfig

    _submit(studio, args, "merge", _config_data(studio, args, MergeConfig))


def cmd_sweep(studio, args) -> None:
    from backend.merge.sweep import SweepConfig

    _submit(studio, args, "merge_sweep", _config_data(studio, args, SweepConfig))


def cmd_methods(studio, args) -> None:
    from backend.merge.methods import describe_methods, left_out

    rows = describe_methods()
    lines = []
    for r in rows:
        params = ", ".join(f"{n}={json.dumps(p['default'])}" for n, p in r["parameters"].items())
        lines.append(f"{r['method']:<17} {r['title']:<30} {params}")
    lines += [f"{name:<17} not offered: {why}" for name, why in left_out().items()]
    _emit(args, {"methods": rows, "left_out": left_out()}, "\n".join(lines))


def cmd_check(studio, args) -> None:
    from backend.merge.compat import check_compatible
    from backend.merge.config import resolve_model

    base = resolve_model(studio.db, args.base, "base_model")
    dapt = resolve_model(studio.db, args.dapt, "dapt_model")
    result = check_compatible(base["path"], dapt["path"], (f"the base {base['id']}", f"the DAPT model {dapt['id']}"))
    _emit(args, {"ok": True, "message": result.message, "warnings": result.warnings},
          "\n".join([result.message, *(f"warning: {w}" for w in result.warnings)]))


def cmd_yaml(studio, args) -> None:
    from backend.merge.config import MergeConfig, mergekit_config, parse_merge_config, resolve_model, to_yaml

    cfg = parse_merge_config(_config_data(studio, args, MergeConfig))
    base = resolve_model(studio.db, cfg.base_model, "base_model")
    dapt = resolve_model(studio.db, cfg.dapt_model, "dapt_model")
    config = mergekit_config(cfg.method, cfg.parameters, base["path"], dapt["path"])
    _emit(args, config, to_yaml(config).rstrip())


def _job_flags(p) -> None:
    p.add_argument("--config", metavar="FILE", help="mergekit-style YAML (merge_method, base_model, models, "
                   "parameters) or the studio's merge config (YAML/JSON); the flags below override its fields")
    p.add_argument("--device", default="any", help="'any' (default), 'cpu' or 'cuda:N'")
    p.add_argument("--owner", help="who submits it")
    p.add_argument("--wait", action="store_true", help="wait for the job to end (drives a scheduler if none runs)")
    p.add_argument("--timeout", type=float, default=None, help="with --wait: seconds before giving up")
    p.add_argument("--json", action="store_true", help="print JSON")


def add_merge_command(subparsers) -> None:
    """Add `merge` (and `merge sweep|methods|check|yaml`) to the top-level subparsers of `python -m backend`."""
    from backend.config import add_arguments
    from backend.merge.config import MergeConfig
    from backend.merge.sweep import SweepConfig

    p = subparsers.add_parser("merge", help="merge a DAPT model with its base (mergekit) as a job; sweep, methods, "
                              "check, yaml", description=__doc__)
    _job_flags(p)
    add_arguments(p.add_argument_group("merge config fields"), MergeConfig)
    p.set_defaults(func=cmd_merge)
    sub = p.add_subparsers(dest="merge_cmd", required=False)
    s = sub.add_parser("sweep", help="submit a t-sweep: domain and general perplexity over a grid of the main "
                                     "parameter, with its Pareto points")
    _job_flags(s)
    add_arguments(s.add_argument_group("sweep config fields"), SweepConfig)
    s.set_defaults(func=cmd_sweep)
    s = sub.add_parser("methods", help="the merge methods offered, with their parameters and defaults")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_methods)
    s = sub.add_parser("check", help="can these two registered models be merged? (names the first mismatch)")
    s.add_argument("base")
    s.add_argument("dapt")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_check)
    s = sub.add_parser("yaml", help="print the mergekit YAML of a merge config (absolute paths)")
    s.add_argument("--config", metavar="FILE", help="merge config file (mergekit-style or the studio's)")
    s.add_argument("--json", action="store_true", help="print JSON")
    add_arguments(s.add_argument_group("merge config fields"), MergeConfig)
    s.set_defaults(func=cmd_yaml)
