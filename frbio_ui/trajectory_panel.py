"""The Train tab's trajectory panel: for the training run selected in the runs panel, evaluate every point (base,
each kept checkpoint, the trained model) on the chosen benchmarks as eval jobs (the `eval` action with `run`), then
the scores against the training step and the domain-against-general trade-off (backend.evaluation.trajectory and
charts). Shown again at any time from the cache; asking again during a run evaluates the checkpoints written since."""
from __future__ import annotations

import gradio as gr
import pandas as pd

from backend.evaluation import charts
from backend.evaluation.config import EvalConfig, EvalError
from backend.evaluation.job import EVAL
from backend.evaluation.tasks import all_tasks
from backend.evaluation.trajectory import table, trajectory
from backend.studio import Studio
from frbio_core.translations import translated
from frbio_ui import guard
from frbio_ui.forms import field_label
from frbio_ui.i18n import add_strings, tr
from frbio_ui.launch import Follower, wire_launch
from frbio_ui.session import viewer_language

DEFAULT = ["frbio_frenchmedmcqa_single", "frbio_sib200_fr"]
add_strings({}, {
    "traj.title": "Trajectoire : les tests au fil de l'entraînement",
    "traj.help": ("Gardez des points de contrôle comme modèles (*Garder un point de contrôle comme modèle tous les N "
                  "pas*), puis évaluez l'entraînement choisi : le modèle de base (pas 0), chaque point de contrôle "
                  "gardé et le modèle entraîné, avec les mêmes réglages ; l'écart de chaque point au modèle de base "
                  "vient avec son intervalle apparié à 95 % (marqueurs pleins : significatif après Holm)."),
    "traj.tasks": "Tests", "traj.limit": "Questions par test (vide : toutes)",
    "traj.evaluate": "Évaluer la trajectoire", "traj.show": "Afficher la trajectoire",
    "traj.pick": "Choisissez un entraînement dans la liste ci-dessus.", "traj.pending": "Pas encore évalués : "})


def build_trajectory_panel(studio: Studio, run_pick) -> None:
    """`run_pick`: the runs panel's job dropdown (the run whose trajectory is shown)."""
    choices = [(spec.title, name) for name, spec in all_tasks(studio.settings).items()]
    names = {name for _, name in choices}
    with gr.Accordion(tr("traj.title", "Trajectory: the benchmarks along the run"), open=False,
                      elem_id="traj-accordion"):
        gr.Markdown(tr("traj.help", "Keep checkpoints as models (*Keep a checkpoint as a model every N steps*), then "
                                    "evaluate the selected run: the base (step 0), each kept checkpoint and the "
                                    "trained model, with the same settings; each point's difference from the base "
                                    "comes with its paired 95 % interval (filled markers: significant after Holm)."))
        with gr.Row():
            tasks = gr.CheckboxGroup(choices, value=[n for n in DEFAULT if n in names], scale=3,
                                     label=tr("traj.tasks", "Benchmarks"), elem_id="traj-tasks")
            limit = gr.Number(None, precision=0, minimum=1, scale=1, elem_id="traj-limit",
                              label=tr("traj.limit", "Items per benchmark (empty: all)"))
        follow_box = gr.Checkbox(False, elem_id="traj-follow", label=field_label(EvalConfig, "follow"))
        with gr.Row():
            evaluate_btn = gr.Button(tr("traj.evaluate", "Evaluate the trajectory"), variant="primary",
                                     elem_id="traj-evaluate")
            show_btn = gr.Button(tr("traj.show", "Show the trajectory"), elem_id="traj-show")
        msg = gr.Markdown(elem_id="traj-msg")
        follow = Follower(studio, "traj")
        chart = gr.Plot(elem_id="traj-chart", show_label=False)
        tradeoff = gr.Plot(elem_id="traj-tradeoff", show_label=False)
        grid = gr.Dataframe(interactive=False, wrap=True, elem_id="traj-table", visible=False)   # until shown

    def data(run, task_names, n, follows=False) -> dict:
        return {"run": run or "", "tasks": task_names or [], "limit": int(n) if n else None, "follow": bool(follows)}

    def on_show(run, task_names, n, request: gr.Request | None = None):   # the follower calls it without a request
        lang = viewer_language(studio, request)
        if not run:
            return ("❌ " + tr("traj.pick", "Select a training run in the list above."), None, None,
                    gr.update(visible=False))
        try:
            cfg = EVAL.parse({**data(run, task_names, n), "run": "", "follow": False})   # every point's settings
            traj = trajectory(studio.db, studio.settings, run, cfg)
        except EvalError as exc:
            return f"❌ {translated(exc, lang)}", None, None, gr.update(visible=False)
        headers, rows = table(traj)
        pending = (" " + tr("traj.pending", "Not evaluated yet: ") + ", ".join(traj["pending"])
                   if traj["pending"] else "")
        steps = ", ".join(str(p["step"]) for p in traj["points"])
        said = translated(f"**{run}**: {len(traj['points'])} points (steps {steps}).", lang)
        return (said + pending, charts.trajectory(traj, lang=lang), charts.trajectory_tradeoff(traj, lang=lang),
                gr.update(value=pd.DataFrame(rows, columns=headers), visible=True))

    wire_launch(studio, EVAL, evaluate_btn, [run_pick, tasks, limit, follow_box], data, follow, msg, summarize=False)
    follow.on_done(lambda ids, *values: on_show(*values), [run_pick, tasks, limit], [msg, chart, tradeoff, grid])

    def on_load(request: gr.Request):   # the benchmarks' titles in the page's language
        fr = viewer_language(studio, request) == "fr"
        return gr.update(choices=[((spec.title_fr or spec.title) if fr else spec.title, name)
                                  for name, spec in all_tasks(studio.settings).items()])
    gr.on(None, guard.read(on_load), None, [tasks], show_progress="hidden")
    show_btn.click(guard.read(on_show), [run_pick, tasks, limit], [msg, chart, tradeoff, grid])

