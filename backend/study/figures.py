"""The study's trade-off figure: the SLERP sweep as a curve of domain perplexity against general French and general
English perplexity (lower is better on both axes), with the base, the DAPT model, t = 0.5 and the best point
labelled. Shared by the HTML report, the Reproduce tab and the image in docs/study.md."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from frbio_core.translations import translated
from backend.evaluation.charts import PALETTE

AXES = [("general_ppl", "general French perplexity"), ("general_ppl_en", "general English perplexity")]
MARKS = [("base", "base (t=0)", PALETTE[0], "circle"), ("dapt", "DAPT (t=1)", PALETTE[4], "square"),
         ("t=0.5", "SLERP t=0.5", PALETTE[1], "diamond"), ("best", "best", PALETTE[3], "star")]


def _point(sweep: dict, t: float) -> dict | None:
    return next((p for p in sweep["points"] if abs(p["value"] - t) < 1e-9), None)


def tradeoff_figure(sweep: dict | None, best_t: float | None, title: str = "", lang: str = "en") -> go.Figure:
    """Two panels (general French, general English on x; domain on y) of the sweep curve and its labelled points,
    in `lang`."""
    def say(text: str) -> str:
        return translated(text, lang)

    if not sweep:
        fig = go.Figure()
        fig.add_annotation(text=say("the sweep has not run yet"), showarrow=False, xref="paper", yref="paper", x=0.5,
                           y=0.5)
        fig.update_layout(height=420)
        return fig
    axes = [(k, name) for k, name in AXES if all(k in p for p in sweep["points"]) and k in sweep["base"]]
    fig = make_subplots(rows=1, cols=len(axes) or 1, horizontal_spacing=0.08,
                        subplot_titles=[say(f"domain vs {name}") for _, name in axes])
    points = sorted(sweep["points"], key=lambda p: p["value"])
    marks = {"base": sweep["base"], "dapt": sweep["dapt"], "t=0.5": _point(sweep, 0.5),
             "best": _point(sweep, best_t) if best_t is not None else None}
    for col, (key, name) in enumerate(axes, start=1):
        fig.add_trace(go.Scatter(
            x=[p[key] for p in points], y=[p["domain_ppl"] for p in points], mode="lines+markers+text",
            text=[f"{p['value']:g}" for p in points], textposition="bottom right", textfont=dict(size=10),
            line=dict(color="#999"), marker=dict(size=6, color="#999"), name=say("SLERP sweep (t)"),
            showlegend=col == 1,
            hovertemplate="t=%{text}<br>" + say(name) + ": %{x:.2f}<br>" + say("domain") + ": %{y:.2f}<extra></extra>"),
            row=1, col=col)
        for role, label, color, symbol in MARKS:
            p = marks.get(role)
            if p is None or key not in p:
                continue
            label = say(f"best (t={best_t:g})" if role == "best" else label)
            fig.add_trace(go.Scatter(
                x=[p[key]], y=[p["domain_ppl"]], mode="markers", name=label, showlegend=col == 1,
                marker=dict(size=15 if role != "best" else 18, color=color, symbol=symbol,
                            line=dict(width=1, color="white")), legendgroup=role,
                hovertemplate=f"{label}<br>{say(name)}: %{{x:.2f}}<br>{say('domain')}: %{{y:.2f}}<extra></extra>"),
                row=1, col=col)
        fig.update_xaxes(title_text=say(f"{name} (lower is better)"), row=1, col=col)
        fig.update_yaxes(title_text=say("domain perplexity (lower is better)") if col == 1 else None, row=1, col=col)
    fig.update_layout(title=title or say("Specialisation vs forgetting: the SLERP sweep between base and DAPT"),
                      height=460, margin=dict(l=60, r=20, t=70, b=60),
                      legend=dict(orientation="h", y=-0.2))
    return fig
