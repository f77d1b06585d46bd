"""Blind A/B tab for clinicians, in French whatever the browser's language: two anonymous answers to one question,
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
from frbio_ui import guard
from frbio_ui.arena_sessions_panel import build_sessions_panel
from frbio_ui.session import acting, current_user

# French first: these strings do not go through the browser-language lookup (tr).
TITLE = "Comparaison à l'aveugle"
NOTICE = ("⚠️ **Ceci n'est pas un avis médical.** Les réponses sont produites automatiquement par des modèles de "
          "langue expérimentaux : elles peuvent être fausses ou dangereuses. Elles servent uniquement à comparer "
          "des modèles.")
HOW = ("Choisissez deux modèles (ou davantage : une paire sera tirée au hasard), une question, puis lisez les deux "
       "réponses **A** et **B**, présentées dans un ordre aléatoire. Les noms des modèles s'affichent après votre vote.")
SETTINGS = {"fair": "Comparaison équitable (réponse la plus probable)", "balanced": "Échantillonnage modéré",
            "creative": "Échantillonnage libre"}
BUTTONS = {"a": "👈 A est meilleure", "b": "👉 B est meilleure", "tie": "🤝 Égalité", "both_bad": "👎 Les deux sont mauvaises"}
WIN_HEADERS = ["Modèle 1", "Modèle 2", "Victoires du modèle 1", "Égalités", "Défaites du modèle 1",
               "Les deux mauvaises", "Votes", "Taux de victoire du modèle 1"]
BOARD_HEADERS = ["Modèle", "Score (échelle Elo)", "Intervalle à 95 %", "Votes", "Gagnés / nuls / perdus",
                 "Réponses dangereuses"]


def board_rows(studio: Studio) -> tuple[list[list], str]:
    """The leaderboard (Bradley–Terry, bootstrap intervals) and a line on rater agreement."""
    from backend.generation.ratings import agreement, leaderboard

    votes = arena.voted_rounds(studio.db)
    rows = [[r["model"], f"{r['rating']:.0f}", f"[{r['low']:.0f} ; {r['high']:.0f}]", r["votes"],
             f"{r['wins']} / {r['ties']} / {r['losses']}", f"{r['dangerous']} ({r['dangerous_rate']:.0%})"]
            for r in leaderboard(votes, rounds=500)]
    kappa = agreement(votes)
    note = (f"Accord entre évaluateurs : κ = {kappa['kappa']:.2f} ({'Cohen' if 'Cohen' in kappa['method'] else 'Fleiss'}"
            f", {kappa['items']} questions notées par plusieurs personnes)." if kappa else
            "Accord entre évaluateurs : pas encore de question notée par plusieurs personnes.")
    return rows, f"{len(votes)} votes. Scores de Bradley–Terry (échelle Elo, moyenne 1000 ; une égalité ou « les deux " \
                 f"mauvaises » compte pour moitié), intervalles par rééchantillonnage des votes. {note}"


def win_rows(studio: Studio) -> list[list]:
    return [[r["model_1"], r["model_2"], r["wins"], r["ties"], r["losses"], r["both_bad"], r["votes"],
             "—" if r["win_rate"] is None else f"{r['win_rate']:.0%}"] for r in arena.win_rates(studio.db)]


def reveal_markdown(revealed: dict) -> str:
    return (f"**Votre vote : {revealed['vote_label']}.**\n\n"
            f"- Réponse **A** : `{revealed['model_a']}`\n- Réponse **B** : `{revealed['model_b']}`")


def build_arena_tab(studio: Studio):
    prompts = load_prompts()
    gr.Markdown(f"## {TITLE}")
    gr.Markdown(NOTICE, elem_id="arena-notice")
    gr.Markdown(HOW)
    with gr.Row():
        with gr.Column(scale=3):
            pool = gr.CheckboxGroup([m["id"] for m in list_models(studio.db) if m["status"] == "ok"],
                                    label="Modèles comparés", elem_id="arena-models")
            example = gr.Dropdown([(p["title"], p["id"]) for p in prompts], value=None, label="Exemple de question",
                                  elem_id="arena-example")
            prompt = gr.Textbox(lines=3, label="Question (ou début de texte à compléter)", elem_id="arena-prompt")
        with gr.Column(scale=2):
            setting = gr.Radio([(label, key) for key, label in SETTINGS.items()], value="fair",
                               label="Manière de répondre", elem_id="arena-setting")
            length = gr.Slider(16, 512, value=128, step=16, label="Longueur maximale des réponses (tokens)",
                               elem_id="arena-length")
            start = gr.Button("Obtenir deux réponses", variant="primary", elem_id="arena-start")
    msg = gr.Markdown(elem_id="arena-msg")
    with gr.Row(equal_height=True):
        answer_a = gr.Textbox(label="Réponse A", lines=12, interactive=False, elem_id="arena-answer-a")
        answer_b = gr.Textbox(label="Réponse B", lines=12, interactive=False, elem_id="arena-answer-b")
    with gr.Row():
        criteria = gr.CheckboxGroup([(label, key) for key, label in arena.CRITERIA.items()],
                                    label="Ce qui a décidé votre vote (facultatif)", elem_id="arena-criteria")
        dangerous = gr.CheckboxGroup([("Réponse A dangereuse", "a"), ("Réponse B dangereuse", "b")],
                                     label="Signaler une réponse dangereuse", elem_id="arena-dangerous")
    comment = gr.Textbox(label="Commentaire (facultatif)", lines=2, max_lines=6, elem_id="arena-comment")
    with gr.Row():
        vote_btns = {k: gr.Button(label, interactive=False, elem_id=f"arena-vote-{k}") for k, label in BUTTONS.items()}
    reveal = gr.Markdown(elem_id="arena-reveal")
    gr.Markdown("### Classement des modèles")
    board, board_note = board_rows(studio)
    board_df = gr.Dataframe(board, headers=BOARD_HEADERS, interactive=False, elem_id="arena-board")
    board_md = gr.Markdown(board_note, elem_id="arena-board-note")
    gr.Markdown("### Résultats des votes (par paire de modèles)")
    wins = gr.Dataframe(win_rows(studio), headers=WIN_HEADERS, interactive=False, elem_id="arena-wins")
    with gr.Row():
        export_btn = gr.Button("Exporter tous les votes (CSV et JSONL)", elem_id="arena-export")
        files = gr.File(label="Fichiers", file_count="multiple", interactive=False, elem_id="arena-files")
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
            yield None, f"❌ {exc}", gr.update(), gr.update(), "", *off
            return
        wait = "⏳ Les deux modèles rédigent leur réponse…"
        a = b = ""
        try:
            yield None, wait, a, b, "", *off
            for a, b in arena.stream_answers(studio.db, shared_cache(studio.settings), round_id):
                yield None, wait, a, b, "", *off
        except (ArenaError, GenerationError) as exc:
            yield None, f"❌ {exc}", a, b, "", *off
            return
        # the final answers again, not a no-op update: see generate_tab.on_generate
        yield (round_id, "Lisez les deux réponses, puis votez.", a, b, "",
               *[gr.update(interactive=True)] * len(buttons))

    def on_vote(choice):
        def handler(round_id, ticked, flagged, note, request: gr.Request):
            off = [gr.update(interactive=False)] * len(buttons)
            keep = [gr.update()] * 6
            if round_id is None:
                return None, "❌ Lancez d'abord un tour : « Obtenir deux réponses ».", "", *keep, *off
            try:
                with acting(request):
                    revealed = arena.vote(studio.db, round_id, choice, owner=current_user(request),
                                          criteria=ticked or [], dangerous_a="a" in (flagged or []),
                                          dangerous_b="b" in (flagged or []), comment=note or "")
            except ArenaError as exc:
                return None, f"❌ {exc}", "", *keep, *off
            rows, text = board_rows(studio)
            return (None, "✅ Vote enregistré. Merci !", reveal_markdown(revealed), win_rows(studio), rows, text,
                    [], [], "", *off)
        return handler

    def on_export():
        from frbio_ui import downloads

        out = arena.export_votes(studio.db, studio.settings.folder("reports"))
        return downloads.offer(studio.home, [out["csv"], out["jsonl"]])

    def on_load():
        rows, text = board_rows(studio)
        return (gr.update(choices=[m["id"] for m in list_models(studio.db) if m["status"] == "ok"]), win_rows(studio),
                rows, text)

    example.change(guard.read(on_example), [example], [prompt], show_progress="hidden")
    start.click(guard.user(on_start), [pool, prompt, setting, length], [round_state, msg, answer_a, answer_b, reveal] + buttons,
                show_progress="hidden")
    for key, btn in vote_btns.items():
        btn.click(guard.user(on_vote(key)), [round_state, criteria, dangerous, comment],
                  [round_state, msg, reveal, wins, board_df, board_md, criteria, dangerous, comment] + buttons,
                  show_progress="hidden")
    export_btn.click(guard.user(on_export), None, [files])   # writes the files under reports/
    gr.on(None, guard.read(on_load), None, [pool, wins, board_df, board_md], show_progress="hidden")
