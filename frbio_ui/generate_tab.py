"""Generate tab: one prompt to 2–4 models side by side, each pane filling as its tokens arrive; the settings form is
generated from GenerateConfig (presets fill it), French clinical prompt presets, Stop, and what is loaded in memory."""
from __future__ import annotations

import gradio as gr

from backend.generation.config import PRESETS, GenerateConfig, GenerationError, parse_generate_config
from backend.generation.models_cache import shared_cache, unload_all
from backend.generation.presets import load_prompts
from backend.generation.stream import MAX_PANES, PaneState, end_run, new_run, side_by_side, stop_run
from backend.models.registry import list_models
from backend.studio import Studio
from frbio_ui import guard
from frbio_ui.forms import build_form
from frbio_ui.i18n import add_strings, tr
from frbio_ui.session import acting, current_user, viewer_language
from frbio_core.errors import UserError
from frbio_core.translations import translated

add_strings({
    "tab.generate": "Generate", "gen.models": "Models (2 to 4)", "gen.prompt_preset": "French clinical prompt",
    "gen.prompt": "Prompt", "gen.generate": "Generate", "gen.stop": "Stop", "gen.sampling_preset": "Settings preset",
    "gen.settings": "Generation settings", "gen.loaded": "Loaded models", "gen.unload": "Unload all",
    "gen.preset.fair": "Fair comparison (greedy)", "gen.preset.balanced": "Balanced sampling",
    "gen.preset.creative": "Creative sampling",
}, {
    "tab.generate": "Génération", "gen.models": "Modèles (2 à 4)", "gen.prompt_preset": "Exemple clinique en français",
    "gen.prompt": "Texte d'entrée", "gen.generate": "Générer", "gen.stop": "Arrêter",
    "gen.sampling_preset": "Préréglage", "gen.settings": "Réglages de génération", "gen.loaded": "Modèles chargés",
    "gen.unload": "Tout décharger", "gen.preset.fair": "Comparaison équitable (glouton)",
    "gen.preset.balanced": "Échantillonnage modéré", "gen.preset.creative": "Échantillonnage libre",
})

STATUS = {"waiting": "⏳", "loading": "⏳ loading", "generating": "✍️", "done": "✅", "stopped": "⏹ stopped",
          "error": "❌"}


def model_choices(studio: Studio) -> list[str]:
    return [m["id"] for m in list_models(studio.db) if m["status"] == "ok"]


def pane_label(p: PaneState, lang: str = "en") -> str:
    shape = {"chat": translated("chat template", lang), "raw": translated("raw completion", lang)}
    parts = [p.model, shape.get(p.format or "", ""), translated(STATUS[p.status], lang)]
    if p.new_tokens:
        parts.append(f"{p.new_tokens} tokens")
    if p.tokens_per_s:
        parts.append(f"{p.tokens_per_s:.1f} tok/s")
    if p.ttft_s is not None:
        parts.append(translated(f"first token {p.ttft_s:.2f} s", lang))
    return " · ".join(x for x in parts if x)


def pane_text(p: PaneState, lang: str = "en") -> str:
    if p.status == "error":
        return f"❌ {translated(p.error, lang)}"
    return p.text + (f"\n\n[{translated(p.note, lang)}]" if p.note else "")


def loaded_markdown(studio: Studio) -> str:
    """What the model cache holds, most recently used first, against its budget."""
    cache = shared_cache(studio.settings)
    items = " · ".join(f"`{m['model']}` {m['mb']:,.1f} MB" + (" ✍️" if m["in_use"] else "") for m in cache.loaded())
    return f"{cache.used / 2**20:,.0f} / {cache.budget / 2**20:,.0f} MB — {items or '∅'}"


def build_generate_tab(studio: Studio):
    prompts = load_prompts()
    with gr.Row():
        with gr.Column(scale=3):
            models = gr.CheckboxGroup(model_choices(studio), label=tr("gen.models"), elem_id="gen-models")
            preset_prompt = gr.Dropdown([(p["title"], p["id"]) for p in prompts], value=None,
                                        label=tr("gen.prompt_preset"), elem_id="gen-prompt-preset")
            prompt = gr.Textbox(lines=4, label=tr("gen.prompt"), elem_id="gen-prompt")
            with gr.Row():
                go_btn = gr.Button(tr("gen.generate"), variant="primary", elem_id="gen-go")
                stop_btn = gr.Button(tr("gen.stop"), variant="stop", elem_id="gen-stop")
            msg = gr.Markdown(elem_id="gen-msg")
        with gr.Column(scale=2):
            preset = gr.Radio([(tr(f"gen.preset.{key}"), key) for key in PRESETS], value="fair",
                              label=tr("gen.sampling_preset"), elem_id="gen-preset")
            with gr.Accordion(tr("gen.settings"), open=False):
                form = build_form(GenerateConfig, values=GenerateConfig())
            gr.Markdown(tr("gen.loaded"))
            with gr.Row():
                loaded = gr.Markdown(loaded_markdown(studio), elem_id="gen-loaded")
                unload_btn = gr.Button(tr("gen.unload"), size="sm", scale=0)
    with gr.Row(equal_height=True):
        panes = [gr.Textbox(label=f"{i + 1}", lines=14, max_lines=30, interactive=False, visible=i < 2,
                            elem_id=f"gen-pane-{i}", autoscroll=True) for i in range(MAX_PANES)]
    run_state = gr.State(None)

    def show_panes(chosen):
        n = max(2, min(MAX_PANES, len(chosen or [])))
        return [gr.update(visible=i < n, label=(chosen[i] if chosen and i < len(chosen) else str(i + 1)))
                for i in range(MAX_PANES)]

    def on_preset(key, *values):
        try:
            return form.updates(parse_generate_config(form.to_dict(values), preset=key))
        except GenerationError:
            return form.updates(parse_generate_config({}, preset=key))

    def on_prompt_preset(key):
        return next((p["text"] for p in prompts if p["id"] == key), gr.update())

    def on_generate(chosen, text, request: gr.Request, *values):
        lang = viewer_language(studio, request)
        keep = [gr.update()] * MAX_PANES
        try:
            cfg = parse_generate_config(form.to_dict(values))
            if len(chosen or []) < 2:
                raise GenerationError("choose 2 to 4 models to compare")
        except GenerationError as exc:
            yield None, f"❌ {translated(exc, lang)}", *keep, gr.update()
            return
        run_id, stop = new_run()
        last, message = keep, ""
        try:
            for states in side_by_side(studio.db, shared_cache(studio.settings), chosen, text, cfg, stop):
                last = [gr.update(value=pane_text(p, lang), label=pane_label(p, lang), visible=True) for p in states]
                last += [gr.update(visible=False)] * (MAX_PANES - len(states))
                yield run_id, "", *last, gr.update()
        except GenerationError as exc:
            message = f"❌ {translated(exc, lang)}"
        finally:
            end_run(run_id)
        # The last message repeats the panes' final values: the browser applies the updates that reach it within
        # one frame as one, so a closing no-op update sent right after the last tokens would hide them.
        yield None, message, *last, loaded_markdown(studio)

    def on_stop(run_id, request: gr.Request):
        return translated("⏹ stopping…", viewer_language(studio, request)) if stop_run(run_id) else ""

    def on_unload(request: gr.Request):
        try:
            with acting(request):
                unload_all(studio.db, shared_cache(studio.settings), current_user(request))
        except UserError as exc:
            return f"❌ {translated(exc, viewer_language(studio, request))}\n\n" + loaded_markdown(studio)
        return loaded_markdown(studio)

    def on_load():
        return gr.update(choices=model_choices(studio)), loaded_markdown(studio)

    models.change(guard.read(show_panes), [models], panes, show_progress="hidden")
    preset.change(guard.read(on_preset), [preset] + form.inputs, form.inputs, show_progress="hidden")
    preset_prompt.change(guard.read(on_prompt_preset), [preset_prompt], [prompt], show_progress="hidden")
    go_btn.click(guard.user(on_generate), [models, prompt] + form.inputs, [run_state, msg] + panes + [loaded],
                 show_progress="hidden")
    stop_btn.click(guard.user(on_stop), [run_state], [msg], show_progress="hidden")    # the caller's own run
    unload_btn.click(guard.admin(on_unload), None, [loaded], show_progress="hidden")   # everyone's loaded models
    gr.on(None, guard.read(on_load), None, [models, loaded], show_progress="hidden")

