"""What `python -m backend eval` and `compare` print (their commands are generated from the actions in
backend.evaluation.job: cached results reused, what is missing run as `eval` jobs and waited for), and
`python -m backend benchmarks list|add`."""
from __future__ import annotations

import json
import sys

from backend.evaluation.config import EvalConfig


def eval_results(studio, cfg: EvalConfig, rows: list[dict]) -> tuple[dict, str]:
    """`eval`'s output: every task's metrics (± standard error), from the cache, the just-finished job included."""
    from backend.evaluation.runner import plan

    model, content_hash, planned = plan(studio.db, studio.settings, cfg)
    ran = {t for r in rows for t in (r["config"] or {}).get("tasks", [])}
    results = [{"task": p.spec.name, "eval_id": p.cached["id"], "metrics": p.cached["metrics"],
                "n_samples": p.cached["n_samples"], "cached": p.spec.name not in ran, "path": p.cached["path"]}
               for p in planned if p.cached is not None]
    payload = {"model": model["id"], "content_hash": content_hash, "job_id": rows[0]["id"] if rows else None,
               "results": results}
    lines = []
    for r in results:
        values = ", ".join(f"{k} {v:.4f}" + (f" ± {r['metrics'][k + '_stderr']:.4f}"
                                              if r["metrics"].get(k + "_stderr") is not None else "")
                           for k, v in r["metrics"].items() if not k.endswith("_stderr") and v is not None)
        lines.append(f"{r['task']:<30} {values}  ({r['n_samples']} items{', cached' if r['cached'] else ''})")
    return payload, "\n".join(lines).rstrip("\n")


def trajectory_results(studio, cfg: EvalConfig) -> tuple[dict, str]:
    """`eval --run`'s output: each benchmark's score at each point of the run (Δ from the base, paired interval)."""
    from backend.evaluation.trajectory import table, trajectory

    data = trajectory(studio.db, studio.settings, cfg.run, cfg)
    headers, rows = table(data)
    lines = [" | ".join(headers)] + [" | ".join(r) for r in rows]
    if data["pending"]:
        lines.append("still missing: " + ", ".join(data["pending"]))
    return data, "\n".join(lines)


def compare_results(studio, cfg, rows: list[dict], options: dict) -> tuple[dict, str]:
    """`compare`'s output: the table (and the HTML/CSV report files asked for); what is still missing on stderr."""
    from backend.evaluation import report
    from backend.evaluation.compare import collect, long_rows, verdict_table, wide_table

    comp = collect(studio.db, studio.settings, cfg.models, cfg.eval_config(), clean=cfg.clean_only)
    written = {}
    if options.get("html"):
        written["html"] = str(report.write(options["html"], report.html_text(studio.db, comp)))
    if options.get("csv"):
        written["csv"] = str(report.write(options["csv"], report.csv_text(comp)))
    jobs = {r["config"]["model"]: r["id"] for r in rows}
    payload = {"models": [m["id"] for m in comp.models], "tasks": [t.name for t in comp.tasks],
               "rows": long_rows(comp), "missing": comp.missing, "jobs": jobs, **written}
    lines = []
    for headers, table in (wide_table(comp), verdict_table(comp)):
        if table:
            widths = [max(len(str(x)) for x in col) for col in zip(headers, *table)]
            lines += ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in [headers] + table] + [""]
    for kind, path in written.items():
        print(f"{kind}: {path}", file=sys.stderr)
    if comp.missing:
        print("missing (run without --cached-only): " + "; ".join(f"{m}: {', '.join(t)}"
                                                                  for m, t in comp.missing.items()), file=sys.stderr)
    return payload, "\n".join(lines)


def cmd_benchmark_add(studio, args) -> None:
    from backend.evaluation.custom import add_benchmark

    meta = add_benchmark(studio.settings, args.file, args.name, args.domain, args.language, owner=args.owner,
                         db=studio.db)
    print(json.dumps(meta, indent=1, ensure_ascii=False) if args.json else
          f"added {meta['task']}: {meta['n_items']} items, {meta['n_fewshot_items']} few-shot examples")


def cmd_benchmark_list(studio, args) -> None:
    """Every benchmark found (built-in, a data folder's, uploaded) with its folder; the folders that could not be
    read as `error:` lines (on stderr with --json)."""
    from backend.evaluation.tasks import all_tasks, benchmark_errors

    rows = [{"task": s.name, "short": s.short, "title": s.title, "title_fr": s.title_fr or s.title,
             "domain": s.domain, "language": s.language, "metrics": list(s.metrics), "fewshot": s.fewshot,
             "default": s.default, "study": s.study, "source": s.source, "custom": s.source == "uploaded",
             "folder": str(s.folder) if s.folder else None, "data_files": list(s.data_files), "note": s.note}
            for s in all_tasks(studio.settings).values()]
    errors = [f"error: {folder}: {why}" for folder, why in benchmark_errors(studio.settings)]
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        for line in errors:
            print(line, file=sys.stderr)
        return
    print("\n".join([f"{r['short']:<28} {r['source']:<8} {r['domain']:<8} {r['language']}  {r['title']}"
                     + (f"  ({r['folder']})" if r["folder"] else "") for r in rows] + errors))


def add_benchmark_commands(subparsers) -> None:
    """Add `benchmarks list|add` to the top-level subparsers of `python -m backend` (`eval` and `compare` are
    generated from their action declarations, backend.evaluation.job)."""
    group = subparsers.add_parser("benchmarks", help="list benchmarks; add a custom multiple-choice benchmark")
    sub = group.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="every task `eval` and `compare` accept: built-in (assets/benchmarks), a data "
                       "folder's (<data>/benchmarks/<name>/) and uploaded ones, with their folders")
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
