"""The merge sweep's figure: domain against general perplexity for each sweep point, the Pareto points joined, the
base and DAPT ends labelled (the Merge tab's chart; its points set the slider)."""
from __future__ import annotations

import plotly.graph_objects as go

from frbio_core.translations import translated


def sweep_figure(result: dict, lang: str = "en") -> go.Figure:
    """Domain vs general perplexity per sweep point; Pareto points joined; base and DAPT ends labelled; in `lang`."""
    def say(text: str) -> str:
        return translated(text, lang)

    y_key, main = result["general_metric"], result["main"]
    points = result["points"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[p["domain_ppl"] for p in points], y=[p[y_key] for p in points], mode="markers+text",
                             text=[f"{p['value']:g}" for p in points], textposition="top center", name=f"{main}",
                             marker=dict(size=9, color="#8ab6d6"),
                             hovertemplate=f"{main} = %{{text}}<br>{say('domain')} %{{x:.2f}}<br>{say('general')} "
                                           "%{y:.2f}<extra></extra>"))
    front = sorted((p for p in points if p.get("pareto")), key=lambda p: p["domain_ppl"])
    fig.add_trace(go.Scatter(x=[p["domain_ppl"] for p in front], y=[p[y_key] for p in front], mode="lines+markers",
                             name="Pareto", marker=dict(size=13, symbol="star", color="#e76f51"),
                             line=dict(dash="dot", color="#e76f51")))
    for role, colour in (("base", "#264653"), ("dapt", "#2a9d8f")):
        end = result.get(role) or {}
        if "domain_ppl" in end and y_key in end:
            label = f"{say('base') if role == 'base' else 'DAPT'}: {result[f'{role}_model']}"
            fig.add_trace(go.Scatter(x=[end["domain_ppl"]], y=[end[y_key]], mode="markers", name=label,
                                     marker=dict(size=14, symbol="diamond", color=colour)))
            fig.add_annotation(x=end["domain_ppl"], y=end[y_key], text=label, showarrow=True, arrowhead=2, ay=-30)
    fig.update_layout(height=420, margin=dict(l=50, r=10, t=30, b=40), legend=dict(orientation="h", y=-0.2),
                      xaxis_title=say("domain perplexity (snapshot validation)"),
                      yaxis_title=say(f"general perplexity ({y_key})"))
    return fig
