"""The study report under <home>/reports/<study id>/: `report.html` (self-contained: plotly.js inline, opens
offline) with the trade-off figure, the benchmark bars, the findings and a table of every number, the same page in
French as `report.fr.html` (its words through frbio_core.translations), and
`report.json` with every number, every artefact id, the stage wall times, the machine and the date. Written to a
temporary name and renamed (backend.evaluation.report.write). The page is rendered from the Jinja2 template
assets/templates/study_report.html.j2."""
from __future__ import annotations

import json
import time
from pathlib import Path

from backend.evaluation import charts
from backend.evaluation.compare import Comparison, fmt
from backend.evaluation.report import write
from frbio_core.settings import Settings
from frbio_core.templates import render
from frbio_core.translations import translated
from backend.study.config import PRESETS, StudyConfig
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


def html_text(db, home: Path, settings: Settings, row: dict, data: dict, lang: str = "en") -> str:
    import plotly.io as pio

    def t(text) -> str:
        return translated(text, lang)

    comp = labelled_comparison(db, home, settings, row)
    figures = [tradeoff_figure(data["sweep"], data["artefacts"]["best_t"], lang=lang)]
    if comp is not None and comp.complete:
        benchmarks = Comparison(comp.cfg, comp.models, [t for t in comp.tasks if t.name != "perplexity"], comp.cells)
        figures.append(charts.bars(benchmarks, "Benchmarks (higher is better; ± standard error)", lang=lang))
    plots = [pio.to_html(f, full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
             for i, f in enumerate(figures)]
    sweep = data["sweep"] or {"points": []}
    best = data["artefacts"]["best_t"]
    sweep_rows = [[f"{p['value']:g}" + (t(" (best)") if best is not None and abs(p["value"] - best) < 1e-9 else ""),
                   fmt(p.get("domain_ppl"), 2), fmt(p.get("general_ppl"), 2), fmt(p.get("general_ppl_en"), 2),
                   t("yes") if p.get("pareto") else ""] for p in sweep["points"]]
    stages = [[s["stage"], fmt(s["wall_s"], 1), s["started"], ", ".join(
        f"{label}: {j['id']}" + (f" ({j['run_s']:.1f} s)" if j.get("run_s") is not None else "")
        for label, j in s["jobs"].items())] for s in data["stages"]]
    a = data["artefacts"]
    arts = [["corpus snapshot", a["snapshot"]], ["DAPT model", a["dapt_model"]], ["sweep job", a["sweep_job"]]]
    arts += [[f"merged model ({label})", mid] for label, mid in (a["merged_models"] or {}).items()]
    arts += [[f"mergekit YAML ({label})", p] for label, p in (a["merge_yaml"] or {}).items()]
    arts += [[f"evaluation {role} / {task}", eid] for role, tasks in (a["evals"] or {}).items()
             for task, eid in tasks.items()]
    arts = [[t(what), ident] for what, ident in arts]
    check = [[c["role"], c["metric"], f"{c['sweep']:.4f}", f"{c['saved_model_eval']:.4f}", f"{c['difference']:+.2e}"]
             for c in data["sweep_vs_saved"]]
    m = data["machine"]
    where = (f"{m.get('cpus')} CPUs ({m.get('cpu', '?')}), {m.get('memory_gb', '?')} GB RAM"
             + (f", GPUs: {', '.join(m['gpus'])}" if m.get("gpus") else ", no GPU")
             + f"; Python {m.get('python')}, torch {m.get('torch', '?')}")
    total = data["total_wall_s"]
    results = None
    if data["results"]:
        headers, rows = results_table(data["results"])
        results = ([t(h) for h in headers], [[t(c) for c in r] for r in rows])
    budget = data["budget"]
    if lang == "fr" and row["config"].get("budget") in PRESETS:
        from backend.study.view import DESCRIPTIONS_FR

        budget = f"{row['config']['budget']} : {DESCRIPTIONS_FR[row['config']['budget']]}"
    return render("study_report.html.j2", title=f"FrBio Studio — {row['id']}", name=row["name"] or row["id"],
                  question=t(QUESTION), budget=budget, study=row["id"], created=data["created"],
                  date=data["date"], total=fmt(total, 1) if total is not None else "—", where=t(where),
                  findings=[t(f) for f in data["findings"]], plots=plots, results=results, sweep_rows=sweep_rows,
                  check=check, stages=stages, artefacts=arts, config=json.dumps(data["config"], indent=1), t=t,
                  lang=lang)


def write_report(db, home: Path, settings: Settings, row: dict) -> dict[str, Path]:
    """Write report.json, report.html and report.fr.html for the study; returns their paths."""
    data = report_data(db, home, settings, row)
    folder = report_folder(home, row["id"])
    return {"json": write(folder / "report.json", json.dumps(data, indent=1, ensure_ascii=False, default=str)),
            "html": write(folder / "report.html", html_text(db, home, settings, row, data)),
            "html_fr": write(folder / "report.fr.html", html_text(db, home, settings, row, data, "fr"))}
