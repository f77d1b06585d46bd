"""Plotly figures of a comparison, shared by the Compare tab and the HTML report: grouped bars per benchmark metric
(with standard errors) and the domain-vs-general perplexity scatter (the paper's trade-off); their words in `lang`
(frbio_core.translations)."""
from __future__ import annotations

import plotly.graph_objects as go

from frbio_core.translations import translated
from backend.evaluation.compare import Comparison, long_rows, perplexity_points

PALETTE = ["#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8ab17d", "#6d597a", "#b56576"]


def bars(comp: Comparison, title: str = "Benchmarks (higher is better)", lang: str = "en") -> go.Figure:
    rows = [r for r in long_rows(comp) if not r["lower_is_better"] and r["value"] is not None]
    labels = list(dict.fromkeys(f"{r['task_title']} · {r['metric']}" for r in rows))
    shown = {k: translated(k.split(" · ")[0], lang) + " · " + k.split(" · ", 1)[1] for k in labels}
    fig = go.Figure()
    for i, model in enumerate(comp.models):
        mine = {f"{r['task_title']} · {r['metric']}": r for r in rows if r["model"] == model["id"]}
        fig.add_trace(go.Bar(
            name=model["id"], x=[shown[k] for k in labels], y=[mine[k]["value"] if k in mine else None for k in labels],
            error_y=dict(type="data", array=[(mine[k]["stderr"] or 0) if k in mine else 0 for k in labels],
                         visible=True),
            marker_color=PALETTE[i % len(PALETTE)],
            hovertemplate="%{x}<br>" + model["id"] + ": %{y:.3f}<extra></extra>"))
    fig.update_layout(title=translated(title, lang), barmode="group",
                      yaxis=dict(title=translated("score", lang), rangemode="tozero"), height=380,
                      margin=dict(l=50, r=10, t=50, b=90), legend=dict(orientation="h", y=-0.25))
    return fig


def tradeoff(comp: Comparison, title: str = "Domain vs general perplexity (lower is better on both axes)",
             lang: str = "en") -> go.Figure:
    def say(text: str) -> str:
        return translated(text, lang)

    points = perplexity_points(comp)
    fig = go.Figure()
    if len(points) > 1:  # arrows from the reference model to each other model
        ref = points[0]
        for p in points[1:]:
            fig.add_annotation(x=p["general_ppl"], y=p["domain_ppl"], ax=ref["general_ppl"], ay=ref["domain_ppl"],
                               xref="x", yref="y", axref="x", ayref="y", showarrow=True, arrowhead=2,
                               arrowcolor="#999", opacity=0.6, text="")
    for i, p in enumerate(points):
        extra = (f"<br>{say('general English')}: {p['general_ppl_en']:.2f}" if p.get("general_ppl_en") is not None
                 else "")
        fig.add_trace(go.Scatter(
            x=[p["general_ppl"]], y=[p["domain_ppl"]], mode="markers+text", name=p["model"], text=[p["model"]],
            textposition="top center", marker=dict(size=14, color=PALETTE[i % len(PALETTE)]),
            hovertemplate=f"{p['model']}<br>{say('general (French)')}: %{{x:.2f}}<br>{say('domain')}: %{{y:.2f}}"
                          f"{extra}<extra></extra>"))
    fig.update_layout(title=say(title), xaxis_title=say("general-domain perplexity (French)"),
                      yaxis_title=say("domain perplexity (biomedical validation)"), height=380,
                      margin=dict(l=60, r=10, t=50, b=50), showlegend=False)
    if not points:
        fig.add_annotation(text=say("no perplexity results yet (add the perplexity task)"), showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


def trajectory(data: dict, title: str = "Scores along training (base = step 0)", lang: str = "en") -> go.Figure:
    """One panel per benchmark metric: the score against the training step, the paired 95 % interval of each
    point's difference from the base drawn around the point (base value + Δ's interval); filled markers where the
    difference is significant after Holm's correction."""
    from plotly.subplots import make_subplots

    series = data["series"] or []
    cols = min(3, max(1, len(series)))
    rows = max(1, -(-len(series) // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"{translated(s['task_title'], lang)} · {s['metric']}"
                                                              for s in series] or [""])
    for i, s in enumerate(series):
        pts = s["points"]
        base = next((p["value"] for p in pts if p["kind"] == "base"), None)
        up = [(p["ci_high"] - p["delta"]) if p.get("ci_high") is not None else 0 for p in pts]
        down = [(p["delta"] - p["ci_low"]) if p.get("ci_low") is not None else 0 for p in pts]
        fig.add_trace(go.Scatter(
            x=[p["step"] for p in pts], y=[p["value"] for p in pts], mode="lines+markers", name=s["task_title"],
            customdata=[[p["model"], p["delta"] if p["delta"] is not None else 0] for p in pts],
            error_y=dict(type="data", symmetric=False, array=up, arrayminus=down, visible=True),
            marker=dict(size=10, color=PALETTE[i % len(PALETTE)],
                        symbol=["circle" if p["significant"] or p["kind"] == "base" else "circle-open" for p in pts]),
            line=dict(color=PALETTE[i % len(PALETTE)]), showlegend=False,
            hovertemplate=translated("step", lang) + " %{x}<br>%{customdata[0]}<br>%{y:.3f} (Δ %{customdata[1]:+.3f})"
                                                     "<extra></extra>"),
            row=i // cols + 1, col=i % cols + 1)
        if base is not None:
            fig.add_hline(y=base, line=dict(color="#bbb", dash="dot"), row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(title_text=translated("training step", lang))
    fig.update_layout(title=translated(title, lang), height=320 * rows, margin=dict(l=50, r=10, t=70, b=50))
    if not series:
        fig.add_annotation(text=translated("no result yet: evaluate the trajectory", lang), showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


def trajectory_tradeoff(data: dict, title: str = "Domain against general score, in training order",
                        lang: str = "en") -> go.Figure:
    """The paper's trade-off along a run: one point per checkpoint (mean headline score of the medical benchmarks
    against that of the general ones), joined in training order, labelled with the step."""
    def say(text: str) -> str:
        return translated(text, lang)

    pts = data["tradeoff"]
    fig = go.Figure(go.Scatter(
        x=[p["general"] for p in pts], y=[p["domain"] for p in pts], mode="lines+markers+text",
        text=[say(f"step {p['step']}") for p in pts], textposition="top center", customdata=[p["model"] for p in pts],
        marker=dict(size=11, color=[p["step"] for p in pts], colorscale="Viridis", showscale=bool(pts),
                    colorbar=dict(title=say("step"))),
        line=dict(color="#999"),
        hovertemplate=f"%{{customdata}}<br>{say('general')} %{{x:.3f}}<br>{say('domain')} %{{y:.3f}}<extra></extra>"))
    fig.update_layout(title=say(title), xaxis_title=say("general score (mean of the general benchmarks)"),
                      yaxis_title=say("domain score (mean of the medical benchmarks)"), height=380,
                      margin=dict(l=60, r=10, t=50, b=50))
    if not pts:
        fig.add_annotation(text=say("needs a medical and a general benchmark"), showarrow=False, xref="paper",
                           yref="paper", x=0.5, y=0.5)
    return fig
