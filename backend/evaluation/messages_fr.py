"""French for the sentences backend.evaluation writes (frbio_core.translations)."""

FR: dict[str, str] = {
    # config.py / job.py: the eval config
    "eval config": "configuration d'évaluation",
    "tasks: choose at least one task": "tasks : choisissez au moins un jeu d'évaluation",
    "follow: only a training run's checkpoints can be followed (give --run JOB)":
        "follow : seuls les points de contrôle d'un entraînement peuvent être suivis (indiquez --run TÂCHE)",

    # runner.py: checks and the eval job's progress
    "ppl_block_size {size} is above the context length of '{model}' ({context})":
        "ppl_block_size {size} dépasse la longueur de contexte de '{model}' ({context})",
    "ppl_block_size {size} is above the model's context length ({context})":
        "ppl_block_size {size} dépasse la longueur de contexte du modèle ({context})",
    "model '{model}' cannot be loaded from {path}: {kind}: {reason}":
        "le modèle '{model}' ne peut pas être chargé depuis {path} : {kind} : {reason}",
    "{task}: loading": "{task} : chargement",
    "{task}: {step} ({percent}%)": "{task} : {step} ({percent} %)",
    "running loglikelihood requests": "calcul des log-vraisemblances",
    "running generate_until requests": "génération des réponses",
    "{task}: lm-eval could not run the task: {reason}":
        "{task} : lm-eval n'a pas pu lancer le jeu d'évaluation : {reason}",

    # tasks.py: benchmarks and their data
    "unknown task '{task}' (known: {known})": "jeu d'évaluation inconnu '{task}' (connus : {known})",
    "{task}: benchmark data not found ({files}) in its folder {folder}":
        "{task} : données du jeu d'évaluation introuvables ({files}) dans son dossier {folder}",
    "{task}: benchmark data not found ({files}) in {folders}; set FRBIO_BENCH_DIR or add a data folder holding "
    "bench/": "{task} : données du jeu d'évaluation introuvables ({files}) dans {folders} ; définissez "
              "FRBIO_BENCH_DIR ou ajoutez un dossier de données contenant bench/",
    "perplexity: unknown snapshot '{snapshot}'": "perplexity : instantané inconnu '{snapshot}'",
    "perplexity needs a corpus snapshot (its validation split is the domain text): build one in the Corpus tab or "
    "with `python -m backend corpus build`": "la perplexité a besoin d'un instantané du corpus (sa part de "
                                             "validation est le texte du domaine) : créez-en un dans l'onglet Corpus "
                                             "ou avec `python -m backend corpus build`",

    # store.py: the evaluation cache
    "model '{model}': its weights cannot be read from {path} ({reason})":
        "modèle '{model}' : ses poids ne peuvent pas être lus depuis {path} ({reason})",
    "unknown evaluation '{id}'": "évaluation inconnue '{id}'",
    "'{id}' is not an evaluation id": "'{id}' n'est pas un identifiant d'évaluation",

    # compare.py / evidence.py: comparisons
    "choose at least two models to compare (the first is the reference)":
        "choisissez au moins deux modèles à comparer (le premier est la référence)",
    "{task}: '{reference}' and '{other}' were evaluated with different settings ({settings}): their items are not "
    "paired": "{task} : '{reference}' et '{other}' ont été évalués avec des réglages différents ({settings}) : "
              "leurs questions ne sont pas appariées",

    # trajectory.py: a training run's trajectory
    "'{job}' is not a training job (`python -m backend jobs list --kind train`)":
        "'{job}' n'est pas une tâche d'entraînement (`python -m backend jobs list --kind train`)",
    "run {job} has no kept checkpoint or trained model yet: keep checkpoints with `keep_every`/`keep_steps`, and ask "
    "again once the first one is written":
        "l'entraînement {job} n'a encore ni point de contrôle gardé ni modèle entraîné : gardez des points de "
        "contrôle avec `keep_every`/`keep_steps`, et redemandez une fois le premier écrit",
    "run {job} is {status}: it keeps no more checkpoints to follow (evaluate its trajectory without --follow)":
        "l'entraînement {job} a le statut {status} : il ne garde plus de points de contrôle à suivre (évaluez sa "
        "trajectoire sans --follow)",

    # contamination.py: the contamination check (its lines are shown in the Corpus tab)
    "the flagging length ({flag} words) must be at least the n-gram size ({n})":
        "la longueur de signalement ({flag} mots) doit être au moins la taille des n-grammes ({n})",
    "unknown snapshot '{snapshot}'": "instantané inconnu '{snapshot}'",
    "{flagged} of {items} {title} items share ≥ {flag} words with the training split (longest shared span: "
    "{longest} words)": "{flagged} questions sur {items} de {title} partagent ≥ {flag} mots avec la part "
                        "d'entraînement (plus long passage commun : {longest} mots)",

    # custom.py: uploading a multiple-choice benchmark (one line error: "<file>: line N: …")
    "{file}: file not found": "{file} : fichier introuvable",
    "{file}: larger than {size} MB": "{file} : plus de {size} MB",
    "{file}: not a UTF-8 text file (expected JSONL, one JSON object per line)":
        "{file} : pas un fichier texte UTF-8 (JSONL attendu, un objet JSON par ligne)",
    "{file}: the file is empty (no items)": "{file} : le fichier est vide (aucune question)",
    "{file}: every item is a few-shot example (split train/dev/fewshot): nothing to evaluate":
        "{file} : chaque question est un exemple résolu (split train/dev/fewshot) : rien à évaluer",
    "{file}: line {line}: not valid JSON ({reason})": "{file} : ligne {line} : JSON invalide ({reason})",
    "{file}: line {line}: expected a JSON object, got {kind}":
        "{file} : ligne {line} : objet JSON attendu, reçu {kind}",
    "{file}: line {line}: missing field 'question' (a non-empty text)":
        "{file} : ligne {line} : champ 'question' manquant (un texte non vide)",
    "{file}: line {line}: missing field 'choices' (a mapping label → text, or a list of texts)":
        "{file} : ligne {line} : champ 'choices' manquant (une table étiquette → texte, ou une liste de textes)",
    "{file}: line {line}: 'choices' must be a mapping label → text, or a list of texts":
        "{file} : ligne {line} : 'choices' doit être une table étiquette → texte, ou une liste de textes",
    "{file}: line {line}: 'choices' has {n} option(s); 2 to 26 are needed":
        "{file} : ligne {line} : 'choices' a {n} option(s) ; il en faut de 2 à 26",
    "{file}: line {line}: every choice must be a non-empty text":
        "{file} : ligne {line} : chaque choix doit être un texte non vide",
    "{file}: line {line}: choice labels must be distinct and non-empty":
        "{file} : ligne {line} : les étiquettes des choix doivent être distinctes et non vides",
    "{file}: line {line}: 'answers' must hold exactly one label for a multiple-choice benchmark (got {n})":
        "{file} : ligne {line} : 'answers' doit contenir exactement une étiquette pour un jeu d'évaluation à choix "
        "multiple ({n} reçues)",
    "{file}: line {line}: missing field 'answer' (the correct choice label)":
        "{file} : ligne {line} : champ 'answer' manquant (l'étiquette du bon choix)",
    "{file}: line {line}: answer '{answer}' is not among the choices ({labels})":
        "{file} : ligne {line} : la réponse '{answer}' ne fait pas partie des choix ({labels})",
    "a benchmark named '{name}' already exists (owner: {owner}): choose another name":
        "un jeu d'évaluation nommé '{name}' existe déjà (propriétaire : {owner}) : choisissez un autre nom",
    "benchmark name: use letters or digits": "nom du jeu d'évaluation : utilisez des lettres ou des chiffres",
    "domain: 'medical' or 'general', not '{domain}'": "domain : 'medical' ou 'general', pas '{domain}'",
    "language: 'fr' or 'en', not '{language}'": "language : 'fr' ou 'en', pas '{language}'",
}
