"""`python -m backend merge methods|check|yaml`: the merge tools that start no job (`merge` and `merge sweep`, which
submit jobs, are generated from their action declarations in backend.merge.job). `merge methods` lists the methods
and their parameters; `merge check BASE DAPT` says whether two models can be merged; `merge yaml --config FILE`
prints the mergekit YAML a merge would run."""
from __future__ import annotations

import json


def _emit(args, payload, text: str) -> None:
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str) if args.json else text)


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
    from backend.merge.config import MergeConfig, mergekit_config, resolve_model, to_yaml
    from backend.merge.job import MERGE
    from frbio_core.config import values_from_args

    cfg = MERGE.parse(MERGE.fields(studio, args.config_file, values_from_args(args, MergeConfig)))
    base = resolve_model(studio.db, cfg.base_model, "base_model")
    dapt = resolve_model(studio.db, cfg.dapt_model, "dapt_model")
    config = mergekit_config(cfg.method, cfg.parameters, base["path"], dapt["path"])
    _emit(args, config, to_yaml(config).rstrip())


def add_merge_tools(sub) -> None:
    """Add `methods`, `check` and `yaml` to the subcommands of `merge`."""
    from backend.merge.config import MergeConfig
    from frbio_core.config import add_arguments

    s = sub.add_parser("methods", help="the merge methods offered, with their parameters and defaults")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_methods)
    s = sub.add_parser("check", help="can these two registered models be merged? (names the first mismatch)")
    s.add_argument("base")
    s.add_argument("dapt")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_check)
    s = sub.add_parser("yaml", help="print the mergekit YAML of a merge config (absolute paths)")
    s.add_argument("--config", dest="config_file", metavar="FILE", help="merge config file (mergekit-style or the "
                   "studio's)")
    s.add_argument("--json", action="store_true", help="print JSON")
    add_arguments(s.add_argument_group("merge config fields"), MergeConfig)
    s.set_defaults(func=cmd_yaml)
