"""Exports of a comparison: a self-contained HTML report (plotly.js inline, no CDN: it opens offline) and a CSV of
every (task, metric, model) value with its standard error, its change from the reference model with the paired 95 %
interval, p (raw and Holm-corrected), the test and the verdict. Files are written to
a temporary name then renamed, by default under <home>/reports/. The page is rendered from the Jinja2 template
assets/templates/compare_report.html.j2."""
from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

from backend.evaluation import charts
from backend.evaluation.compare import Comparison, drill_down, drill_table, long_rows, verdict_table, wide_table
from backend.evaluation.tasks import PERPLEXITY

CSV_FIELDS = ["task", "metric", "model", "value", "stderr", "delta", "ci_low", "ci_high", "p", "p_holm", "test",
              "n_paired", "mde", "verdict", "verdict_fr", "n", "lower_is_better", "eval_id"]


def csv_text(comp: Comparison) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in long_rows(comp):
        writer.writerow(row)
    return out.getvalue()


def html_text(db, comp: Comparison, title: str = "FrBio Studio — model comparison", items_per_task: int = 50) -> str:
    """The report page, from assets/templates/compare_report.html.j2."""
    import plotly.io as pio

    from frbio_core.templates import render

    cfg = comp.cfg
    headers, rows = wide_table(comp)
    v_headers, v_rows = verdict_table(comp)
    figures = [charts.bars(comp)]
    if any(t.name == PERPLEXITY for t in comp.tasks):
        figures.append(charts.tradeoff(comp))
    plots = [pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
             for i, fig in enumerate(figures)]
    drills = []
    for t in comp.tasks:
        if t.name == PERPLEXITY:
            continue
        items = drill_down(db, comp, t.name, disagree_only=True, limit=items_per_task)
        if items:
            h, r = drill_table(comp, items)
            drills.append({"title": t.title, "headers": h, "rows": r})
    settings = (f"few-shot: {cfg.fewshot_medical} (medical), {cfg.fewshot_general} (general); "
                f"items: {cfg.limit or 'all'}; few-shot seed {cfg.fewshot_seed}")
    return render("compare_report.html.j2", title=title, generated=time.strftime("%Y-%m-%d %H:%M"),
                  settings=settings, models=comp.models, headers=headers, rows=rows, v_headers=v_headers,
                  v_rows=v_rows, plots=plots, tasks=comp.tasks, drills=drills)


def write(path: Path | str, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)
    return path


def export(db, comp: Comparison, folder: Path, stem: str | None = None) -> dict[str, Path]:
    """Write <stem>.html and <stem>.csv into `folder` (e.g. <home>/reports); returns their paths."""
    stem = stem or "compare-" + time.strftime("%Y%m%d-%H%M%S")
    return {"html": write(Path(folder) / f"{stem}.html", html_text(db, comp)),
            "csv": write(Path(folder) / f"{stem}.csv", csv_text(comp))}
