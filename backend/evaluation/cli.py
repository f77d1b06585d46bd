"""`python -m backend eval --model ID --tasks a,b [--limit N] [--fewshot-medical N …] [--json]` and
`python -m backend compare --models a,b,c [--tasks …] [--html OUT] [--csv OUT] [--json]`.

Both reuse cached results and run what is missing as `eval` jobs (one per model), waiting for them; when no app (nor
`jobs serve`) runs for the home, they drive a scheduler themselves while they wait. Flags come from EvalConfig.
"""
from __future__ import annotations

import json
import sys
import time

from pydantic import Field

from backend.evaluation.config import EvalConfig, EvalError, parse_eval_config, split_names


class CompareFlags(EvalConfig):
    """EvalConfig's flags without --model (compare takes --models)."""

    model: str = Field("", json_schema_extra={"cli": False})


def _config(args, cls=EvalConfig) -> EvalConfig:
    from backend.config import ConfigFileError, read_config_file, values_from_args

    try:
        data = read_config_file(args.config, "eval config") if args.config else {}
    except ConfigFileError as exc:
        raise EvalError(str(exc)) from None
    data.update(values_from_args(args, cls))
    return parse_eval_config(data)


def wait_for(studio, job_ids: list[str], timeout: float | None, quiet: bool) -> list[dict]:
    """Wait until every job ends (driving a scheduler here if none runs); EvalError when one did not succeed."""
    from jobs import store
    from jobs.scheduler import Scheduler

    scheduler = Scheduler(studio.settings)
    driving = scheduler.try_activate()
    if driving and not quiet:
        print(f"no scheduler is running for {studio.home}: running one here until the evaluation ends",
              file=sys.stderr)
    deadline = None if timeout is None else time.monotonic() + timeout
    last: dict[str, str] = {}
    try:
        while True:
            if driving:
                scheduler.tick()
            rows = [store.get(studio.db, j) for j in job_ids]
            for row in rows:
                if not quiet and row["status"] == "running" and row["message"] != last.get(row["id"]):
                    last[row["id"]] = row["message"]
                    print(f"{row['id']} [{row['progress']:4.0%}] {row['message']}", file=sys.stderr)
            if all(r["status"] in store.FINAL for r in rows):
                break
            if deadline is not None and time.monotonic() > deadline:
                raise EvalError(f"still running after {timeout:g} s: " + ", ".join(
                    r["id"] for r in rows if r["status"] not in store.FINAL) + " (the jobs go on; run again later)")
            time.sleep(0.5)
    finally:
        scheduler.deactivate()
    failed = [r for r in rows if r["status"] != "succeeded"]
    if failed:
        raise EvalError("; ".join(f"{r['id']} {r['status']}: {r['exit_reason']}" for r in failed))
    return rows


def _submit(studio, args):
    from jobs import store

    return lambda kind, config, owner=None: store.submit(studio.db, studio.home, kind, config, owner=owner,
                                                         device=args.device)


def cmd_eval(studio, args) -> None:
    from backend.evaluation.runner import plan
    from backend.evaluation.compare import Comparison, submit_missing

    cfg = _config(args)
    model, content_hash, planned = plan(studio.db, studio.settings, cfg)
    missing = [p.spec.name for p in planned if p.cached is None]
    job_id = None
    if missing:
        comp = Comparison(cfg, [model], [p.spec for p in planned], {(model["id"], p.spec.name): p for p in planned})
        job_id = submit_missing(studio.db, studio.home, _submit(studio, args), comp, owner=args.owner)[model["id"]]
        wait_for(studio, [job_id], args.timeout, quiet=args.json)
        model, content_hash, planned = plan(studio.db, studio.settings, cfg)
    results = [{"task": p.spec.name, "eval_id": p.cached["id"], "metrics": p.cached["metrics"],
                "n_samples": p.cached["n_samples"], "cached": p.spec.name not in missing,
                "path": p.cached["path"]} for p in planned]
    payload = {"model": model["id"], "content_hash": content_hash, "job_id": job_id, "results": results}
    if args.json:
        print(json.dumps(payload, indent=1, ensure_ascii=False))
        return
    for r in results:
        values = ", ".join(f"{k} {v:.4f}" + (f" ± {r['metrics'][k + '_stderr']:.4f}"
                                              if r["metrics"].get(k + "_stderr") is not None else "")
                           for k, v in r["metrics"].items() if not k.endswith("_stderr") and v is not None)
        print(f"{r['task']:<30} {values}  ({r['n_samples']} items{', cached' if r['cached'] else ''})")


def cmd_compare(studio, args) -> None:
    from backend.evaluation import report
    from backend.evaluation.compare import collect, long_rows, submit_missing, wide_table

    cfg = _config(args, CompareFlags)
    models = split_names(args.models)
    comp = collect(studio.db, studio.settings, models, cfg)
    jobs = {}
    if comp.missing and not args.cached_only:
        jobs = submit_missing(studio.db, studio.home, _submit(studio, args), comp, owner=args.owner)
        wait_for(studio, list(dict.fromkeys(jobs.values())), args.timeout, quiet=args.json)
        comp = collect(studio.db, studio.settings, models, cfg)
    written = {}
    if args.html:
        written["html"] = str(report.write(args.html, report.html_text(studio.db, comp)))
    if args.csv:
        written["csv"] = str(report.write(args.csv, report.csv_text(comp)))
    if args.json:
        print(json.dumps({"models": [m["id"] for m in comp.models], "tasks": [t.name for t in comp.tasks],
                          "rows": long_rows(comp), "missing": comp.missing, "jobs": jobs, **written},
                         indent=1, ensure_ascii=False))
        return
    headers, rows = wide_table(comp)
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    for line in [headers] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths)))
    for kind, path in written.items():
        print(f"{kind}: {path}", file=sys.stderr)
    if comp.missing:
        print("missing (run without --cached-only): " + "; ".join(f"{m}: {', '.join(t)}"
                                                                  for m, t in comp.missing.items()), file=sys.stderr)


def cmd_benchmark_add(studio, args) -> None:
    from backend.evaluation.custom import add_benchmark

    meta = add_benchmark(studio.settings, args.file, args.name, args.domain, args.language, owner=args.owner)
    print(json.dumps(meta, indent=1, ensure_ascii=False) if args.json else
          f"added {meta['task']}: {meta['n_items']} items, {meta['n_fewshot_items']} few-shot examples")


def cmd_benchmark_list(studio, args) -> None:
    from backend.evaluation.tasks import all_tasks

    rows = [{"task": s.name, "short": s.short, "title": s.title, "domain": s.domain, "language": s.language,
             "metrics": list(s.metrics), "custom": bool(s.extra), "note": s.note}
            for s in all_tasks(studio.settings).values()]
    print(json.dumps(rows, indent=1, ensure_ascii=False) if args.json else
          "\n".join(f"{r['short']:<28} {r['domain']:<8} {r['language']}  {r['title']}" for r in rows))


def add_eval_commands(subparsers) -> None:
    """Add `eval` and `compare` to the top-level subparsers of `python -m backend`."""
    from backend.config import add_arguments

    for name, func, cls, text in (
            ("eval", cmd_eval, EvalConfig, "evaluate a model on benchmarks and perplexity (cached results reused)"),
            ("compare", cmd_compare, CompareFlags, "compare models on benchmarks: table, HTML report, CSV")):
        p = subparsers.add_parser(name, help=text, description=__doc__.split("\n\n")[0])
        if name == "compare":
            p.add_argument("--models", required=True, nargs="+", help="model ids, comma-separated; the first is "
                           "the reference (typically the base)")
            p.add_argument("--html", metavar="OUT", help="write a self-contained HTML report here")
            p.add_argument("--csv", metavar="OUT", help="write every value as CSV here")
            p.add_argument("--cached-only", action="store_true", help="report cached results only; run nothing")
        p.add_argument("--config", metavar="FILE", help="eval config (YAML or JSON); flags override its fields")
        p.add_argument("--device", default="any", help="for missing evaluations: 'any' (default), 'cpu', 'cuda:N'")
        p.add_argument("--owner", help="who submits the jobs")
        p.add_argument("--timeout", type=float, default=None, help="seconds to wait for missing evaluations")
        p.add_argument("--json", action="store_true", help="print JSON")
        add_arguments(p.add_argument_group("eval config fields"), cls)
        p.set_defaults(func=func)
    group = subparsers.add_parser("benchmarks", help="list benchmarks; add a custom multiple-choice benchmark")
    sub = group.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="every task `eval` and `compare` accept")
    p.set_defaults(func=cmd_benchmark_list)
    p = sub.add_parser("add", help="validate a JSONL of multiple-choice items and store it as a task "
                       "(schema: backend/evaluation/custom.py, README)")
    p.add_argument("file")
    p.add_argument("--name", required=True, help="benchmark name (its task is custom_<name>)")
    p.add_argument("--domain", choices=["medical", "general"], default="medical",
                   help="which few-shot count applies (default: medical)")
    p.add_argument("--language", choices=["fr", "en"], default="fr")
    p.add_argument("--owner")
    p.set_defaults(func=cmd_benchmark_add)
    for choice in sub.choices.values():
        choice.add_argument("--json", action="store_true", help="print JSON")
