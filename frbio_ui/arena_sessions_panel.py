"""The organiser's panel of the Blind A/B tab (in the interface's language, as the tab): prepare a voting session for the voting room
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
from frbio_core.translations import translated
from frbio_ui import guard
from frbio_ui.arena_words import SESSION_WORDS as W, WIN_HEADERS, frame
from frbio_ui.i18n import tr
from frbio_ui.session import acting, current_user, viewer_language


def session_choices(studio: Studio, actor: str, lang: str = "fr") -> list[tuple[str, str]]:
    """The sessions `actor` may follow (their own; every one for an admin), newest first."""
    return [(f"{s['name']} ({W[lang][s['status'] == 'open']}, {s['questions']} questions)",
             s["name"]) for s in sessions.list_sessions(studio.db, actor=actor, managed=True)]


def report_outputs(report: dict, lang: str = "fr") -> list:
    """The summary line and the three tables of a session's report."""
    s = report["session"]
    kappa = report["agreement"]
    summary = W[lang]["summary"].format(
        name=s["name"], status=W[lang][s["status"] == "open"], owner=s["owner"] or W[lang]["operator"],
        models=", ".join(s["models"]), questions=report["questions"], prepared=report["prepared"],
        votes=report["votes"], dangerous=report["dangerous"]) \
        + (W[lang]["kappa"].format(k=kappa["kappa"]) if kappa else "")
    progress = [[p["voter"], p["answered"], p["total"], W[lang]["yes" if p["done"] else "no"]]
                for p in report["progress"]]
    wins = [[r["model_1"], r["model_2"], r["wins"], r["ties"], r["losses"], r["both_bad"], r["votes"],
             "—" if r["win_rate"] is None else f"{r['win_rate']:.0%}"] for r in report["win_rates"]]
    board = [[r["model"], f"{r['rating']:.0f}", f"[{r['low']:.0f} ; {r['high']:.0f}]", r["votes"],
              f"{r['dangerous']} ({r['dangerous_rate']:.0%})"] for r in report["ratings"]]
    return [summary, frame(progress, W[lang]["progress_headers"]), frame(wins, WIN_HEADERS[lang]),
            frame(board, W[lang]["board_headers"])]


def build_sessions_panel(studio: Studio) -> None:
    with gr.Accordion(tr("sess.panel"), open=False, elem_id="sess-panel"):
        gr.Markdown(tr("sess.how"))
        with gr.Row():
            with gr.Column(scale=3):
                name = gr.Textbox(label=tr("sess.name"), max_length=sessions.MAX_NAME, elem_id="sess-name")
                models = gr.CheckboxGroup([m["id"] for m in list_models(studio.db) if m["status"] == "ok"],
                                          label=tr("sess.models"), elem_id="sess-models")
                length = gr.Slider(16, 512, value=128, step=16, label=tr("arena.length"),
                                   elem_id="sess-length")
            with gr.Column(scale=3):
                upload = gr.File(label=tr("sess.file"),
                                 file_types=[".txt", ".jsonl", ".json", ".yaml", ".yml"], type="filepath",
                                 elem_id="sess-file")
                typed = gr.Textbox(label=tr("sess.typed"), lines=5, elem_id="sess-prompts")
        create = gr.Button(tr("sess.create"), variant="primary", elem_id="sess-create")
        msg = gr.Markdown(elem_id="sess-msg")
        with gr.Row(equal_height=True):
            pick = gr.Dropdown([], value=None, label=tr("sess.mine"), scale=3, allow_custom_value=True,
                               elem_id="sess-pick")
            refresh = gr.Button(tr("sess.refresh"), scale=1, elem_id="sess-refresh")
            show = gr.Button(tr("sess.show"), variant="primary", scale=1, elem_id="sess-show")
            close = gr.Button(tr("sess.close"), variant="stop", scale=1, elem_id="sess-close")
        summary = gr.Markdown(elem_id="sess-summary")
        gr.Markdown(tr("sess.progress"))
        progress = gr.Dataframe(headers=W["en"]["progress_headers"], interactive=False, elem_id="sess-progress")
        gr.Markdown(tr("sess.wins"))
        wins = gr.Dataframe(headers=WIN_HEADERS["en"], interactive=False, elem_id="sess-wins")
        gr.Markdown(tr("sess.board"))
        board = gr.Dataframe(headers=W["en"]["board_headers"], interactive=False, elem_id="sess-board")
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
            return f"❌ {translated(exc, viewer_language(studio, request))}", gr.update()
        lang = viewer_language(studio, request)
        return (W[lang]["created"].format(name=session["name"], link=f"vote?session={quote(session['name'])}"),
                gr.update(choices=session_choices(studio, actor, lang), value=session["name"]))

    def on_show(chosen, request: gr.Request):
        try:
            with acting(request):
                report = sessions.session_report(studio.db, chosen, actor=current_user(request))
        except UserError as exc:
            return [f"❌ {translated(exc, viewer_language(studio, request))}", [], [], []]
        return report_outputs(report, viewer_language(studio, request))

    def on_close(chosen, request: gr.Request):
        actor = current_user(request)
        try:
            with acting(request):
                sessions.close_session(studio.db, chosen, actor=actor)
                report = sessions.session_report(studio.db, chosen, actor=actor)
        except UserError as exc:
            return [f"❌ {translated(exc, viewer_language(studio, request))}", gr.update(), gr.update(), gr.update(),
                    gr.update()]
        lang = viewer_language(studio, request)
        return [W[lang]["closed"].format(name=chosen), *report_outputs(report, lang)]

    def on_refresh(request: gr.Request):
        return (gr.update(choices=session_choices(studio, current_user(request), viewer_language(studio, request))),
                gr.update(choices=[m["id"] for m in list_models(studio.db) if m["status"] == "ok"]))

    def on_load(request: gr.Request):
        lang = viewer_language(studio, request)
        return (*on_refresh(request), frame([], W[lang]["progress_headers"]), frame([], WIN_HEADERS[lang]),
                frame([], W[lang]["board_headers"]))

    create.click(guard.user(on_create), [name, models, length, upload, typed], [msg, pick])
    show.click(guard.owner(on_show, target=0, kind="arena_session"), [pick], shown)
    close.click(guard.owner(on_close, target=0, kind="arena_session"), [pick], [msg, *shown])
    refresh.click(guard.read(on_refresh), None, [pick, models], show_progress="hidden")
    gr.on(None, guard.read(on_load), None, [pick, models, progress, wins, board], show_progress="hidden")
