"""A form's saved presets (backend.presets), the same bar under the Train, Corpus recipe, Merge and Reproduce forms:
load one of yours, save the form as a new one, start from one of your runs, and compare the form with the run it
came from (the changed fields highlighted). `to_data(*values)` reads the form, `from_data(config)` fills it."""
from __future__ import annotations

import html
import json
from typing import Any, Callable, Sequence

import gradio as gr

from backend.actions import Action
from backend.presets import compare_with_run, get, names, runs_for, save
from frbio_core.errors import UserError
from frbio_core.translations import translated
from frbio_ui import guard
from frbio_ui.i18n import add_strings, tr
from frbio_ui.session import acting, current_user, viewer_language
from jobs import store

add_strings({
    "presets.title": "Presets", "presets.mine": "My presets", "presets.load": "Load",
    "presets.name": "Save the form as", "presets.save": "Save as preset",
    "presets.replace": "Replace my preset of that name", "presets.run": "Start from one of my runs",
    "presets.use_run": "Use this run's settings", "presets.compare": "Compare with the run it came from",
}, {
    "presets.title": "Préréglages", "presets.mine": "Mes préréglages", "presets.load": "Charger",
    "presets.name": "Enregistrer le formulaire sous", "presets.save": "Enregistrer le préréglage",
    "presets.replace": "Remplacer mon préréglage de même nom", "presets.run": "Partir d'une de mes exécutions",
    "presets.use_run": "Reprendre les réglages de cette exécution",
    "presets.compare": "Comparer avec l'exécution d'origine",
})
WORDS = {"en": {"field": "field", "run": "the run", "form": "this form", "same": "Same settings as {run}.",
                "none": "Load a preset saved from a run, or a run's settings, first: nothing to compare with.",
                "loaded": "Loaded preset '{name}'", "saved": "Saved preset '{name}'", "from": " (from {run})",
                "used": "Settings of {run} loaded"},
         "fr": {"field": "champ", "run": "l'exécution", "form": "ce formulaire", "same": "Mêmes réglages que {run}.",
                "none": "Chargez d'abord un préréglage enregistré depuis une exécution, ou les réglages d'une "
                        "exécution : rien à comparer.",
                "loaded": "Préréglage « {name} » chargé", "saved": "Préréglage « {name} » enregistré",
                "from": " (depuis {run})", "used": "Réglages de {run} chargés"}}


def _value(v: Any) -> str:
    return html.escape(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))


def diff_html(changed: list[dict], run_id: str, lang: str) -> str:
    """The fields the form changes from the run: one row each, the run's value struck and the form's highlighted."""
    w = WORDS[lang]
    if not changed:
        return f"<p class='preset-same'>{html.escape(w['same'].format(run=run_id))}</p>"
    rows = "".join(f"<tr class='preset-changed'><td><code>{html.escape(c['field'])}</code></td>"
                   f"<td><del>{_value(c['other'])}</del></td><td><mark>{_value(c['value'])}</mark></td></tr>"
                   for c in changed)
    return (f"<table class='preset-diff'><thead><tr><th>{w['field']}</th><th>{w['run']} {html.escape(run_id)}</th>"
            f"<th>{w['form']}</th></tr></thead><tbody>{rows}</tbody></table>")


def presets_bar(studio, action: Action, inputs: Sequence, to_data: Callable[..., Any],
                from_data: Callable[[dict], list]) -> None:
    """The bar (an accordion, closed) in the current layout, wired to the form `inputs`."""
    db = studio.db
    with gr.Accordion(tr("presets.title"), open=False, elem_id=f"presets-{action.name}"):
        source = gr.State(None)      # the run the form's settings came from
        with gr.Row(equal_height=True):
            pick = gr.Dropdown(label=tr("presets.mine"), choices=[], scale=3, elem_id=f"preset-pick-{action.name}")
            load_btn = gr.Button(tr("presets.load"), scale=1)
        with gr.Row(equal_height=True):
            name = gr.Textbox(label=tr("presets.name"), scale=3, elem_id=f"preset-name-{action.name}")
            replace = gr.Checkbox(label=tr("presets.replace"), value=False, scale=1)
            save_btn = gr.Button(tr("presets.save"), scale=1, elem_id=f"preset-save-{action.name}")
        with gr.Row(equal_height=True):
            run = gr.Dropdown(label=tr("presets.run"), choices=[], scale=3, elem_id=f"preset-run-{action.name}")
            run_btn = gr.Button(tr("presets.use_run"), scale=1)
        compare_btn = gr.Button(tr("presets.compare"), elem_id=f"preset-compare-{action.name}")
        message = gr.Markdown(elem_id=f"preset-msg-{action.name}")
        diff = gr.HTML(elem_id=f"preset-diff-{action.name}")

    def on_load_page(request: gr.Request):
        me = current_user(request)
        return gr.update(choices=names(db, me, action.name)), gr.update(choices=runs_for(db, action, me))

    def on_load(request: gr.Request, chosen):
        lang = viewer_language(studio, request)
        w = WORDS[lang]
        try:
            preset = get(db, action.name, chosen or "", current_user(request))
            data = action.parse(preset["config"]).model_dump(mode="json")
        except UserError as exc:
            return [f"❌ {translated(exc, lang)}", gr.update(), ""] + [gr.update()] * len(inputs)
        text = w["loaded"].format(name=preset["name"]) + (w["from"].format(run=preset["source_job"])
                                                           if preset["source_job"] else "")
        return [f"✅ {text}", preset["source_job"], ""] + list(from_data(data))

    def on_save(request: gr.Request, new_name, replace_it, came_from, *values):
        me = current_user(request)
        try:
            with acting(request):
                preset = save(db, me, action, new_name, to_data(*values), source_job=came_from,
                              replace=bool(replace_it))
        except UserError as exc:
            return f"❌ {translated(exc, viewer_language(studio, request))}", gr.update()
        return f"✅ {WORDS[viewer_language(studio, request)]['saved'].format(name=preset['name'])}", \
            gr.update(choices=names(db, me, action.name), value=preset["name"])

    def on_run(request: gr.Request, job_id):
        row = store.find(db, job_id) if job_id in runs_for(db, action, current_user(request)) else None
        if row is None:
            return ["", gr.update(), ""] + [gr.update()] * len(inputs)
        data = action.parse(row["config"]).model_dump(mode="json")
        return [f"✅ {WORDS[viewer_language(studio, request)]['used'].format(run=job_id)}", job_id, ""] + \
            list(from_data(data))

    def on_compare(request: gr.Request, came_from, *values):
        lang = viewer_language(studio, request)
        if not came_from:
            return f"ℹ️ {WORDS[lang]['none']}", ""
        try:
            run_row, changed = compare_with_run(db, action, {"name": "", "source_job": came_from}, to_data(*values))
        except UserError as exc:
            return f"❌ {translated(exc, lang)}", ""
        return "", diff_html(changed, run_row["id"], lang)

    gr.on(None, guard.read(on_load_page), None, [pick, run], show_progress="hidden")
    load_btn.click(guard.read(on_load), [pick], [message, source, diff, *inputs])
    save_btn.click(guard.user(on_save), [name, replace, source, *inputs], [message, pick])
    run_btn.click(guard.read(on_run), [run], [message, source, diff, *inputs])
    compare_btn.click(guard.read(on_compare), [source, *inputs], [message, diff])

