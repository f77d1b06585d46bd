"""Compare tab: 2–N registered models (the first is the reference) on chosen benchmarks; cached results shown at
once, missing ones launched as eval jobs (the `compare` action) and followed; the table with changes and standard errors, the
bars and the domain-vs-general perplexity scatter, the per-item drill-down, HTML/CSV export, and adding a custom
multiple-choice benchmark. Handlers call backend.evaluation and format; the settings form is CompareConfig's."""
from __future__ import annotations

import gradio as gr
import pandas as pd

from backend.corpus.snapshot import list_snapshots
from backend.evaluation import charts, report
from backend.evaluation.compare import collect, drill_down, drill_table, verdict_table, wide_table
from backend.evaluation.config import EvalError, default_tasks
from backend.evaluation.custom import add_benchmark
from backend.evaluation.job import COMPARE, CompareConfig
from backend.evaluation.tasks import PERPLEXITY, all_tasks
from backend.models.registry import list_models
from backend.studio import Studio
from frbio_core.translations import translated
from frbio_ui import downloads
from frbio_ui import guard
from frbio_ui.forms import build_form
from frbio_ui.i18n import add_strings, tr
from frbio_ui.launch import Follower, wire_launch
from frbio_ui.session import acting, current_user, viewer_language

add_strings({
    "tab.compare": "Compare", "cmp.models": "Models to compare (the first one is the reference, e.g. the base)",
    "cmp.tasks": "Benchmarks", "cmp.settings": "Evaluation settings", "cmp.run": "Compare",
    "cmp.results": "Results", "cmp.verdicts": "Is each difference real? (paired tests, Holm-corrected)",
    "cmp.items": "Per-item answers", "cmp.item_task": "Benchmark",
    "cmp.disagree": "Only items where the models disagree", "cmp.show_items": "Show items",
    "cmp.export": "Export", "cmp.export_button": "HTML report and CSV", "cmp.files": "Files",
    "cmp.custom": "Add your own multiple-choice benchmark", "cmp.custom_file": "Benchmark file (.jsonl)",
    "cmp.custom_name": "Name", "cmp.custom_domain": "Domain (chooses the few-shot count)",
    "cmp.custom_language": "Language of the questions", "cmp.custom_add": "Add benchmark",
    "cmp.cached": "Every result comes from the cache.",
    "cmp.scoring": ("**How scores are computed.** Multiple-choice benchmarks: the answer the model finds most likely "
                    "(accuracy). FrenchMedMCQA, all items: the model *writes* its answer letters (generative, as in "
                    "the paper); **EMR** counts questions whose set of letters is exactly right, the **Hamming "
                    "score** gives partial credit (correct letters ÷ letters in either set). Perplexity: lower is "
                    "better. Δ is the change from the first model, with its 95 % paired interval and p after Holm's "
                    "correction; ▲ better and ▼ worse mark only significant differences; ± is the standard error."),
    "cmp.schema": ("One JSON object per line: `{\"question\": \"…\", \"choices\": {\"A\": \"…\", \"B\": \"…\"}, "
                   "\"answer\": \"B\"}` — `choices` may also be a list (labelled A, B, …); optional `id`; items "
                   "with `\"split\": \"train\"` are the worked examples shown before each question."),
}, {
    "tab.compare": "Comparer", "cmp.models": "Modèles à comparer (le premier sert de référence, p. ex. le modèle de base)",
    "cmp.tasks": "Tests", "cmp.settings": "Réglages de l'évaluation", "cmp.run": "Comparer",
    "cmp.results": "Résultats",
    "cmp.verdicts": "Chaque écart est-il réel ? (tests appariés, correction de Holm)", "cmp.items": "Réponses question par question", "cmp.item_task": "Test",
    "cmp.disagree": "Seulement les questions où les modèles ne sont pas d'accord", "cmp.show_items": "Afficher",
    "cmp.export": "Exporter", "cmp.export_button": "Rapport HTML et CSV", "cmp.files": "Fichiers",
    "cmp.custom": "Ajouter votre propre QCM", "cmp.custom_file": "Fichier du QCM (.jsonl)", "cmp.custom_name": "Nom",
    "cmp.custom_domain": "Domaine (fixe le nombre d'exemples)", "cmp.custom_language": "Langue des questions",
    "cmp.custom_add": "Ajouter le QCM", "cmp.cached": "Tous les résultats viennent du cache.",
    "cmp.scoring": ("**Calcul des scores.** QCM : la réponse que le modèle juge la plus probable (taux de bonnes "
                    "réponses). FrenchMedMCQA, toutes les questions : le modèle *écrit* les lettres de sa réponse "
                    "(génération, comme dans l'article) ; l'**EMR** compte les questions dont l'ensemble de lettres "
                    "est exactement juste, le **score de Hamming** donne un crédit partiel (lettres justes ÷ lettres "
                    "présentes dans l'une ou l'autre réponse). Perplexité : plus bas, c'est mieux. Δ est l'écart au "
                    "premier modèle, avec son intervalle apparié à 95 % et p après correction de Holm ; ▲ mieux et ▼ moins "
                    "bien ne marquent que les écarts significatifs ; ± est l'erreur type."),
    "cmp.schema": ("Un objet JSON par ligne : `{\"question\": \"…\", \"choices\": {\"A\": \"…\", \"B\": \"…\"}, "
                   "\"answer\": \"B\"}` — `choices` peut aussi être une liste (étiquetée A, B, …) ; `id` facultatif ; "
                   "les questions marquées `\"split\": \"train\"` servent d'exemples résolus avant chaque question."),
})


def model_choices(studio: Studio) -> list[str]:
    return [m["id"] for m in list_models(studio.db) if m["status"] == "ok"]


def task_choices(studio: Studio, lang: str = "en") -> list[tuple[str, str]]:
    """(title in `lang`, name) of every benchmark."""
    return [((spec.title_fr or spec.title) if lang == "fr" else spec.title, name)
            for name, spec in all_tasks(studio.settings).items()]


def snapshot_choices(studio: Studio) -> list[str]:
    return [""] + [s["id"] for s in list_snapshots(studio.db)]


def build_compare_tab(studio: Studio):
    with gr.Row():
        with gr.Column(scale=3):
            models = gr.Dropdown(model_choices(studio), multiselect=True, label=tr("cmp.models"),
                                 elem_id="cmp-models")
            tasks = gr.CheckboxGroup(task_choices(studio), value=default_tasks(studio.settings), label=tr("cmp.tasks"),
                                     elem_id="cmp-tasks")
            with gr.Accordion(tr("cmp.settings"), open=False):
                form = build_form(CompareConfig, skip=("model", "tasks", "models"), choices={"snapshot": snapshot_choices(studio)})
        with gr.Column(scale=2):
            run_btn = gr.Button(tr("cmp.run"), variant="primary", elem_id="cmp-run")
            status = gr.Markdown(elem_id="cmp-status")
            follow = Follower(studio, "cmp")
            gr.Markdown(tr("cmp.scoring"))
    # hidden until there is something to show (an empty gradio table shows placeholder headers "1 2 3")
    table = gr.Dataframe(interactive=False, wrap=True, elem_id="cmp-table", label=tr("cmp.results"), visible=False)
    verdicts = gr.Dataframe(interactive=False, wrap=True, elem_id="cmp-verdicts", label=tr("cmp.verdicts"),
                            visible=False)
    with gr.Row():
        bars = gr.Plot(elem_id="cmp-bars", show_label=False)
        tradeoff = gr.Plot(elem_id="cmp-tradeoff", show_label=False)
    with gr.Accordion(tr("cmp.items"), open=False):
        with gr.Row():
            item_task = gr.Dropdown([], label=tr("cmp.item_task"), elem_id="cmp-item-task", scale=3)
            disagree = gr.Checkbox(value=False, label=tr("cmp.disagree"), elem_id="cmp-disagree", scale=2)
            items_btn = gr.Button(tr("cmp.show_items"), scale=1, elem_id="cmp-show-items")
        items = gr.Dataframe(interactive=False, wrap=True, elem_id="cmp-items", visible=False)
    with gr.Accordion(tr("cmp.export"), open=False):
        export_btn = gr.Button(tr("cmp.export_button"), elem_id="cmp-export")
        files = gr.File(label=tr("cmp.files"), file_count="multiple", interactive=False, elem_id="cmp-files")
    with gr.Accordion(tr("cmp.custom"), open=False):
        gr.Markdown(tr("cmp.schema"))
        with gr.Row():
            upload = gr.File(label=tr("cmp.custom_file"), file_types=[".jsonl"], type="filepath",
                             elem_id="cmp-upload")
            with gr.Column():
                custom_name = gr.Textbox(label=tr("cmp.custom_name"), elem_id="cmp-custom-name")
                domain = gr.Radio(["medical", "general"], value="medical", label=tr("cmp.custom_domain"))
                language = gr.Radio(["fr", "en"], value="fr", label=tr("cmp.custom_language"))
        add_btn = gr.Button(tr("cmp.custom_add"), elem_id="cmp-custom-add")
        add_msg = gr.Markdown(elem_id="cmp-custom-msg")
    def config(model_ids, task_names, *values) -> dict:
        return {**form.to_dict(values), "models": model_ids or [], "tasks": task_names or []}

    def comparison(model_ids, task_names, values):
        cfg = COMPARE.parse(config(model_ids, task_names, *values))
        return collect(studio.db, studio.settings, cfg.models, cfg.eval_config(), clean=cfg.clean_only)

    def view(comp, language: str = "en") -> list:
        headers, rows = wide_table(comp)
        v_headers, v_rows = verdict_table(comp, language)
        has_ppl = any(t.name == PERPLEXITY for t in comp.tasks)
        drill = [(t.title, t.name) for t in comp.tasks if t.name != PERPLEXITY]
        return [gr.update(value=pd.DataFrame(rows, columns=headers), visible=True),
                gr.update(value=pd.DataFrame(v_rows, columns=v_headers), visible=bool(v_rows)),
                charts.bars(comp, lang=language),
                gr.update(value=charts.tradeoff(comp, lang=language), visible=has_ppl),
                gr.update(choices=drill, value=drill[0][1] if drill else None)]

    def on_view(*values):
        """The table as far as the cache goes (cells still computing say 'pending')."""
        language = viewer_language(studio, None)
        try:
            return view(comparison(values[0], values[1], values[2:]), language)
        except EvalError as exc:
            gr.Warning(translated(exc, language))
            return [gr.update()] * 5

    def on_items(model_ids, task_names, task, only_disagree, request: gr.Request, *values):
        try:
            comp = comparison(model_ids, task_names, values)
        except EvalError as exc:
            gr.Warning(translated(exc, viewer_language(studio, request)))
            return gr.update(visible=False)
        if not task:
            return gr.update(visible=False)
        headers, rows = drill_table(comp, drill_down(studio.db, comp, task, disagree_only=only_disagree))
        return gr.update(value=pd.DataFrame(rows, columns=headers), visible=True)

    def on_export(model_ids, task_names, request: gr.Request, *values):
        try:
            comp = comparison(model_ids, task_names, values)
            paths = report.export(studio.db, comp, studio.settings.folder("reports"))
            return downloads.offer(studio.home, [paths["html"], paths["csv"]])
        except (EvalError, downloads.DownloadError) as exc:
            gr.Warning(translated(exc, viewer_language(studio, request)))
            return None

    def on_add(path, name, dom, lang, request: gr.Request):
        page = viewer_language(studio, request)     # `lang` is the language of the benchmark's questions
        if not path:
            return translated("❌ Choose a .jsonl file first.", page), gr.update()
        try:
            with acting(request):
                meta = add_benchmark(studio.settings, path, name, dom, lang, owner=current_user(request), db=studio.db)
        except EvalError as exc:
            return f"❌ {translated(exc, page)}", gr.update()
        return (translated(f"✅ **{meta['title']}**: {meta['n_items']} questions, {meta['n_fewshot_items']} worked "
                           f"examples (task `{meta['task']}`).", page), gr.update(choices=task_choices(studio, page)))

    def on_load(request: gr.Request):
        return (gr.update(choices=model_choices(studio)),
                gr.update(choices=task_choices(studio, viewer_language(studio, request))),
                gr.update(choices=snapshot_choices(studio)))

    common = [models, tasks] + form.inputs
    view_outputs = [table, verdicts, bars, tradeoff, item_task]
    wire_launch(studio, COMPARE, run_btn, common, config, follow, status, summarize=False,
                extra_outputs=view_outputs, on_launched=lambda ids, *values: on_view(*values) if ids else
                [gr.update()] * len(view_outputs))
    follow.on_done(lambda ids, *values: on_view(*values), common, view_outputs)
    items_btn.click(guard.read(on_items), [models, tasks, item_task, disagree] + form.inputs, [items])
    export_btn.click(guard.user(on_export), common, [files])
    add_btn.click(guard.user(on_add), [upload, custom_name, domain, language], [add_msg, tasks])
    gr.on(None, guard.read(on_load), None, [models, tasks, form.component("snapshot")], show_progress="hidden")
