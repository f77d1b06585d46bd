"""The clinicians' voting room, `/vote`: a page of the same app (the same login), showing only the blind comparison,
one question of a voting session at a time, in large type for a tablet. French by default, English through the FR/EN
switch or `?lang=en` (the app's language mechanism, frbio_ui.i18n). The voter picks an open session (or follows a
link `/vote?session=NAME`), reads the question and the anonymous answers A and B, votes (A, B, tie, both bad; the
reasons, dangerous flags and comment are optional), sees the names, goes on, and ends on a thank-you page.

The logic is backend.generation.sessions; this page keeps only what it shows (`view`, in gr.State: never sent to the
browser) and renders it in the voter's language, which the browser adds to every event (`_with_language`)."""
from __future__ import annotations

import gradio as gr

from backend.generation import arena, sessions
from backend.generation.models_cache import shared_cache
from backend.studio import Studio
from frbio_core.errors import UserError
from frbio_core.translations import translated
from frbio_ui import guard
from frbio_ui.i18n import add_strings, tr
from frbio_ui.session import acting, current_user

STRINGS = {  # static labels, switched by the browser: key → (French, English)
    "vote.title": ("Salle de vote", "Voting room"),
    "vote.notice": ("⚠️ **Ceci n'est pas un avis médical.** Les réponses sont produites automatiquement par des "
                    "modèles de langue expérimentaux : elles peuvent être fausses ou dangereuses. Elles servent "
                    "uniquement à comparer des modèles.",
                    "⚠️ **This is not medical advice.** The answers are written automatically by experimental "
                    "language models: they may be wrong or dangerous. They only serve to compare models."),
    "vote.how": ("Lisez la question et les deux réponses **A** et **B** (leur ordre est tiré au hasard), puis votez. "
                 "Les noms des modèles s'affichent après votre vote.",
                 "Read the question and the two answers **A** and **B** (in random order), then vote. The names of "
                 "the models are shown after your vote."),
    "vote.session": ("Session de vote", "Voting session"),
    "vote.start": ("Commencer ou reprendre", "Start or resume"),
    "vote.answer_a": ("Réponse A", "Answer A"), "vote.answer_b": ("Réponse B", "Answer B"),
    "vote.criteria": ("Ce qui a décidé votre vote (facultatif)", "What decided your vote (optional)"),
    "vote.dangerous": ("Signaler une réponse dangereuse", "Flag a dangerous answer"),
    "vote.comment": ("Commentaire (facultatif)", "Comment (optional)"),
    "vote.a": ("👈 A est meilleure", "👈 A is better"), "vote.b": ("👉 B est meilleure", "👉 B is better"),
    "vote.tie": ("🤝 Égalité", "🤝 Tie"), "vote.both_bad": ("👎 Les deux sont mauvaises", "👎 Both are bad"),
    "vote.back": ("Retour aux sessions", "Back to the sessions"),
}
add_strings({k: en for k, (fr, en) in STRINGS.items()}, {k: fr for k, (fr, en) in STRINGS.items()})

TEXT = {  # what the server writes, in the voter's language
    "fr": {
        "progress": "**Question {position} sur {total}**", "question": "Question",
        "wait": "⏳ Préparation des réponses…", "read": "Lisez les deux réponses, puis votez.",
        "voted": "✅ Vote enregistré.", "your_vote": "Votre vote : **{label}**.",
        "behind": "Réponse **A** : `{a}` — réponse **B** : `{b}`",
        "next": "Question suivante →", "finish": "Terminer →", "choose": "Choisissez une session de vote.",
        "none": "Aucune session de vote n'est ouverte pour l'instant.",
        "start_first": "Commencez d'abord une session.",
        "thanks": "## Merci !\n\nVous avez répondu aux {total} questions de la session « {session} ». Vos votes "
                  "sont enregistrés : vous pouvez fermer cette page.",
        "votes": arena.VOTES, "criteria": arena.CRITERIA,
        "dangerous": ("Réponse A dangereuse", "Réponse B dangereuse")},
    "en": {
        "progress": "**Question {position} of {total}**", "question": "Question",
        "wait": "⏳ Preparing the answers…", "read": "Read both answers, then vote.",
        "voted": "✅ Vote recorded.", "your_vote": "Your vote: **{label}**.",
        "behind": "Answer **A**: `{a}` — answer **B**: `{b}`",
        "next": "Next question →", "finish": "Finish →", "choose": "Choose a voting session.",
        "none": "No voting session is open yet.",
        "start_first": "Start a session first.",
        "thanks": "## Thank you!\n\nYou answered the {total} questions of the session “{session}”. Your votes are "
                  "recorded: you may close this page.",
        "votes": {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both are bad"},
        "criteria": {"accuracy": "Medical accuracy", "safety": "Safety", "clarity": "Clarity",
                     "french": "Correct French"},
        "dangerous": ("Answer A is dangerous", "Answer B is dangerous")},
}
CHOICES = ("a", "b", "tie", "both_bad")
# the voter's language, as the page shows it: the FR/EN switch's (frbio_ui.i18n), else the browser's
_LANGUAGE = ("window.frbioLang || ((navigator.language || 'fr').toLowerCase().startsWith('en') ? 'en' : 'fr')")


def _with_language(n_inputs: int, code: str | None = None) -> str:
    """The event's `js`: its inputs as they are, the last one (a hidden box) replaced by the voter's language (or
    `code`, after switching to it)."""
    value = f"'{code}'" if code else _LANGUAGE
    switch = f"window.frbioSetLanguage && window.frbioSetLanguage('{code}', true); " if code else ""
    return f"(...args) => {{ {switch}return [...args.slice(0, {n_inputs - 1}), {value}]; }}"


def _lang(code: str | None) -> dict:
    return TEXT["en" if code == "en" else "fr"]


def _said(exc: Exception, code: str | None) -> str:
    """A backend error in the room's language (French unless the voter chose English)."""
    return translated(exc, "en" if code == "en" else "fr")


def _title(code: str | None) -> str:
    return f"# {STRINGS['vote.title'][1 if code == 'en' else 0]}"


def render(view: dict, code: str | None, reset: bool = False) -> list:
    """Every output of the page for `view` ({"step": choose | question | revealed | thanks, ...}) in `code`'s
    language; `reset` clears the voter's reasons (a new question)."""
    t, step = _lang(code), view.get("step", "choose")
    msg = view.get("error") or (t[view["msg"]] if view.get("msg") else "")
    reveal = ""
    if step == "revealed":
        reveal = (t["your_vote"].format(label=t["votes"][view["vote"]]) + "\n\n"
                  + t["behind"].format(a=view["model_a"], b=view["model_b"]))
    return [view,
            gr.update(visible=step == "choose"), gr.update(visible=step in ("question", "revealed")),
            gr.update(visible=step == "thanks"),
            t["progress"].format(position=view.get("position", 0), total=view.get("total", 0)),
            f"**{t['question']} :** {view.get('prompt', '')}" if code != "en" else
            f"**{t['question']}:** {view.get('prompt', '')}",
            view.get("answer_a", ""), view.get("answer_b", ""),
            gr.update(choices=[(label, key) for key, label in t["criteria"].items()], **({"value": []} if reset
                                                                                        else {})),
            gr.update(choices=[(t["dangerous"][0], "a"), (t["dangerous"][1], "b")], **({"value": []} if reset
                                                                                         else {})),
            gr.update(value="") if reset else gr.update(),
            *[gr.update(interactive=step == "question")] * len(CHOICES),
            reveal, gr.update(visible=step == "revealed", value=t["finish"] if view.get("done") else t["next"]),
            t["thanks"].format(total=view.get("total", 0), session=view.get("session", "")), msg]


def _question_view(state: dict) -> dict:
    if state["done"]:
        return {"step": "thanks", "session": state["session"], "total": state["total"]}
    return {"step": "question", "msg": "read", **{k: state[k] for k in ("session", "position", "total", "prompt",
                                                                     "answer_a", "answer_b", "id")}}


def build_vote_page(studio: Studio) -> None:
    with gr.Column(elem_id="vote-page"):
        with gr.Row(elem_id="vote-header", equal_height=True):
            title = gr.Markdown(elem_id="vote-title")
            langs = [gr.Button(label, size="sm", min_width=48, scale=0, elem_id=f"vote-lang-{code}")
                     for code, label in (("fr", "FR"), ("en", "EN"))]
        gr.Markdown(tr("vote.notice"), elem_id="vote-notice")
        with gr.Column(visible=True, elem_id="vote-choose") as choose:
            gr.Markdown(tr("vote.how"))
            pick = gr.Dropdown([], value=None, label=tr("vote.session"), elem_id="vote-session")
            start = gr.Button(tr("vote.start"), variant="primary", size="lg", elem_id="vote-start")
        with gr.Column(visible=False, elem_id="vote-question") as question:
            progress = gr.Markdown(elem_id="vote-progress")
            prompt = gr.Markdown(elem_id="vote-prompt")
            with gr.Row(equal_height=True, elem_id="vote-answers"):
                answer_a = gr.Textbox(label=tr("vote.answer_a"), lines=8, max_lines=30, interactive=False,
                                      elem_id="vote-answer-a", min_width=300)
                answer_b = gr.Textbox(label=tr("vote.answer_b"), lines=8, max_lines=30, interactive=False,
                                      elem_id="vote-answer-b", min_width=300)
            criteria = gr.CheckboxGroup([], label=tr("vote.criteria"), elem_id="vote-criteria")
            dangerous = gr.CheckboxGroup([], label=tr("vote.dangerous"), elem_id="vote-dangerous")
            comment = gr.Textbox(label=tr("vote.comment"), lines=2, max_lines=6, elem_id="vote-comment")
            with gr.Row(elem_id="vote-buttons"):
                buttons = [gr.Button(tr(f"vote.{key}"), interactive=False, size="lg", min_width=300,
                                     elem_id=f"vote-{key.replace('_', '-')}") for key in CHOICES]
            reveal = gr.Markdown(elem_id="vote-reveal")
            nxt = gr.Button(visible=False, variant="primary", size="lg", elem_id="vote-next")
        with gr.Column(visible=False, elem_id="vote-thanks") as thanks_box:
            thanks = gr.Markdown(elem_id="vote-thanks-text")
            back = gr.Button(tr("vote.back"), size="lg", elem_id="vote-back")
        msg = gr.Markdown(elem_id="vote-msg")
        language = gr.Textbox("fr", visible=False)
    view = gr.State({"step": "choose"})
    outputs = [view, choose, question, thanks_box, progress, prompt, answer_a, answer_b, criteria, dangerous, comment,
               *buttons, reveal, nxt, thanks, msg]

    def on_load(code, request: gr.Request):
        open_ = sessions.list_sessions(studio.db, "open")
        asked = (dict(request.query_params).get("session") if request is not None else None) or None
        names = [s["name"] for s in open_]
        value = asked if asked in names else (names[0] if len(names) == 1 else None)
        shown = {"step": "choose", "msg": None if names else "none"}
        return [_title(code),
                gr.update(choices=[(f"{s['name']} ({s['questions']} questions)", s["name"]) for s in open_],
                          value=value),
                *render(shown, code, reset=True)]

    def go_on(name, view, code, request: gr.Request):
        """The voter's next question (generated first when no voter reached it yet), or the thank-you page."""
        name = name or (view or {}).get("session")
        if not name:
            yield render({"step": "choose", "msg": "choose"}, code)
            return
        yield render({**(view or {}), "msg": "wait", "error": None}, code)
        try:
            with acting(request):
                state = sessions.next_question(studio.db, shared_cache(studio.settings), name, current_user(request))
        except UserError as exc:
            yield render({**(view or {"step": "choose"}), "msg": None, "error": f"❌ {_said(exc, code)}"}, code)
            return
        yield render(_question_view(state), code, reset=True)

    def on_vote(choice):
        def handler(view, ticked, flagged, note, code, request: gr.Request):
            view = view or {}
            if view.get("step") != "question":
                return render({**view, "error": f"❌ {_lang(code)['start_first']}"}, code)
            try:
                with acting(request):
                    done = sessions.session_vote(studio.db, view["session"], view["id"], choice,
                                                 current_user(request), criteria=ticked or [],
                                                 dangerous_a="a" in (flagged or []),
                                                 dangerous_b="b" in (flagged or []), comment=note or "")
            except UserError as exc:
                return render({**view, "msg": None, "error": f"❌ {_said(exc, code)}"}, code)
            return render({**view, "step": "revealed", "msg": "voted", "error": None, "vote": choice,
                           "model_a": done["model_a"], "model_b": done["model_b"], "done": done["done"]}, code)
        return handler

    def on_back(view, code):
        return render({"step": "choose"}, code, reset=True)

    def on_language(view, code):
        return [_title(code), *render(view or {"step": "choose"}, code)]

    gr.on(None, guard.read(on_load), [language], [title, pick, *outputs], js=_with_language(1),
          show_progress="hidden")
    for trigger in (start, nxt):
        trigger.click(guard.user(go_on), [pick, view, language], outputs, js=_with_language(3),
                      show_progress="hidden")
    for key, btn in zip(CHOICES, buttons):
        btn.click(guard.user(on_vote(key)), [view, criteria, dangerous, comment, language], outputs,
                  js=_with_language(5), show_progress="hidden")
    back.click(guard.read(on_back), [view, language], outputs, js=_with_language(2), show_progress="hidden")
    for code, btn in zip(("fr", "en"), langs):
        btn.click(guard.read(on_language), [view, language], [title, *outputs], js=_with_language(2, code),
                  show_progress="hidden")
