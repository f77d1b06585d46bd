"""French for the study's HTML report, report.fr.html (backend.study.report, study_report.html.j2;
frbio_core.translations)."""

FR: dict[str, str] = {
    "Reproducing the paper's question": "Reproduire la question de l'article",
    "Is biomedical domain-adaptive pre-training (DAPT) worth it for this model, and does merging the DAPT model back "
    "with its base (SLERP) recover what DAPT costs on general text?":
        "La pré-adaptation au domaine biomédical (DAPT) vaut-elle la peine pour ce modèle, et la fusion du modèle DAPT "
        "avec son modèle de base (SLERP) regagne-t-elle ce que la DAPT coûte sur le texte général ?",
    "Question.": "Question.", "Budget.": "Budget.", "Run.": "Exécution.",
    "study {study}, started {created}, report {date}; total wall time {total} s; machine: {where}.":
        "étude {study}, démarrée le {created}, rapport du {date} ; durée totale {total} s ; machine : {where}.",
    "{cpus} CPUs ({cpu}), {memory} GB RAM, no GPU; Python {python}, torch {torch}":
        "{cpus} cœurs ({cpu}), {memory} Go de mémoire, pas de GPU ; Python {python}, torch {torch}",
    "{cpus} CPUs ({cpu}), {memory} GB RAM, GPUs: {gpus}; Python {python}, torch {torch}":
        "{cpus} cœurs ({cpu}), {memory} Go de mémoire, GPU : {gpus} ; Python {python}, torch {torch}",
    "What the numbers say": "Ce que disent les chiffres", "no results yet": "pas encore de résultat",
    "Figures": "Figures", "Results": "Résultats", "not evaluated yet": "pas encore évalué",
    "Δ is the change from the base (▲ better, ▼ worse; lower is better for every perplexity); ± is the standard "
    "error; n is in the per-number JSON.":
        "Δ est l'écart avec le modèle de base (▲ meilleur, ▼ moins bon ; pour toute perplexité, plus bas = meilleur) ; "
        "± est l'erreur type ; n figure dans le JSON de chaque chiffre.",
    "SLERP sweep (perplexity, in memory)": "Balayage SLERP (perplexité, en mémoire)",
    "Sweep vs saved models": "Balayage et modèles enregistrés",
    "The same validation blocks measured on the in-memory sweep point and on the saved, registered model at the same "
    "t (evaluation job).": "Les mêmes blocs de validation, mesurés sur le point du balayage en mémoire et sur le modèle "
                           "enregistré au même t (tâche d'évaluation).",
    "model": "modèle", "stage": "étape", "started": "démarrée", "yes": "oui",
    "sweep": "balayage", "saved model": "modèle enregistré", "difference": "différence",
    "Stages": "Étapes", "wall time (s)": "durée (s)", "jobs (run time)": "tâches (durée d'exécution)",
    "Artefacts": "Artefacts", "what": "quoi", "Configuration": "Configuration",
    " (best)": " (meilleur)", "sweep job": "tâche de balayage", "evaluation {role} / {task}": "évaluation {role} / {task}",
}
