"""Merge tab: base and DAPT models from the registry, a method (mergekit's registry), its parameter form generated
from mergekit's specs (sliders for 0–1 parameters), the compatibility check, the in-memory preview (base | DAPT |
merged generated side by side from one prompt, recomputed when a slider is released), "Save merged model" as a
job, and the t-sweep with its domain-vs-general chart. Handlers call backend.merge and format; the preview state
lives in backend.merge.preview.

gradio 6's gr.Plot has no click event, so a sweep point is chosen from the list under the chart (it sets the
slider and recomputes the preview)."""
from __future__ import annotations

import gradio as gr

from backend.corpus.snapshot import list_snapshots
from backend.merge.compat import check_registered
from backend.merge.config import MergeConfig
from backend.merge.job import MERGE, SWEEP
from backend.merge.figures import sweep_figure
from backend.merge.methods import MergeError, SCHEDULE_SUFFIXES, methods
from backend.merge.preview import preview_and_generate
from backend.merge.sweep import DEFAULT_GRID, load_sweep
from backend.models.registry import list_models
from backend.studio import Studio
from frbio_core.translations import translated
from frbio_ui import guard
from frbio_ui.forms import Form, build_form, field_label
from frbio_ui.presets_bar import presets_bar
from frbio_ui.i18n import add_strings, tr
from frbio_ui.jobs_panel import build_jobs_panel
from frbio_ui.launch import Follower, wire_launch
from frbio_ui.polling import poll
from frbio_ui.i18n_tables import word
from frbio_ui.session import viewer_language

def _register_strings() -> None:
    en = {"tab.merge": "Merge", "merge.base": "Base model", "merge.dapt": "DAPT model", "merge.method": "Merge method",
          "merge.parameters": "Parameters", "merge.schedules": "Advanced: per-layer schedules",
          "merge.seed": "Seed (random methods: DARE, DELLA)", "merge.prompt_preset": "French clinical prompt",
          "merge.prompt": "Prompt", "merge.max_new_tokens": "New tokens", "merge.greedy": "Greedy (same text each time)",
          "merge.preview": "Preview", "merge.out_base": "Base model", "merge.out_dapt": "DAPT model",
          "merge.out_merged": "Merged model (preview)", "merge.output_name": "Name of the merged model (optional)",
          "merge.save": "Save merged model", "merge.saves": "Merge jobs", "merge.sweep": "t-sweep: domain vs general",
          "merge.snapshot": "Snapshot for the perplexities (empty: the DAPT model's)",
          "merge.grid": "Values to try", "merge.sweep_run": "Run the sweep", "merge.sweeps": "Sweep jobs",
          "merge.sweep_chart": "Domain vs general perplexity", "merge.sweep_points": "Sweep points (choose one to "
          "set the slider)"}
    fr = {"tab.merge": "Fusion", "merge.base": "Modèle de base", "merge.dapt": "Modèle DAPT",
          "merge.method": "Méthode de fusion", "merge.parameters": "Paramètres",
          "merge.schedules": "Avancé : valeurs par couche", "merge.seed": "Graine (méthodes aléatoires : DARE, DELLA)",
          "merge.prompt_preset": "Exemple clinique en français", "merge.prompt": "Texte d'entrée",
          "merge.max_new_tokens": "Nouveaux tokens", "merge.greedy": "Glouton (même texte à chaque fois)",
          "merge.preview": "Aperçu", "merge.out_base": "Modèle de base", "merge.out_dapt": "Modèle DAPT",
          "merge.out_merged": "Modèle fusionné (aperçu)", "merge.output_name": "Nom du modèle fusionné (facultatif)",
          "merge.save": "Enregistrer le modèle fusionné", "merge.saves": "Tâches de fusion",
          "merge.sweep": "Balayage de t : domaine contre général",
          "merge.snapshot": "Instantané pour les perplexités (vide : celui du modèle DAPT)",
          "merge.grid": "Valeurs à essayer", "merge.sweep_run": "Lancer le balayage",
          "merge.sweeps": "Tâches de balayage", "merge.sweep_chart": "Perplexité du domaine contre perplexité générale",
          "merge.sweep_points": "Points du balayage (en choisir un règle le curseur)"}
    add_strings(en, fr)   # the parameters' labels are on their fields (backend.merge.methods.KNOWN)


_register_strings()


def _model_choices(studio: Studio) -> tuple[list[str], str | None, str | None]:
    rows = [m for m in list_models(studio.db) if m["status"] == "ok"]
    ids = [m["id"] for m in rows]
    base = next((m["id"] for m in rows if m["kind"] == "base"), ids[0] if ids else None)
    dapt = next((m["id"] for m in reversed(rows) if m["kind"] == "dapt"), None)
    return ids, base, dapt


def _method_form(info) -> Form:
    schedules = [f"{info.main}_{s}" for s in SCHEDULE_SUFFIXES] if info.main else []
    text_box = {name: (lambda form, n=name: gr.Textbox(
        label=field_label(info.config, n), placeholder="0, 0.5, 1", value="")) for name in schedules}
    form = build_form(info.config, skip=schedules)
    if schedules:
        with gr.Accordion(tr("merge.schedules"), open=False):
            build_form(info.config, skip=[f for f in info.config.model_fields if f not in schedules],
                       custom=text_box, _form=form)
    return form


def sweep_choices(result: dict, lang: str = "en") -> list[tuple[str, float]]:
    y_key, main = result["general_metric"], result["main"]
    domain, general = word("domain", lang), word("general", lang)
    return [(f"{main} = {p['value']:g} · {domain} {p['domain_ppl']:.2f} · {general} {p[y_key]:.2f}"
             + (" · ★ Pareto" if p.get("pareto") else ""), p["value"]) for p in result["points"]]


def build_merge_tab(studio: Studio):
    ids, base_default, dapt_default = _model_choices(studio)
    offered = methods()
    with gr.Row():
        base = gr.Dropdown(ids, value=base_default, label=tr("merge.base"), elem_id="merge-base",
                           allow_custom_value=True)
        dapt = gr.Dropdown(ids, value=dapt_default, label=tr("merge.dapt"), elem_id="merge-dapt",
                           allow_custom_value=True)
        method = gr.Dropdown([(i.title, n) for n, i in offered.items()], value="slerp", label=tr("merge.method"),
                             elem_id="merge-method")
    compat = gr.Markdown(elem_id="merge-compat")
    forms: dict[str, Form] = {}
    groups = []
    with gr.Row():
        with gr.Column(scale=2):
            for name, info in offered.items():
                with gr.Group(visible=name == "slerp") as group:
                    forms[name] = _method_form(info)
                groups.append(group)
            seed = gr.Number(0, precision=0, minimum=0, label=tr("merge.seed"), elem_id="merge-seed")
        with gr.Column(scale=3):
            prompts = _completion_prompts()
            preset = gr.Dropdown([(p["title"], p["text"]) for p in prompts], label=tr("merge.prompt_preset"),
                                 value=prompts[0]["text"] if prompts else None)
            prompt = gr.Textbox(prompts[0]["text"] if prompts else "", lines=3, label=tr("merge.prompt"),
                                elem_id="merge-prompt")
            with gr.Row():
                max_new = gr.Slider(8, 200, value=40, step=1, label=tr("merge.max_new_tokens"))
                greedy = gr.Checkbox(True, label=tr("merge.greedy"))
                preview_btn = gr.Button(tr("merge.preview"), variant="primary", elem_id="merge-preview")
    timing = gr.Markdown(elem_id="merge-timing")
    with gr.Row():
        outputs = [gr.Textbox(label=tr(f"merge.out_{w}"), lines=8, interactive=False, elem_id=f"merge-out-{w}")
                   for w in ("base", "dapt", "merged")]
    with gr.Row():
        output_name = gr.Textbox(label=tr("merge.output_name"), elem_id="merge-output-name", scale=3)
        save_btn = gr.Button(tr("merge.save"), variant="primary", elem_id="merge-save", scale=1)
    save_msg = gr.Markdown(elem_id="merge-save-msg")
    save_follow = Follower(studio, "merge-save")
    presets_bar(studio, MERGE, [base, dapt, method, seed, output_name] + [i for f in forms.values() for i in f.inputs],
                lambda b, d, m, s, name, *values: {**merge_config(b, d, m, s, values), "output_name": name or ""},
                lambda data: merge_values(data))
    gr.Markdown("#### " + tr("merge.saves"))
    save_pick = build_jobs_panel(studio, kind="merge")
    with gr.Accordion(tr("merge.sweep"), open=False):
        with gr.Row():
            snapshot = gr.Dropdown([""] + [s["id"] for s in list_snapshots(studio.db)], value="",
                                   label=tr("merge.snapshot"), allow_custom_value=True, elem_id="merge-snapshot")
            grid = gr.Textbox(", ".join(f"{v:g}" for v in DEFAULT_GRID), label=tr("merge.grid"),
                              elem_id="merge-grid")
            sweep_btn = gr.Button(tr("merge.sweep_run"), elem_id="merge-sweep-run")
        sweep_msg = gr.Markdown(elem_id="merge-sweep-msg")
        sweep_follow = Follower(studio, "merge-sweep")
        chart = gr.Plot(label=tr("merge.sweep_chart"), elem_id="merge-sweep-plot")
        points = gr.Radio([], label=tr("merge.sweep_points"), elem_id="merge-sweep-points")
        sweep_state = gr.State(None)
        gr.Markdown("#### " + tr("merge.sweeps"))
        sweep_pick = build_jobs_panel(studio, kind="merge_sweep")

    all_inputs = [i for f in forms.values() for i in f.inputs]
    offsets, start = {}, 0
    for name, form in forms.items():
        offsets[name] = (start, start + len(form.inputs))
        start += len(form.inputs)
    main_sliders = {n: forms[n].component(i.main) for n, i in offered.items() if i.main}

    def parameters(name: str, values) -> dict:
        lo, hi = offsets[name]
        return forms[name].to_dict(values[lo:hi])

    def merge_config(b, d, m, s, values) -> dict:
        return {"base_model": b or "", "dapt_model": d or "", "method": m, "seed": int(s or 0),
                "parameters": parameters(m, values)}

    def merge_values(data: dict) -> list:
        """The form showing a merge config (a preset's, a run's): the head fields, then the chosen method's form."""
        out = [gr.update(value=data.get(k)) for k in ("base_model", "dapt_model", "method")]
        out += [gr.update(value=data.get("seed") or 0), gr.update(value=data.get("output_name") or "")]
        for name, form in forms.items():
            out += (form.updates(data.get("parameters") or {}) if name == data.get("method")
                    else [gr.update()] * len(form.inputs))
        return out

    def on_models(b, d, request: gr.Request):
        if not b or not d:
            return ""
        lang = viewer_language(studio, request)
        result = check_registered(studio.db, b, d)
        return (("✅ " if result.ok else "❌ ") + translated(result.message, lang)
                + "".join(f"\n\n⚠️ {translated(w, lang)}" for w in result.warnings))

    def on_method(m):
        return [gr.update(visible=n == m) for n in forms]

    def on_preview(b, d, m, s, text, n_tokens, greedy_, request: gr.Request, *values):
        lang = viewer_language(studio, request)
        try:
            config = MergeConfig.model_validate(merge_config(b, d, m, s, values))
            out = preview_and_generate(studio.db, config.base_model, config.dapt_model, config.method,
                                       config.parameters, config.seed, text, int(n_tokens), bool(greedy_))
        except (MergeError, ValueError) as exc:
            return [f"❌ {_one_line(exc, lang)}"] + [gr.update()] * 3
        t = out["timings"]
        note = translated(f"⚡ weights ready in **{t['weights_s']:.2f} s** ({t['tensors']} tensors) · first token of "
                          f"the merged model in {out['merged']['first_token_s']:.2f} s · {out['merged']['total_s']:.2f}"
                          f" s for {out['merged']['tokens']} tokens", lang)
        return [note] + [out[w]["text"] for w in ("base", "dapt", "merged")]

    def on_sweep_job(job_id, shown, request: gr.Request | None = None):   # the follower calls it without a request
        result = load_sweep(studio.db, job_id) if job_id else None
        if result is None or shown == job_id:
            return gr.update(), gr.update(), shown
        lang = viewer_language(studio, request)
        choices = sweep_choices(result, lang)
        return sweep_figure(result, lang), gr.update(choices=choices, value=None), job_id

    def on_point(job_id, value):
        result = load_sweep(studio.db, job_id) if job_id else None
        if result is None or value is None:
            return [gr.update()] * (4 + len(main_sliders))
        updates = [gr.update(value=value) if n == result["method"] else gr.update() for n in main_sliders]
        return [result["base_model"], result["dapt_model"], result["method"],
                gr.update(value=result.get("seed", 0))] + updates

    head = [base, dapt, method, seed]
    preview_inputs = head + [prompt, max_new, greedy] + all_inputs
    preview_outputs = [timing] + outputs
    gr.on([base.change, dapt.change], guard.read(on_models), [base, dapt], [compat], show_progress="hidden",
          trigger_mode="always_last")   # one queue for both: an older check never overwrites a newer one
    method.change(guard.read(on_method), [method], groups)
    preset.change(guard.read(lambda text: text), [preset], [prompt])
    triggers = [preview_btn.click]
    for component in all_inputs:      # a slider released, a switch flipped: the preview recomputes
        if isinstance(component, gr.Slider):
            triggers.append(component.release)
        elif isinstance(component, gr.Checkbox):
            triggers.append(component.input)
    gr.on(triggers, guard.read(on_preview), preview_inputs, preview_outputs, trigger_mode="always_last")
    wire_launch(studio, MERGE, save_btn, head + [output_name] + all_inputs,
                lambda b, d, m, s, name, *values: {**merge_config(b, d, m, s, values), "output_name": name or ""},
                save_follow, save_msg, extra_outputs=[save_pick], on_launched=lambda ids, *v: [gr.update(value=ids[0])])
    wire_launch(studio, SWEEP, sweep_btn, head + [snapshot, grid] + all_inputs,
                lambda b, d, m, s, snap, grid_text, *values: {**merge_config(b, d, m, s, values),
                                                              "snapshot": snap or "", "grid": grid_text},
                sweep_follow, sweep_msg, extra_outputs=[sweep_pick],
                on_launched=lambda ids, *v: [gr.update(value=ids[0])])
    sweep_outputs = [chart, points, sweep_state]
    poll(sweep_pick.change, on_sweep_job, [sweep_pick, sweep_state], sweep_outputs)
    sweep_follow.on_done(lambda ids, job_id, shown: on_sweep_job(job_id, shown), [sweep_pick, sweep_state],
                         sweep_outputs)
    points.input(guard.read(on_point), [sweep_pick, points], head + list(main_sliders.values())).then(
        on_method, [method], groups).then(on_preview, preview_inputs, preview_outputs)

    def on_load():
        choices, b, d = _model_choices(studio)
        snaps = [""] + [s["id"] for s in list_snapshots(studio.db)]
        return gr.update(choices=choices), gr.update(choices=choices), gr.update(choices=snaps)

    gr.on(None, guard.read(on_load), None, [base, dapt, snapshot], show_progress="hidden")


def _completion_prompts() -> list[dict]:
    """The prompt presets, texts to continue first (base and DAPT models continue text; they are not chat models)."""
    try:
        from backend.generation.presets import load_prompts

        prompts = load_prompts()
    except Exception:  # noqa: BLE001 — no presets: an empty prompt box
        return []
    return sorted(prompts, key=lambda p: p.get("style") != "completion")


def _one_line(exc: Exception, lang: str = "en") -> str:
    text = translated(exc, lang).strip()
    return text.splitlines()[0] if text else type(exc).__name__
