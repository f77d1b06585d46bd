"""The study report under <home>/reports/<study id>/: `report.html` (self-contained: plotly.js inline, opens
offline) with the trade-off figure, the benchmark bars, the findings and a table of every number, and
`report.json` with every number, every artefact id, the stage wall times, the machine and the date. Written to a
temporary name and renamed (backend.evaluation.report.write)."""
from __future__ import annotations

import html
import json
import time
from pathlib import Path

from backend.evaluation import charts
from backend.evaluation.compare import Comparison, fmt
from backend.evaluation.report import html_table, page_head, write
from frbio_core.settings import Settings
from backend.study.config import StudyConfig
from backend.study.figures import tradeoff_figure
from backend.study.results import (QUESTION, findings, labelled_comparison, machine, result_rows, results_table,
                                   stage_table, total_wall_s)

RESULT_KEYS = ("role", "model_id", "model", "task", "task_title", "metric", "value", "stderr", "delta", "n", "eval_id",
               "lower_is_better", "ci_low", "ci_high", "p", "p_holm", "test", "n_paired", "significant", "verdict",
               "verdict_fr", "mde")   # the paired evidence too: the findings and the results table are made from it


def report_folder(home: Path, study_id: str) -> Path:
    return Path(home) / "reports" / study_id


def report_data(db, home: Path, settings: Settings, row: dict) -> dict:
    """Everything the report holds, as JSON-ready data."""
    cfg = StudyConfig.model_validate(row["config"])
    comp = labelled_comparison(db, home, settings, row)
    rows = [{k: r.get(k) for k in RESULT_KEYS} for r in result_rows(comp)] if comp is not None and comp.complete \
        else []
    a = row["artefacts"]
    return {"study": row["id"], "name": row["name"], "question": QUESTION, "budget": cfg.budget_text(),
            "config": row["config"], "owner": row.get("owner"),
            "status": "succeeded" if row["stage"] == "report" else row["status"],
            "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["created_at"])),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(),
            "total_wall_s": total_wall_s(row), "stages": stage_table(row), "jobs": row["jobs"],
            "artefacts": {"snapshot": a.get("snapshot"), "snapshot_summary": a.get("snapshot_summary"),
                          "dapt_model": a.get("dapt_model"), "train": a.get("train"),
                          "sweep_job": (row["jobs"].get("sweep") or {}).get("sweep"), "best_t": a.get("best_t"),
                          "best_by": cfg.best_by, "checkpoint": a.get("checkpoint"),
                          "merged_models": a.get("merged"), "merge_yaml": a.get("merge_yaml"),
                          "models": a.get("models"), "evals": a.get("evals")},
            "sweep": a.get("sweep"), "results": rows, "findings": findings(row, rows) if rows else [],
            "sweep_vs_saved": sweep_vs_saved(a, rows)}


def sweep_vs_saved(a: dict, rows: list[dict]) -> list[dict]:
    """The sweep's in-memory perplexities next to the evaluation of the saved model at the same t (same blocks)."""
    sweep = a.get("sweep")
    if not sweep or not rows:
        return []
    at = {"base": 0.0, "dapt": 1.0, "t=0.5": 0.5, "best": a.get("best_t")}
    out = []
    for r in rows:
        if r["task"] != "perplexity" or r["value"] is None:
            continue
        t = at.get(r["role"])
        point = next((p for p in sweep["points"] if t is not None and abs(p["value"] - t) < 1e-9), None)
        if point is None and r["role"] in ("base", "dapt"):
            point = sweep[r["role"]]
        if point is not None and r["metric"] in point:
            out.append({"role": r["role"], "t": t, "metric": r["metric"], "sweep": point[r["metric"]],
                        "saved_model_eval": r["value"], "difference": r["value"] - point[r["metric"]]})
    return out


def html_text(db, home: Path, settings: Settings, row: dict, data: dict) -> str:
    import plotly.io as pio

    comp = labelled_comparison(db, home, settings, row)
    figures = [tradeoff_figure(data["sweep"], data["artefacts"]["best_t"])]
    if comp is not None and comp.complete:
        benchmarks = Comparison(comp.cfg, comp.models, [t for t in comp.tasks if t.name != "perplexity"], comp.cells)
        figures.append(charts.bars(benchmarks, "Benchmarks (higher is better; ± standard error)"))
    plots = "".join(pio.to_html(f, full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
                    for i, f in enumerate(figures))
    results = html_table(*results_table(data["results"])) if data["results"] else "<p>not evaluated yet</p>"
    sweep = data["sweep"] or {"points": []}
    best = data["artefacts"]["best_t"]
    sweep_rows = [[f"{p['value']:g}" + (" (best)" if best is not None and abs(p["value"] - best) < 1e-9 else ""),
                   fmt(p.get("domain_ppl"), 2), fmt(p.get("general_ppl"), 2), fmt(p.get("general_ppl_en"), 2),
                   "yes" if p.get("pareto") else ""] for p in sweep["points"]]
    stages = [[s["stage"], fmt(s["wall_s"], 1), s["started"], ", ".join(
        f"{label}: {j['id']}" + (f" ({j['run_s']:.1f} s)" if j.get("run_s") is not None else "")
        for label, j in s["jobs"].items())] for s in data["stages"]]
    a = data["artefacts"]
    arts = [["corpus snapshot", a["snapshot"]], ["DAPT model", a["dapt_model"]], ["sweep job", a["sweep_job"]]]
    arts += [[f"merged model ({label})", mid] for label, mid in (a["merged_models"] or {}).items()]
    arts += [[f"mergekit YAML ({label})", p] for label, p in (a["merge_yaml"] or {}).items()]
    arts += [[f"evaluation {role} / {task}", eid] for role, tasks in (a["evals"] or {}).items()
             for task, eid in tasks.items()]
    check = [[c["role"], c["metric"], f"{c['sweep']:.4f}", f"{c['saved_model_eval']:.4f}", f"{c['difference']:+.2e}"]
             for c in data["sweep_vs_saved"]]
    m = data["machine"]
    where = (f"{m.get('cpus')} CPUs ({m.get('cpu', '?')}), {m.get('memory_gb', '?')} GB RAM"
             + (f", GPUs: {', '.join(m['gpus'])}" if m.get("gpus") else ", no GPU")
             + f"; Python {m.get('python')}, torch {m.get('torch', '?')}")
    found = "".join(f"<li>{html.escape(f)}</li>" for f in data["findings"]) or "<li>no results yet</li>"
    total = data["total_wall_s"]
    return page_head(f"FrBio Studio — {row['id']}") + f"""<h1>Reproducing the paper's question — {html.escape(row['name'] or row['id'])}</h1>
<p><b>Question.</b> {html.escape(QUESTION)} (Mannion et al., LREC 2026.)</p>
<p><b>Budget.</b> {html.escape(data['budget'])}.</p>
<p><b>Run.</b> study {html.escape(row['id'])}, started {html.escape(data['created'])}, report {html.escape(data['date'])};
total wall time {fmt(total, 1) if total is not None else '—'} s; machine: {html.escape(where)}.</p>
<h2>What the numbers say</h2><ul>{found}</ul>
<h2>Figures</h2>{plots}
<h2>Results</h2><p>Δ is the change from the base (▲ better, ▼ worse; lower is better for every perplexity);
± is the standard error; n is in the per-number JSON.</p>{results}
<h2>SLERP sweep (perplexity, in memory)</h2>{html_table(['t', 'domain', 'general French', 'general English', 'Pareto'], sweep_rows)}
<h2>Sweep vs saved models</h2><p>The same validation blocks measured on the in-memory sweep point and on the saved,
registered model at the same t (evaluation job).</p>{html_table(['model', 'metric', 'sweep', 'saved model', 'difference'], check)}
<h2>Stages</h2>{html_table(['stage', 'wall time (s)', 'started', 'jobs (run time)'], stages)}
<h2>Artefacts</h2>{html_table(['what', 'id'], arts)}
<h2>Configuration</h2><pre>{html.escape(json.dumps(data['config'], indent=1))}</pre>
</body></html>
"""


def write_report(db, home: Path, settings: Settings, row: dict) -> dict[str, Path]:
    """Write report.html and report.json for the study; returns their paths."""
    data = report_data(db, home, settings, row)
    folder = report_folder(home, row["id"])
    return {"json": write(folder / "report.json", json.dumps(data, indent=1, ensure_ascii=False, default=str)),
            "html": write(folder / "report.html", html_text(db, home, settings, row, data))}
