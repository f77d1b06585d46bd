"""Reproduce tab: the paper's question end to end as one guided study — corpus snapshot → DAPT → SLERP sweep → saved
merges → benchmarks and perplexities → report. The form is StudyConfig's (a budget preset fills every field, stated
on screen); each stage is a real job shown with its progress; the DAPT curves are live; the trade-off figure, the
results table and the findings come from the study's report; every artefact is listed with its id. Handlers call
backend.study and format."""
from __future__ import annotations

import gradio as gr
import pandas as pd

from backend.corpus.catalogue import list_sources
from backend.models.registry import list_models
from backend.study import view
from backend.study.config import SWEEP_GRID, StudyConfig, parse_study_config, study_benchmarks, with_budget
from backend.study.figures import tradeoff_figure
from backend.study.job import STUDY
from backend.study.state import get_job, load_study
from backend.studio import Studio
from jobs import views as job_views
from frbio_core.errors import UserError
from frbio_core.translations import translated
from frbio_ui import downloads
from frbio_ui import guard
from frbio_ui.forms import build_form
from frbio_ui.presets_bar import presets_bar
from frbio_ui.i18n import add_strings, tr
from frbio_ui.jobs_panel import curves_figure
from frbio_ui.launch import Follower, wire_launch
from frbio_ui.polling import poll
from frbio_ui.session import acting, current_user, viewer_language
from frbio_ui.i18n_tables import columns

POLL_S = 2.0
MAIN_FIELDS = ("name", "budget", "base_model", "sources", "license_mode", "benchmarks", "best_by")

add_strings({
    "tab.reproduce": "Reproduce the paper",
    "rep.intro": ("### Is biomedical specialisation worth it?\nThe PARTAGES paper (Mannion et al., LREC 2026) asks "
                  "whether continued pre-training on French health text (**DAPT**) pays, and whether **merging** the "
                  "DAPT model back with its base (SLERP) recovers what DAPT costs on general text. This page runs "
                  "the whole study on your model: a corpus snapshot, DAPT, a SLERP sweep between base and DAPT, "
                  "then benchmarks and perplexities of the base, the DAPT model, t = 0.5 and the best sweep point. "
                  "Each step is a real background job: you can close the page and come back."),
    "rep.advanced": "Sizes (filled by the budget; change any)", "rep.start": "Start the study",
    "rep.studies": "Studies", "rep.refresh": "Refresh", "rep.cancel": "Cancel study", "rep.resume": "Resume study",
    "rep.stages": "Stages", "rep.curves": "DAPT training curves (live)", "rep.results": "Results",
    "rep.artefacts": "Artefacts (every number links to one)", "rep.report": "Report (HTML and JSON)",
    "rep.download": "Download the report", "rep.waiting": "The results appear when the report is written.",
}, {
    "tab.reproduce": "Reproduire l'article",
    "rep.intro": ("### La spécialisation biomédicale vaut-elle la peine ?\nL'article PARTAGES (Mannion et al., LREC "
                  "2026) se demande si poursuivre le pré-entraînement sur des textes de santé en français (**DAPT**) "
                  "est payant, et si **fusionner** le modèle DAPT avec son modèle de base (SLERP) rattrape ce que le "
                  "DAPT fait perdre sur le texte général. Cette page mène toute l'étude sur votre modèle : un "
                  "instantané du corpus, le DAPT, un balayage SLERP entre base et DAPT, puis les tests et les "
                  "perplexités du modèle de base, du modèle DAPT, de t = 0,5 et du meilleur point. Chaque étape est "
                  "une vraie tâche de fond : vous pouvez fermer la page et revenir."),
    "rep.advanced": "Tailles (remplies par le budget ; modifiables)", "rep.start": "Lancer l'étude",
    "rep.studies": "Études", "rep.refresh": "Actualiser", "rep.cancel": "Annuler l'étude",
    "rep.resume": "Reprendre l'étude", "rep.stages": "Étapes", "rep.curves": "Courbes d'entraînement DAPT (en direct)",
    "rep.results": "Résultats", "rep.artefacts": "Artefacts (chaque chiffre renvoie à l'un d'eux)",
    "rep.report": "Rapport (HTML et JSON)", "rep.download": "Télécharger le rapport",
    "rep.waiting": "Les résultats apparaissent quand le rapport est écrit.",
})


def _choices(studio: Studio) -> dict[str, list]:
    return {"base_model": [m["id"] for m in list_models(studio.db) if m["status"] == "ok"],
            "sources": [s["name"] for s in list_sources(studio.db, "domain")],
            "benchmarks": study_benchmarks(studio.settings), "sweep_grid": list(SWEEP_GRID)}


def _frame(rows: list[list], headers: list[str], lang: str = "en") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns(headers, lang))


def build_reproduce_tab(studio: Studio):
    gr.Markdown(tr("rep.intro"))
    choices = _choices(studio)
    start_cfg = StudyConfig().resolve()
    with gr.Row():
        with gr.Column(scale=3):
            form = build_form(StudyConfig, values=start_cfg, choices=choices,
                              skip=[f for f in StudyConfig.model_fields if f not in MAIN_FIELDS])
            with gr.Accordion(tr("rep.advanced"), open=False):
                build_form(StudyConfig, values=start_cfg, choices=choices, skip=MAIN_FIELDS, _form=form)
        with gr.Column(scale=2):
            budget_md = gr.Markdown(view.budget_markdown(start_cfg, studio.db, studio.settings), elem_id="rep-budget")
            start_btn = gr.Button(tr("rep.start"), variant="primary", elem_id="rep-start")
            start_msg = gr.Markdown(elem_id="rep-start-msg")
            follow = Follower(studio, "rep", visible=False)   # the stages table below shows the parts
            presets_bar(studio, STUDY, form.inputs, lambda *values: form.to_dict(values), form.updates)
    gr.Markdown("### " + tr("rep.studies"))
    with gr.Row():
        pick = gr.Dropdown(view.study_choices(studio.db), label=tr("rep.studies"), scale=4, elem_id="rep-pick",
                           allow_custom_value=True)
        cancel_btn = gr.Button(tr("rep.cancel"), variant="stop", scale=1, elem_id="rep-cancel")
        resume_btn = gr.Button(tr("rep.resume"), scale=1, elem_id="rep-resume")
    status_md = gr.Markdown(elem_id="rep-status")
    stages = gr.Dataframe(headers=view.STAGE_HEADERS, interactive=False, wrap=True, label=tr("rep.stages"),
                          elem_id="rep-stages")
    with gr.Row():
        curves = gr.Plot(label=tr("rep.curves"), elem_id="rep-curves")
        figure = gr.Plot(show_label=False, elem_id="rep-tradeoff")
    results = gr.Dataframe(interactive=False, wrap=True, label=tr("rep.results"), elem_id="rep-results",
                           visible=False)      # until the report is written (an empty table shows "1 2 3")
    findings = gr.Markdown(tr("rep.waiting"), elem_id="rep-findings")
    artefacts = gr.Dataframe(headers=view.ARTEFACT_HEADERS, interactive=False, wrap=True, label=tr("rep.artefacts"),
                             elem_id="rep-artefacts")
    with gr.Row():
        download_btn = gr.Button(tr("rep.download"), elem_id="rep-download", scale=1)
        files = gr.File(label=tr("rep.report"), file_count="multiple", interactive=False, elem_id="rep-files",
                        scale=3)
    shown_rev = gr.State(None)      # (study id, rev) last drawn: the figure and tables are redrawn only on change
    timer = gr.Timer(POLL_S)

    def on_budget(request: gr.Request, budget, *values):
        """A budget fills every size field with its preset values (what is shown is what runs)."""
        try:
            cfg = parse_study_config(with_budget(form.to_dict(values), budget)).resolve()
        except UserError as exc:
            return [f"❌ {translated(exc, viewer_language(studio, request))}"] + [gr.update()] * len(form.inputs)
        return [view.budget_markdown(cfg, studio.db, studio.settings, viewer_language(studio, request))] \
            + form.updates(cfg)

    def on_change(request: gr.Request, *values):
        try:
            return view.budget_markdown(parse_study_config(form.to_dict(values)), studio.db, studio.settings,
                                        viewer_language(studio, request))
        except UserError as exc:
            return f"❌ {translated(exc, viewer_language(studio, request))}"

    def refresh(study_id, last, request: gr.Request = None):
        lang = viewer_language(studio, request)
        try:
            row = load_study(studio.db, studio.settings, study_id) if study_id else None
        except UserError as exc:
            return [f"❌ {translated(exc, lang)}"] + [gr.update()] * 8 + [last]
        if row is None:   # nothing to draw: send nothing unless the list of studies changed (one started elsewhere)
            rev = ["none", *view.study_choices(studio.db, lang=lang)]
            if rev == last:
                return [gr.update()] * 9 + [last]
        else:
            rev = [row["id"], row["rev"]]
        stage_rows = _frame(view.stages_table(studio.db, row, lang), view.STAGE_HEADERS, lang)
        job = view.training_job(row)
        training = row is not None and row["stage"] == "train" and row["status"] == "running"
        wanted = job_views.curves_of("train")
        live = curves_figure(job_views.metric_series(studio.home, job, wanted), wanted, lang) if job else None
        if rev == last and row is not None:     # nothing new: only the status, stages and live curves move
            return [view.status_markdown(row, lang), stage_rows, live if training else gr.update()] + [gr.update()] * 6 \
                + [last]
        headers, rows, found = view.results_view(row, lang)
        figure_value = tradeoff_figure((row or {}).get("artefacts", {}).get("sweep"),
                                       (row or {}).get("artefacts", {}).get("best_t"), lang=lang) if row else None
        return [view.status_markdown(row, lang), stage_rows, live, figure_value,
                gr.update(value=_frame(rows, headers), visible=True) if headers else gr.update(visible=False),
                "\n".join(f"- {f}" for f in found) if found else tr("rep.waiting"),
                _frame(view.artefact_rows(row, lang), view.ARTEFACT_HEADERS, lang),
                gr.update(choices=view.study_choices(studio.db, lang=lang)), gr.update(), rev]

    def act(action, study_id, request: gr.Request):
        lang = viewer_language(studio, request)
        if not study_id:
            return translated("Choose a study first.", lang)
        try:
            get_job(studio.db, study_id)
            with acting(request):
                (studio.scheduler.cancel if action == "cancel" else studio.scheduler.resume)(
                    study_id, by=current_user(request))
        except UserError as exc:
            return f"❌ {translated(exc, lang)}"
        if action == "cancel":
            return translated(f"{study_id}: cancelled (resumable).", lang)
        return translated(f"{study_id}: resumed.", lang)

    def on_download(study_id, request: gr.Request):
        lang = viewer_language(studio, request)
        try:
            paths = view.report_files(load_study(studio.db, studio.settings, study_id)) if study_id else []
            if not paths:
                gr.Warning(translated("This study has no report yet.", lang))
                return None
            return downloads.offer(studio.home, paths)
        except (UserError, downloads.DownloadError) as exc:
            gr.Warning(translated(exc, lang))
            return None

    def on_load(request: gr.Request = None):
        c = _choices(studio)
        lang = viewer_language(studio, request)
        # the budget text was built in English: redrawn only for another language (a budget chosen in the first
        # second would otherwise be overwritten by the default one)
        budget = gr.update() if lang == "en" else view.budget_markdown(start_cfg, studio.db, studio.settings, lang)
        return (gr.update(choices=c["base_model"]), gr.update(choices=c["sources"]),
                gr.update(choices=view.study_choices(studio.db, lang=lang)), budget)

    outputs = [status_md, stages, curves, figure, results, findings, artefacts, pick, files, shown_rev]
    form.component("budget").change(guard.read(on_budget), [form.component("budget")] + form.inputs, [budget_md] + form.inputs)
    for comp in form.inputs:
        if comp is not form.component("budget"):
            comp.input(guard.read(on_change), form.inputs, [budget_md], show_progress="hidden")
    wire_launch(studio, STUDY, start_btn, form.inputs, lambda *values: form.to_dict(values), follow, start_msg,
                launched="✅ **{ids}** started: its stages run as background jobs and appear below.",
                extra_outputs=[pick], on_launched=lambda ids, *v: [
                    gr.update(choices=view.study_choices(studio.db), value=ids[0] if ids else None)])
    pick.change(guard.read(refresh), [pick, gr.State(None)], outputs, show_progress="hidden")
    poll(timer.tick, refresh, [pick, shown_rev], outputs)
    def on_cancel(study_id, request: gr.Request):
        return act("cancel", study_id, request)

    def on_resume(study_id, request: gr.Request):
        return act("resume", study_id, request)

    cancel_btn.click(guard.owner(on_cancel, target=0, kind="study"), [pick], [start_msg]).then(refresh, [pick, gr.State(None)], outputs)
    resume_btn.click(guard.owner(on_resume, target=0, kind="study"), [pick], [start_msg]).then(refresh, [pick, gr.State(None)], outputs)
    download_btn.click(guard.read(on_download), [pick], [files])
    gr.on(None, guard.read(on_load), None, [form.component("base_model"), form.component("sources"), pick, budget_md],
          show_progress="hidden")
