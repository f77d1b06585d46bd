"""Assemble the tabs into one Blocks app."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from frbio_core import translations

from backend.studio import Studio
from frbio_ui.arena_tab import build_arena_tab
from frbio_ui.compare_tab import build_compare_tab
from frbio_ui.corpus_tab import build_corpus_tab
from frbio_ui.generate_tab import build_generate_tab
from frbio_ui.jobs_panel import build_jobs_panel
from frbio_ui.merge_tab import build_merge_tab
from frbio_ui.models_tab import build_models_tab
from frbio_ui.reproduce_tab import build_reproduce_tab
from frbio_ui.train_tab import build_train_tab
from frbio_ui.vote_page import build_vote_page
from frbio_ui import guard
from frbio_ui.i18n import I18N, language_js, language_switch, tr

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def build_app(studio: Studio) -> gr.Blocks:
    translations.load("frbio_ui")     # the French of the sentences the handlers write (the backend's: backend.studio)
    with gr.Blocks(title="FrBio Studio") as demo:
        gr.Navbar(visible="hidden")   # no bar of pages: the voting room below is reached by its address
        with gr.Column(elem_id="frbio-header"):
            gr.Markdown("# FrBio Studio")
            gr.Markdown(tr("app.tagline"))
            language_switch()
        with gr.Tabs():
            with gr.Tab(tr("tab.reproduce"), id="reproduce"):   # the demo shown first: every piece, end to end
                build_reproduce_tab(studio)
            with gr.Tab(tr("tab.corpus"), id="corpus"):
                corpus_load = build_corpus_tab(studio)
            with gr.Tab(tr("tab.train", "Train"), id="train"):
                build_train_tab(studio)
            with gr.Tab(tr("tab.merge", "Merge"), id="merge"):
                build_merge_tab(studio)
            with gr.Tab(tr("tab.models", "Models"), id="models"):
                build_models_tab(studio)
            with gr.Tab(tr("tab.compare", "Compare"), id="compare"):
                build_compare_tab(studio)
            with gr.Tab(tr("tab.generate", "Generate"), id="generate"):
                build_generate_tab(studio)
            with gr.Tab(tr("tab.arena"), id="arena"):
                build_arena_tab(studio)
            with gr.Tab(tr("tab.jobs", "Jobs"), id="jobs"):
                build_jobs_panel(studio)
        demo.load(guard.read(corpus_load[0]), *corpus_load[1:], show_progress="hidden")
    with demo.route("Vote", "/vote", show_in_navbar=False):   # the clinicians' voting room: the same app and login
        gr.Navbar(visible="hidden")
        build_vote_page(studio)
    return demo


def launch_kwargs(studio: Studio) -> dict:
    """Security: no folder is served by path (downloads go through frbio_ui.downloads.offer: artefact folders under
    frbio_home only), the registry and uploads are blocked outright, uploads are capped, monitoring, MCP and
    telemetry are off (GRADIO_ANALYTICS_ENABLED=False is set by app.py before gradio is imported)."""
    settings, home = studio.settings, studio.settings.home_path
    blocked = [str(settings.db_path) + suffix for suffix in ("", "-wal", "-shm")] + [str(home / "uploads")]
    return {
        "server_name": settings.host, "server_port": settings.port, "i18n": I18N,
        "css_paths": [ASSETS / "style.css"], "theme": gr.themes.Soft(primary_hue="teal"),
        "js": language_js(settings.language),
        "allowed_paths": [], "blocked_paths": blocked,
        "max_file_size": f"{settings.max_upload_mb}mb", "show_error": True,
        "enable_monitoring": False, "mcp_server": False, "ssr_mode": False,
    }
