"""Plotly figures for the UI (presentation only: data comes computed from backend)."""
from __future__ import annotations

import plotly.graph_objects as go

COMMERCIAL, RESEARCH = "#2a9d8f", "#e76f51"


def tokens_per_source(per_source: dict[str, dict], commercial: dict[str, bool], title: str) -> go.Figure:
    names = sorted(per_source, key=lambda n: -per_source[n]["tokens"])
    fig = go.Figure(go.Bar(
        x=names, y=[per_source[n]["tokens"] for n in names],
        marker_color=[COMMERCIAL if commercial.get(n, True) else RESEARCH for n in names],
        hovertemplate="%{x}: %{y:,} tokens<extra></extra>"))
    fig.update_layout(title=title, yaxis_title="tokens", height=320, margin=dict(l=40, r=10, t=40, b=80))
    return fig


def length_histogram(lengths: dict[str, list[int]], title: str) -> go.Figure:
    fig = go.Figure()
    for source in sorted(lengths):
        fig.add_trace(go.Histogram(x=lengths[source], name=source, nbinsx=40, opacity=0.75))
    fig.update_layout(title=title, barmode="stack", xaxis_title="words per document", yaxis_title="documents",
                      height=320, margin=dict(l=40, r=10, t=40, b=40))
    return fig
