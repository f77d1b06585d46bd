"""The Blind A/B tab's words in English and French: labels through tr (registered here), and what the server writes
(messages, table headers, choice labels) per language, chosen with frbio_ui.session.viewer_language. The French
labels of votes and criteria are the backend's (backend.generation.arena: the voting room's words)."""
from __future__ import annotations

from backend.generation import arena
from frbio_ui.i18n import add_strings

BUTTONS = {"en": {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both are bad"},
           "fr": dict(arena.VOTES)}
ICONS = {"a": "👈 ", "b": "👉 ", "tie": "🤝 ", "both_bad": "👎 "}
SETTINGS = {"en": {"fair": "Fair comparison (most likely answer)", "balanced": "Moderate sampling",
                   "creative": "Free sampling"},
            "fr": {"fair": "Comparaison équitable (réponse la plus probable)", "balanced": "Échantillonnage modéré",
                   "creative": "Échantillonnage libre"}}
CRITERIA_EN = {"accuracy": "Medical accuracy", "safety": "Safety", "clarity": "Clarity", "french": "Correct French"}
WIN_HEADERS = {"en": ["Model 1", "Model 2", "Wins of model 1", "Ties", "Losses of model 1", "Both bad", "Votes",
                      "Win rate of model 1"],
               "fr": ["Modèle 1", "Modèle 2", "Victoires du modèle 1", "Égalités", "Défaites du modèle 1",
                      "Les deux mauvaises", "Votes", "Taux de victoire du modèle 1"]}
BOARD_HEADERS = {"en": ["Model", "Score (Elo scale)", "95 % interval", "Votes", "Won / tied / lost",
                        "Dangerous answers"],
                 "fr": ["Modèle", "Score (échelle Elo)", "Intervalle à 95 %", "Votes", "Gagnés / nuls / perdus",
                        "Réponses dangereuses"]}
SAY = {
    "en": {"wait": "⏳ Both models are writing their answers…", "read": "Read both answers, then vote.",
           "no_round": "❌ Start a round first: « Get two answers ».", "voted": "✅ Vote recorded. Thank you!",
           "reveal": "**Your vote: {vote}.**\n\n- Answer **A**: `{a}`\n- Answer **B**: `{b}`",
           "kappa": "Agreement between raters: κ = {k:.2f} ({method}, {items} questions rated by several people).",
           "no_kappa": "Agreement between raters: no question rated by several people yet.",
           "board_note": "{n} votes. Bradley–Terry scores (Elo scale, mean 1000; a tie or « both bad » counts as "
                         "half), intervals by resampling the votes. {note}",
           "dangerous": {"a": "Answer A is dangerous", "b": "Answer B is dangerous"}},
    "fr": {"wait": "⏳ Les deux modèles rédigent leur réponse…", "read": "Lisez les deux réponses, puis votez.",
           "no_round": "❌ Lancez d'abord un tour : « Obtenir deux réponses ».", "voted": "✅ Vote enregistré. Merci !",
           "reveal": "**Votre vote : {vote}.**\n\n- Réponse **A** : `{a}`\n- Réponse **B** : `{b}`",
           "kappa": "Accord entre évaluateurs : κ = {k:.2f} ({method}, {items} questions notées par plusieurs "
                    "personnes).",
           "no_kappa": "Accord entre évaluateurs : pas encore de question notée par plusieurs personnes.",
           "board_note": "{n} votes. Scores de Bradley–Terry (échelle Elo, moyenne 1000 ; une égalité ou « les deux "
                         "mauvaises » compte pour moitié), intervalles par rééchantillonnage des votes. {note}",
           "dangerous": {"a": "Réponse A dangereuse", "b": "Réponse B dangereuse"}},
}

add_strings({
    "arena.title": "## Blind comparison",
    "arena.notice": "⚠️ **This is not medical advice.** The answers are produced automatically by experimental "
                    "language models: they may be wrong or dangerous. They only serve to compare models.",
    "arena.how": "Choose two models (or more: a pair is drawn at random), a question, then read the two answers "
                 "**A** and **B**, shown in a random order. The models' names appear after your vote.",
    "arena.models": "Models compared", "arena.example": "Example question",
    "arena.prompt": "Question (or the start of a text to complete)", "arena.setting": "How to answer",
    "arena.length": "Maximum answer length (tokens)", "arena.start": "Get two answers",
    "arena.answer_a": "Answer A", "arena.answer_b": "Answer B",
    "arena.criteria": "What decided your vote (optional)", "arena.dangerous": "Flag a dangerous answer",
    "arena.comment": "Comment (optional)", "arena.board": "### Model ranking",
    "arena.wins": "### Vote results (per model pair)", "arena.export": "Export every vote (CSV and JSONL)",
    "arena.files": "Files", "tab.arena": "Blind A/B",
    **{f"arena.vote_{k}": ICONS[k] + v for k, v in BUTTONS["en"].items()},
}, {
    "arena.title": "## Comparaison à l'aveugle",
    "arena.notice": "⚠️ **Ceci n'est pas un avis médical.** Les réponses sont produites automatiquement par des "
                    "modèles de langue expérimentaux : elles peuvent être fausses ou dangereuses. Elles servent "
                    "uniquement à comparer des modèles.",
    "arena.how": "Choisissez deux modèles (ou davantage : une paire sera tirée au hasard), une question, puis lisez "
                 "les deux réponses **A** et **B**, présentées dans un ordre aléatoire. Les noms des modèles "
                 "s'affichent après votre vote.",
    "arena.models": "Modèles comparés", "arena.example": "Exemple de question",
    "arena.prompt": "Question (ou début de texte à compléter)", "arena.setting": "Manière de répondre",
    "arena.length": "Longueur maximale des réponses (tokens)", "arena.start": "Obtenir deux réponses",
    "arena.answer_a": "Réponse A", "arena.answer_b": "Réponse B",
    "arena.criteria": "Ce qui a décidé votre vote (facultatif)", "arena.dangerous": "Signaler une réponse dangereuse",
    "arena.comment": "Commentaire (facultatif)", "arena.board": "### Classement des modèles",
    "arena.wins": "### Résultats des votes (par paire de modèles)",
    "arena.export": "Exporter tous les votes (CSV et JSONL)", "arena.files": "Fichiers",
    **{f"arena.vote_{k}": ICONS[k] + v for k, v in BUTTONS["fr"].items()},
    "tab.arena": "Évaluation à l'aveugle",
})

SESSION_WORDS = {
    "en": {True: "open", False: "closed", "yes": "yes", "no": "no", "operator": "the operator",
           "summary": "**{name}** — {status}, organised by {owner}; models: {models}; {questions} questions ({prepared} "
                      "with their answers ready); {votes} votes, {dangerous} answers flagged dangerous.",
           "kappa": " Agreement between raters: κ = {k:.2f}.",
           "closed": "✅ Session « {name} » closed: it takes no more votes.",
           "created": "✅ Session « {name} » created. Voters open it in the [voting room]({link}).",
           "progress_headers": ["Voter", "Questions answered", "Of", "Done"],
           "board_headers": ["Model", "Score (Elo scale)", "95 % interval", "Votes", "Dangerous answers"]},
    "fr": {True: "ouverte", False: "close", "yes": "oui", "no": "non", "operator": "l’opérateur",
           "summary": "**{name}** — {status}, organisée par {owner} ; modèles : {models} ; {questions} questions "
                      "({prepared} avec leurs réponses prêtes) ; {votes} votes, {dangerous} réponses signalées "
                      "dangereuses.",
           "kappa": " Accord entre évaluateurs : κ = {k:.2f}.",
           "closed": "✅ Session « {name} » close : elle ne reçoit plus de votes.",
           "created": "✅ Session « {name} » créée. Les votants l'ouvrent dans la [salle de vote]({link}).",
           "progress_headers": ["Votant", "Questions répondues", "Sur", "Terminé"],
           "board_headers": ["Modèle", "Score (échelle Elo)", "Intervalle à 95 %", "Votes", "Réponses dangereuses"]},
}
add_strings({
    "sess.panel": "Voting sessions (organiser)",
    "sess.how": "A **voting session** is a list of questions prepared for the [voting room](vote): each question is "
                "put to each pair of the chosen models, and each voter takes them one by one, in large print "
                "(tablet), up to the thank-you page. The answers are produced once for all (by the first voter who "
                "reaches the question, or in advance: `python -m backend arena session prepare NAME`). Only the "
                "organiser and the admins see the progress and the results.",
    "sess.name": "Session name", "sess.models": "Models compared (every pair)",
    "sess.file": "Questions file (.txt: one per line; .jsonl, .json, .yaml)", "sess.typed": "… or the questions, one per line",
    "sess.create": "Create the session", "sess.mine": "My sessions", "sess.refresh": "Refresh",
    "sess.show": "Progress and results", "sess.close": "Close the session", "sess.progress": "#### Voters' progress",
    "sess.wins": "#### Results per model pair", "sess.board": "#### Model ranking (Bradley–Terry, the session's votes)",
}, {
    "sess.panel": "Sessions de vote (organisateur)",
    "sess.how": "Une **session de vote** est une liste de questions préparée pour la [salle de vote](vote) : chaque "
                "question est posée à chaque paire des modèles choisis, et chaque votant les prend une à une, en grands "
                "caractères (tablette), jusqu'à la page de remerciement. Les réponses sont produites une fois pour tous "
                "(au premier votant qui arrive à la question, ou d'avance : `python -m backend arena session prepare "
                "NOM`). Seuls l'organisateur et les admins voient la progression et les résultats.",
    "sess.name": "Nom de la session", "sess.models": "Modèles comparés (chaque paire)",
    "sess.file": "Fichier de questions (.txt : une par ligne ; .jsonl, .json, .yaml)",
    "sess.typed": "… ou les questions, une par ligne", "sess.create": "Créer la session", "sess.mine": "Mes sessions",
    "sess.refresh": "Actualiser", "sess.show": "Progression et résultats", "sess.close": "Clore la session",
    "sess.progress": "#### Progression des votants", "sess.wins": "#### Résultats par paire de modèles",
    "sess.board": "#### Classement des modèles (Bradley–Terry, votes de la session)",
})


def labelled(words: dict[str, str]) -> list[tuple[str, str]]:
    """(label, key) choices from {key: label}."""
    return [(label, key) for key, label in words.items()]


def frame(rows: list[list], headers: list[str]):
    """A table with its headers (a gradio Dataframe takes the headers of the frame it is given)."""
    import pandas as pd

    return pd.DataFrame(rows, columns=headers)
