"""Exports of a comparison: a self-contained HTML report (plotly.js inline, no CDN: it opens offline) and a CSV of
every (task, metric, model) value with its standard error, its change from the reference model with the paired 95 %
interval, p (raw and Holm-corrected), the test and the verdict. Files are written to
a temporary name then renamed, by default under <home>/reports/."""
from __future__ import annotations

import csv
import html
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


def html_table(headers: list[str], rows: list[list]) -> str:
    """An escaped HTML table (None cells empty)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page_head(title: str) -> str:
    """The opening of a self-contained report page (the reports' shared style)."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f0f4f4; }}
</style></head><body>
"""


def html_text(db, comp: Comparison, title: str = "FrBio Studio — model comparison", items_per_task: int = 50) -> str:
    import plotly.io as pio

    cfg = comp.cfg
    headers, rows = wide_table(comp)
    v_headers, v_rows = verdict_table(comp)
    figures = [charts.bars(comp)]
    if any(t.name == PERPLEXITY for t in comp.tasks):
        figures.append(charts.tradeoff(comp))
    plots = [pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
             for i, fig in enumerate(figures)]
    models = "".join(f"<li><b>{html.escape(m['id'])}</b> ({html.escape(m['kind'])}) — "
                     f"<code>{html.escape(m.get('content_hash') or '')[:23]}</code></li>" for m in comp.models)
    notes = "".join(f"<li><b>{html.escape(t.title)}</b>: {html.escape(t.note)}</li>" for t in comp.tasks)
    drills = []
    for t in comp.tasks:
        if t.name == PERPLEXITY:
            continue
        items = drill_down(db, comp, t.name, disagree_only=True, limit=items_per_task)
        if items:
            h, r = drill_table(comp, items)
            drills.append(f"<h3>{html.escape(t.title)} — items where the models disagree (first {len(items)})</h3>"
                          + html_table(h, r))
    settings = (f"few-shot: {cfg.fewshot_medical} (medical), {cfg.fewshot_general} (general); "
                f"items: {cfg.limit or 'all'}; few-shot seed {cfg.fewshot_seed}")
    return page_head(title) + f"""<h1>{html.escape(title)}</h1>
<p>Generated {time.strftime('%Y-%m-%d %H:%M')} by FrBio Studio. The first model is the reference: Δ is the change
from it, with its 95 % paired bootstrap interval and p after Holm's correction across this comparison; ▲ better and
▼ worse mark only the differences that are significant; ± is the standard error. Settings:
{html.escape(settings)}.</p>
<h2>Models</h2><ul>{models}</ul>
<h2>Results</h2>{html_table(headers, rows)}
<h2>Is each difference real?</h2>
<p>Paired on the items both models answered: exact McNemar for right/wrong scores, a sign-flip permutation test for
graded ones; Holm–Bonferroni across all {len(v_rows)} comparisons. "No difference detectable" gives the smallest
difference these items could have detected (80 % power, α = 0.05; an estimate).</p>
{html_table(v_headers, v_rows)}
<h2>Charts</h2>{''.join(plots)}
<h2>Tasks</h2><ul>{notes}</ul>
{'<h2>Per-item answers</h2>' + ''.join(drills) if drills else ''}
</body></html>
"""


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
