"""French for the sentences backend.generation writes (frbio_core.translations)."""

# The blind arena (arena.py) and the voting sessions (sessions.py) write English like the rest; the voting room shows
# their French to the clinicians (the reasons they carry, a model that could not load, are translated in turn).
FR: dict[str, str] = {
    # config.py, presets.py, prompting.py, stream.py: side-by-side generation
    "unknown preset '{preset}' (known: {known})": "préréglage inconnu « {preset} » (connus : {known})",
    "{file}: cannot read the prompt presets ({error})":
        "{file} : impossible de lire les exemples de questions ({error})",
    "{file}: expected a list of {{id, title, style, text}}":
        "{file} : une liste de {{id, title, style, text}} est attendue",
    "prompt presets not found: {path}": "exemples de questions introuvables : {path}",
    "unknown prompt preset '{key}'": "exemple de question inconnu « {key} »",
    "the prompt is empty: type a question or pick a preset":
        "le texte d'entrée est vide : écrivez une question ou choisissez un exemple",
    "the prompt is {length} tokens long ({format} format), longer than this model's context of {context} tokens: "
    "shorten it":
        "le texte d'entrée fait {length} tokens (format {format}), plus que le contexte de ce modèle ({context} "
        "tokens) : raccourcissez-le",
    "answer limited to {left} tokens: the prompt ({length} tokens) and {new} new tokens exceed the context of "
    "{context}":
        "réponse limitée à {left} tokens : le texte d'entrée ({length} tokens) et {new} nouveaux tokens dépassent "
        "le contexte de {context}",
    "choose at least one model": "choisissez au moins un modèle",
    "at most {max} models side by side ({chosen} chosen)": "{max} modèles côte à côte au plus ({chosen} choisis)",
    "cannot prepare the prompt: {reason}": "impossible de préparer le texte d'entrée : {reason}",
    "generation failed: {reason}": "la génération a échoué : {reason}",
    # models_cache.py: the memory of loaded models
    "model '{model}' needs about {need} MB, more than the memory budget for loaded models ({budget} MB): the "
    "operator can raise it (--generate-memory-mb)":
        "le modèle « {model} » demande environ {need} MB, plus que la mémoire réservée aux modèles chargés "
        "({budget} MB) : l'opérateur peut l'augmenter (--generate-memory-mb)",
    "memory budget too small for these models at once: '{model}' needs about {need} MB and {busy} (in use) hold "
    "{used} MB of {budget} MB: compare fewer models (the operator can raise the budget: --generate-memory-mb)":
        "mémoire insuffisante pour ces modèles à la fois : « {model} » demande environ {need} MB et {busy} (en "
        "cours d'utilisation) occupent déjà {used} MB sur {budget} MB : comparez moins de modèles (l'opérateur peut "
        "augmenter la mémoire réservée : --generate-memory-mb)",
    "cannot load model '{model}': {reason}": "impossible de charger le modèle « {model} » : {reason}",
    "generation cache": "cache de génération",   # what an admin-only refusal names (frbio_core)
    # arena.py: the blind A/B comparison
    "Choose at least two different models.": "Choisissez au moins deux modèles différents.",
    "The question is empty: type one or pick an example.":
        "La question est vide : écrivez-en une ou choisissez un exemple.",
    "Invalid settings: {reason}": "Réglages invalides : {reason}",
    "Round {round} not found.": "Tour {round} introuvable : lancez un nouveau tour.",
    "Answer {letter} could not be produced ({reason}): round cancelled, start another one.":
        "La réponse {letter} n'a pas pu être produite ({reason}). Ce tour est annulé : lancez-en un nouveau.",
    "Unknown vote '{choice}' (expected: {expected}).": "Vote inconnu « {choice} » (attendu : {expected}).",
    "Unknown criterion '{criterion}' (expected: {expected}).":
        "Critère inconnu « {criterion} » (attendu : {expected}).",
    "Comment too long ({length} characters, at most {max}).":
        "Commentaire trop long : {length} caractères, {max} au plus. Raccourcissez-le.",
    "The two answers are not ready yet: vote once they are complete.":
        "Les deux réponses ne sont pas encore prêtes : votez quand elles sont complètes.",
    "This round already has a vote: start a new round.": "Ce tour a déjà reçu un vote : lancez un nouveau tour.",
    "This round was started by someone else: only they can vote on it.":
        "Ce tour a été lancé par une autre personne : seule cette personne peut voter.",
    "The model names are revealed only after the vote.": "Les noms des modèles ne s'affichent qu'après le vote.",
    # the words a failed answer's reason carries in place of the model's name (which stays hidden)
    "generation interrupted": "génération interrompue",
    "model A": "modèle A",
    "model B": "modèle B",
    "a model": "un modèle",
    # sessions.py: the voting room
    "Question file: line {line} is not valid JSON.": "Fichier de questions : la ligne {line} n'est pas du JSON valide.",
    "Unreadable question file ({error}).": "Fichier de questions illisible ({error}).",
    "Question file: a list of questions is expected.": "Fichier de questions : une liste de questions est attendue.",
    "Question file: entry {number} is not a text.": "Fichier de questions : l'entrée {number} n'est pas un texte.",
    "Question file not found: {path}.": "Fichier de questions introuvable : {path}.",
    "Unreadable question file: {file} ({error}).": "Fichier de questions illisible : {file} ({error}).",
    "Choose a voting session.": "Choisissez une session de vote.",
    "Voting session '{name}' not found.": "Session de vote « {name} » introuvable.",
    "Unknown model: '{model}' (registered models: {known}).":
        "Modèle inconnu : « {model} » (modèles enregistrés : {known}).",
    "none": "aucun",   # no registered model, in the sentence above
    "Model '{model}' cannot be used: {reason}.": "Le modèle « {model} » est inutilisable : {reason}.",
    "unreadable folder": "dossier illisible",
    "Give the session a name (1 to {max} characters).": "Donnez un nom à la session (de 1 à {max} caractères).",
    "No question: the question file (or list) is empty.":
        "Aucune question : le fichier (ou la liste) de questions est vide.",
    "Too many questions or a question too long (at most {max_prompts} questions of {max_chars} characters).":
        "Trop de questions, ou une question trop longue : {max_prompts} questions au plus, de {max_chars} "
        "caractères au plus chacune.",
    "{count} questions: at most {max} (fewer models or questions).":
        "{count} questions à voter, c'est trop : {max} au plus. Choisissez moins de modèles ou moins de questions.",
    "A voting session '{name}' already exists (created by {owner}).":
        "Une session de vote « {name} » existe déjà (créée par {owner}) : choisissez un autre nom.",
    "the operator": "l’opérateur",   # a session created from the CLI without --actor, in the sentence above
    "A voting session '{name}' already exists.":
        "Une session de vote « {name} » existe déjà : choisissez un autre nom.",
    "Question {position} not found in this session.": "Question {position} introuvable dans cette session.",
    "The answers to question {position} could not be produced ({reason}): tell the session's organiser.":
        "Les réponses à la question {position} n'ont pas pu être produites ({reason}) : prévenez l'organisateur de "
        "la session.",
    "Session '{name}' is closed: it takes no more votes.":
        "La session « {name} » est close : elle ne reçoit plus de votes.",
    "This question does not belong to session '{name}'.":
        "Cette question n'appartient pas à la session « {name} » : rechargez la page.",
}
