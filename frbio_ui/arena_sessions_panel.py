"""The organiser's panel of the Blind A/B tab (in French, as the tab): prepare a voting session for the voting room
(`/vote`): a name, the questions (a file, or one per line) and the models, every pair of which answers each question;
then follow it: each voter's progress and the session's results (win rates per pair, ratings, agreement), shown to
its owner and to admins only, and close it. The logic is backend.generation.sessions."""
from __future__ import annotations

from urllib.parse import quote

import gradio as gr

from backend.generation import sessions
from backend.models.registry import list_models
from backend.studio import Studio
from frbio_core.errors import UserError
from frbio_ui import guard
from frbio_ui.session import acting, current_user

HOW = ("Une **session de vote** est une liste de questions préparée pour la [salle de vote](vote) : chaque "
       "question est posée à chaque paire des modèles choisis, et chaque votant les prend une à une, en grands "
       "caractères (tablette), jusqu'à la page de remerciement. Les réponses sont produites une fois pour tous (au "
       "premier votant qui arrive à la question, ou d'avance : `python -m backend arena session prepare NOM`). Seuls "
       "l'organisateur et les admins voient la progression et les résultats.")
PROGRESS_HEADERS = ["Votant", "Questions répondues", "Sur", "Terminé"]
WIN_HEADERS = ["Modèle 1", "Modèle 2", "Victoires du modèle 1", "Égalités", "Défaites du modèle 1",
               "Les deux mauvaises", "Votes", "Taux de victoire du modèle 1"]
BOARD_HEADERS = ["Modèle", "Score (échelle Elo)", "Intervalle à 95 %", "Votes", "Réponses dangereuses"]


def session_choices(studio: Studio, actor: str) -> list[tuple[str, str]]:
    """The sessions `actor` may follow (their own; every one for an admin), newest first."""
    return [(f"{s['name']} ({'ouverte' if s['status'] == 'open' else 'close'}, {s['questions']} questions)",
             s["name"]) for s in sessions.list_sessions(studio.db, actor=actor, managed=True)]


def report_outputs(report: dict) -> list:
    """The summary line and the three tables of a session's report."""
    s = report["session"]
    kappa = report["agreement"]
    summary = (f"**{s['name']}** — {'ouverte' if s['status'] == 'open' else 'close'}, organisée par "
               f"{s['owner'] or 'l’opérateur'} ; modèles : {', '.join(s['models'])} ; {report['questions']} "
               f"questions ({report['prepared']} avec leurs réponses prêtes) ; {report['votes']} votes, "
               f"{report['dangerous']} réponses signalées dangereuses."
               + (f" Accord entre évaluateurs : κ = {kappa['kappa']:.2f}." if kappa else ""))
    progress = [[p["voter"], p["answered"], p["total"], "oui" if p["done"] else "non"] for p in report["progress"]]
    wins = [[r["model_1"], r["model_2"], r["wins"], r["ties"], r["losses"], r["both_bad"], r["votes"],
             "—" if r["win_rate"] is None else f"{r['win_rate']:.0%}"] for r in report["win_rates"]]
    board = [[r["model"], f"{r['rating']:.0f}", f"[{r['low']:.0f} ; {r['high']:.0f}]", r["votes"],
              f"{r['dangerous']} ({r['dangerous_rate']:.0%})"] for r in report["ratings"]]
    return [summary, progress, wins, board]


def build_sessions_panel(studio: Studio) -> None:
    with gr.Accordion("Sessions de vote (organisateur)", open=False, elem_id="sess-panel"):
        gr.Markdown(HOW)
        with gr.Row():
            with gr.Column(scale=3):
                name = gr.Textbox(label="Nom de la session", max_length=sessions.MAX_NAME, elem_id="sess-name")
                models = gr.CheckboxGroup([m["id"] for m in list_models(studio.db) if m["status"] == "ok"],
                                          label="Modèles comparés (chaque paire)", elem_id="sess-models")
                length = gr.Slider(16, 512, value=128, step=16, label="Longueur maximale des réponses (tokens)",
                                   elem_id="sess-length")
            with gr.Column(scale=3):
                upload = gr.File(label="Fichier de questions (.txt : une par ligne ; .jsonl, .json, .yaml)",
                                 file_types=[".txt", ".jsonl", ".json", ".yaml", ".yml"], type="filepath",
                                 elem_id="sess-file")
                typed = gr.Textbox(label="… ou les questions, une par ligne", lines=5, elem_id="sess-prompts")
        create = gr.Button("Créer la session", variant="primary", elem_id="sess-create")
        msg = gr.Markdown(elem_id="sess-msg")
        with gr.Row(equal_height=True):
            pick = gr.Dropdown([], value=None, label="Mes sessions", scale=3, allow_custom_value=True,
                               elem_id="sess-pick")
            refresh = gr.Button("Actualiser", scale=1, elem_id="sess-refresh")
            show = gr.Button("Progression et résultats", variant="primary", scale=1, elem_id="sess-show")
            close = gr.Button("Clore la session", variant="stop", scale=1, elem_id="sess-close")
        summary = gr.Markdown(elem_id="sess-summary")
        gr.Markdown("#### Progression des votants")
        progress = gr.Dataframe(headers=PROGRESS_HEADERS, interactive=False, elem_id="sess-progress")
        gr.Markdown("#### Résultats par paire de modèles")
        wins = gr.Dataframe(headers=WIN_HEADERS, interactive=False, elem_id="sess-wins")
        gr.Markdown("#### Classement des modèles (Bradley–Terry, votes de la session)")
        board = gr.Dataframe(headers=BOARD_HEADERS, interactive=False, elem_id="sess-board")
    shown = [summary, progress, wins, board]

    def on_create(title, chosen, max_tokens, path, text, request: gr.Request):
        actor = current_user(request)
        try:
            prompts = (sessions.read_prompt_file(path) if path else
                       sessions.parse_prompts(text or "", ".txt"))
            with acting(request):
                session = sessions.create_session(studio.db, title, prompts, chosen or [], owner=actor,
                                                  settings={"max_new_tokens": int(max_tokens)})
        except UserError as exc:
            return f"❌ {exc}", gr.update()
        return (f"✅ Session « {session['name']} » créée. Les votants l'ouvrent dans la [salle de vote]"
                f"(vote?session={quote(session['name'])}).",
                gr.update(choices=session_choices(studio, actor), value=session["name"]))

    def on_show(chosen, request: gr.Request):
        try:
            with acting(request):
                report = sessions.session_report(studio.db, chosen, actor=current_user(request))
        except UserError as exc:
            return [f"❌ {exc}", [], [], []]
        return report_outputs(report)

    def on_close(chosen, request: gr.Request):
        actor = current_user(request)
        try:
            with acting(request):
                sessions.close_session(studio.db, chosen, actor=actor)
                report = sessions.session_report(studio.db, chosen, actor=actor)
        except UserError as exc:
            return [f"❌ {exc}", gr.update(), gr.update(), gr.update(), gr.update()]
        return [f"✅ Session « {chosen} » close : elle ne reçoit plus de votes.", *report_outputs(report)]

    def on_refresh(request: gr.Request):
        return (gr.update(choices=session_choices(studio, current_user(request))),
                gr.update(choices=[m["id"] for m in list_models(studio.db) if m["status"] == "ok"]))

    create.click(guard.user(on_create), [name, models, length, upload, typed], [msg, pick])
    show.click(guard.owner(on_show, target=0, kind="arena_session"), [pick], shown)
    close.click(guard.owner(on_close, target=0, kind="arena_session"), [pick], [msg, *shown])
    refresh.click(guard.read(on_refresh), None, [pick, models], show_progress="hidden")
    gr.on(None, guard.read(on_refresh), None, [pick, models], show_progress="hidden")
