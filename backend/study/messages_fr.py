"""French for the sentences backend.study writes (frbio_core.translations)."""

FR: dict[str, str] = {
    # job.py: the study job's progress line
    "writing the report": "rédaction du rapport",

    # state.py, stages.py: refusals and why a stage could not keep its results
    "unknown study '{id}'": "étude inconnue « {id} »",
    "training job {id} ended without a saved model (stopped at step {step})":
        "l'entraînement {id} s'est terminé sans modèle enregistré (arrêté au pas {step})",
    "sweep job {id} stopped before its last point": "le balayage {id} s'est arrêté avant son dernier point",
    "evaluation of {model} on {benchmark} is missing after its job":
        "l'évaluation de {model} sur {benchmark} manque après sa tâche",

    # state.py: the study's error (the stage that stopped it and why)
    "{stage}: job {id} ({kind}) {status}: {reason}": "{stage} : tâche {id} ({kind}) {status} : {reason}",
    "{stage}: job {id} ({kind}) failed: {reason}": "{stage} : la tâche {id} ({kind}) a échoué : {reason}",
    "{stage}: job {id} ({kind}) cancelled: {reason}": "{stage} : la tâche {id} ({kind}) a été annulée : {reason}",
    "report: {reason}": "rapport : {reason}",

    # the stage titles and states ("done", "pending", "deleted") are in messages_fr_view.py (the Reproduce tab)
}
