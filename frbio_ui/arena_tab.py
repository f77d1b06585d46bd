"""Blind A/B tab, in the interface's language (clinicians vote in French in their own room, /vote): two anonymous
answers to one question,
a vote, the names revealed after it, and the win rates per model pair. The interface only holds the round id; the
names stay on the server (backend.generation.arena) until the vote."""
from __future__ import annotations

import gradio as gr

from backend.generation import arena
from backend.generation.arena import ArenaError
from backend.generation.config import PRESETS, GenerationError, parse_generate_config
from backend.generation.models_cache import shared_cache
from backend.generation.presets import load_prompts
from backend.models.registry import list_models
from backend.studio import Studio
from frbio_core.translations import translated
from frbio_ui import guard
from frbio_ui.arena_sessions_panel import build_sessions_panel
from frbio_ui.arena_words import (BOARD_HEADERS, BUTTONS, CRITERIA_EN, SAY, SETTINGS, WIN_HEADERS, frame,
                                  labelled)
from frbio_ui.i18n import tr
from frbio_ui.session import acting, current_user, viewer_language


def board_rows(studio: Studio, lang: str = "fr") -> tuple[list[list], str]:
    """The leaderboard (Bradley–Terry, bootstrap intervals) and a line on rater agreement."""
    from backend.generation.ratings import agreement, leaderboard

    votes = arena.voted_rounds(studio.db)
    rows = [[r["model"], f"{r['rating']:.0f}", f"[{r['low']:.0f} ; {r['high']:.0f}]", r["votes"],
             f"{r['wins']} / {r['ties']} / {r['losses']}", f"{r['dangerous']} ({r['dangerous_rate']:.0%})"]
            for r in leaderboard(votes, rounds=500)]
    kappa = agreement(votes)
    say = SAY[lang]
    note = (say["kappa"].format(k=kappa["kappa"], method="Cohen" if "Cohen" in kappa["method"] else "Fleiss",
                                items=kappa["items"]) if kappa else say["no_kappa"])
    return rows, say["board_note"].format(n=len(votes), note=note)


def win_rows(studio: Studio) -> list[list]:
    return [[r["model_1"], r["model_2"], r["wins"], r["ties"], r["losses"], r["both_bad"], r["votes"],
             "—" if r["win_rate"] is None else f"{r['win_rate']:.0%}"] for r in arena.win_rates(studio.db)]


def reveal_markdown(revealed: dict, lang: str = "fr") -> str:
    vote = revealed["vote_label"] if lang == "fr" else BUTTONS["en"].get(revealed.get("vote"), revealed["vote_label"])
    return SAY[lang]["reveal"].format(vote=vote, a=revealed["model_a"], b=revealed["model_b"])


def build_arena_tab(studio: Studio):
    prompts = load_prompts()
    gr.Markdown(tr("arena.title"))
    gr.Markdown(tr("arena.notice"), elem_id="arena-notice")
    gr.Markdown(tr("arena.how"))
    with gr.Row():
        with gr.Column(scale=3):
            pool = gr.CheckboxGroup([m["id"] for m in list_models(studio.db) if m["status"] == "ok"],
                                    label=tr("arena.models"), elem_id="arena-models")
            example = gr.Dropdown([(p["title"], p["id"]) for p in prompts], value=None, label=tr("arena.example"),
                                  elem_id="arena-example")
            prompt = gr.Textbox(lines=3, label=tr("arena.prompt"), elem_id="arena-prompt")
        with gr.Column(scale=2):
            setting = gr.Radio(labelled(SETTINGS["en"]), value="fair", label=tr("arena.setting"),
                               elem_id="arena-setting")
            length = gr.Slider(16, 512, value=128, step=16, label=tr("arena.length"), elem_id="arena-length")
            start = gr.Button(tr("arena.start"), variant="primary", elem_id="arena-start")
    msg = gr.Markdown(elem_id="arena-msg")
    with gr.Row(equal_height=True):
        answer_a = gr.Textbox(label=tr("arena.answer_a"), lines=12, interactive=False, elem_id="arena-answer-a")
        answer_b = gr.Textbox(label=tr("arena.answer_b"), lines=12, interactive=False, elem_id="arena-answer-b")
    with gr.Row():
        criteria = gr.CheckboxGroup(labelled(CRITERIA_EN), label=tr("arena.criteria"), elem_id="arena-criteria")
        dangerous = gr.CheckboxGroup(labelled(SAY["en"]["dangerous"]), label=tr("arena.dangerous"),
                                     elem_id="arena-dangerous")
    comment = gr.Textbox(label=tr("arena.comment"), lines=2, max_lines=6, elem_id="arena-comment")
    with gr.Row():
        vote_btns = {k: gr.Button(tr(f"arena.vote_{k}"), interactive=False, elem_id=f"arena-vote-{k}")
                     for k in BUTTONS["en"]}
    reveal = gr.Markdown(elem_id="arena-reveal")
    gr.Markdown(tr("arena.board"))
    board, board_note = board_rows(studio, "en")
    board_df = gr.Dataframe(board, headers=BOARD_HEADERS["en"], interactive=False, elem_id="arena-board")
    board_md = gr.Markdown(board_note, elem_id="arena-board-note")
    gr.Markdown(tr("arena.wins"))
    wins = gr.Dataframe(win_rows(studio), headers=WIN_HEADERS["en"], interactive=False, elem_id="arena-wins")
    with gr.Row():
        export_btn = gr.Button(tr("arena.export"), elem_id="arena-export")
        files = gr.File(label=tr("arena.files"), file_count="multiple", interactive=False, elem_id="arena-files")
    build_sessions_panel(studio)   # voting sessions for the voting room (/vote)
    round_state = gr.State(None)
    buttons = list(vote_btns.values())

    def on_example(key):
        return next((p["text"] for p in prompts if p["id"] == key), gr.update())

    def on_start(models, text, key, max_tokens, request: gr.Request):
        off = [gr.update(interactive=False)] * len(buttons)
        try:
            cfg = parse_generate_config({"max_new_tokens": int(max_tokens)}, preset=key if key in PRESETS else None)
            round_id = arena.new_round(studio.db, models or [], text, cfg, owner=current_user(request))
        except (ArenaError, GenerationError) as exc:
            yield None, f"❌ {translated(exc, viewer_language(studio, request))}", gr.update(), gr.update(), "", *off
            return
        lang = viewer_language(studio, request)
        say = SAY[lang]
        wait = say["wait"]
        a = b = ""
        try:
            yield None, wait, a, b, "", *off
            for a, b in arena.stream_answers(studio.db, shared_cache(studio.settings), round_id):
                yield None, wait, a, b, "", *off
        except (ArenaError, GenerationError) as exc:
            yield None, f"❌ {translated(exc, lang)}", a, b, "", *off
            return
        # the final answers again, not a no-op update: see generate_tab.on_generate
        yield (round_id, say["read"], a, b, "",
               *[gr.update(interactive=True)] * len(buttons))

    def on_vote(choice):
        def handler(round_id, ticked, flagged, note, request: gr.Request):
            off = [gr.update(interactive=False)] * len(buttons)
            keep = [gr.update()] * 6
            lang = viewer_language(studio, request)
            if round_id is None:
                return None, SAY[lang]["no_round"], "", *keep, *off
            try:
                with acting(request):
                    revealed = arena.vote(studio.db, round_id, choice, owner=current_user(request),
                                          criteria=ticked or [], dangerous_a="a" in (flagged or []),
                                          dangerous_b="b" in (flagged or []), comment=note or "")
            except ArenaError as exc:
                return None, f"❌ {translated(exc, lang)}", "", *keep, *off
            rows, text = board_rows(studio, lang)
            return (None, SAY[lang]["voted"], reveal_markdown(revealed, lang), frame(win_rows(studio), WIN_HEADERS[lang]),
                    frame(rows, BOARD_HEADERS[lang]), text, [], [], "", *off)
        return handler

    def on_export():
        from frbio_ui import downloads

        out = arena.export_votes(studio.db, studio.settings.folder("reports"))
        return downloads.offer(studio.home, [out["csv"], out["jsonl"]])

    def on_load(request: gr.Request):
        lang = viewer_language(studio, request)
        rows, text = board_rows(studio, lang)
        return (gr.update(choices=[m["id"] for m in list_models(studio.db) if m["status"] == "ok"]),
                frame(win_rows(studio), WIN_HEADERS[lang]), frame(rows, BOARD_HEADERS[lang]), text,
                gr.update(choices=labelled(SETTINGS[lang])), gr.update(choices=labelled(CRITERIA_EN if lang == "en"
                                                                                         else arena.CRITERIA)),
                gr.update(choices=labelled(SAY[lang]["dangerous"])))

    example.change(guard.read(on_example), [example], [prompt], show_progress="hidden")
    start.click(guard.user(on_start), [pool, prompt, setting, length], [round_state, msg, answer_a, answer_b, reveal] + buttons,
                show_progress="hidden")
    for key, btn in vote_btns.items():
        btn.click(guard.user(on_vote(key)), [round_state, criteria, dangerous, comment],
                  [round_state, msg, reveal, wins, board_df, board_md, criteria, dangerous, comment] + buttons,
                  show_progress="hidden")
    export_btn.click(guard.user(on_export), None, [files])   # writes the files under reports/
    gr.on(None, guard.read(on_load), None, [pool, wins, board_df, board_md, setting, criteria, dangerous],
          show_progress="hidden")
