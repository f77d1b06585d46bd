"""French for the sentences frbio_ui writes (frbio_core.translations)."""
from __future__ import annotations

FR: dict[str, str] = {
    # jobs_panel
    "Choose a job first.": "Choisissez d'abord une tâche.",
    "Cancelled {job_id}.": "Tâche {job_id} annulée.",
    "{job_id} is queued again; it continues from its last checkpoint.":
        "{job_id} est de nouveau en file d'attente ; elle reprendra à son dernier point de contrôle.",
    "Deleted {job_id} (its log, metrics and checkpoints).":
        "Tâche {job_id} supprimée (avec son journal, ses métriques et ses points de contrôle).",
    "Cloned {job_id} as {new_id}.": "Tâche {job_id} dupliquée sous le nom {new_id}.",
    "unknown job {job_id}": "tâche inconnue {job_id}",
    "(the log of a job is shown to its owner and admins)":
        "(le journal d'une tâche n'est montré qu'à son propriétaire et aux administrateurs)",
    # launch: the follower and the launch message (`launched` templates of the tabs, formatted)
    "✅ {ids} succeeded": "✅ {ids} : réussie(s)",
    "✅ {title}: nothing to run (every result is cached).":
        "✅ {title} : rien à lancer (tous les résultats sont déjà en cache).",
    "⏳ {title} queued as **{ids}**…": "⏳ {title} en file d'attente : **{ids}**…",
    "✅ **{ids}** started: its stages run as background jobs and appear below.":
        "✅ **{ids}** démarrée : ses étapes s'exécutent en tâches de fond et s'affichent ci-dessous.",
    # reproduce_tab
    "Choose a study first.": "Choisissez d'abord une étude.",
    "{study_id}: cancelled (resumable).": "{study_id} : annulée (reprenable).",
    "{study_id}: resumed.": "{study_id} : reprise.",
    "This study has no report yet.": "Cette étude n'a pas encore de rapport.",
    # compare_tab
    "❌ Choose a .jsonl file first.": "❌ Choisissez d'abord un fichier .jsonl.",
    "✅ **{title}**: {n_items} questions, {n_fewshot} worked examples (task `{task}`).":
        "✅ **{title}** : {n_items} questions, {n_fewshot} exemples résolus (tâche `{task}`).",
    # corpus_tab
    "{domain} domain and {general} general-domain sources.":
        "{domain} sources du domaine et {general} sources générales.",
    "Token counts for '{tokenizer}' are cached.": "Les comptes de tokens pour « {tokenizer} » sont en cache.",
    "❌ Choose a file first.": "❌ Choisissez d'abord un fichier.",
    "✅ Added {sources}": "✅ Ajouté : {sources}",
    "✅ Imported {dataset_id}": "✅ {dataset_id} importé",
    "Choose a source.": "Choisissez une source.",
    "No documents.": "Aucun document.",
    "document dropped": "document retiré",
    "unchanged": "inchangé",
    "❌ Choose a snapshot first.": "❌ Choisissez d'abord un instantané.",
    "({seconds:.1f} s; written to the snapshot's card and manifest)":
        "({seconds} s ; écrit dans la fiche et le manifeste de l'instantané)",
    # generate_tab
    "choose 2 to 4 models to compare": "choisissez de 2 à 4 modèles à comparer",
    "chat template": "modèle de conversation",
    "raw completion": "complétion brute",
    "⏳ loading": "⏳ chargement",
    "⏹ stopped": "⏹ arrêté",
    "first token {seconds:.2f} s": "premier token {seconds} s",
    "⏹ stopping…": "⏹ arrêt en cours…",
    # merge_tab
    "⚡ weights ready in **{weights_s:.2f} s** ({tensors} tensors) · first token of the merged model in "
    "{first_token_s:.2f} s · {total_s:.2f} s for {tokens} tokens":
        "⚡ poids prêts en **{weights_s} s** ({tensors} tenseurs) · premier token du modèle fusionné en "
        "{first_token_s} s · {total_s} s pour {tokens} tokens",
    # models_tab
    "Trained on snapshot `{snapshot_id}`.": "Entraîné sur l'instantané `{snapshot_id}`.",
    "Folder: `{path}` · origin: {origin}": "Dossier : `{path}` · origine : {origin}",
    "✅ Registered **{model_id}**: {architecture}, {millions:,.1f} M parameters.":
        "✅ **{model_id}** enregistré : {architecture}, {millions} M paramètres.",
    "✅ Published to {url}": "✅ Publié sur {url}",
    # train_tab
    "**{millions:,.1f} M parameters · {tokens:,} tokens over {steps:,} steps ({per_step:,} per step)**":
        "**{millions} M paramètres · {tokens} tokens en {steps} pas ({per_step} par pas)**",
    "| device | precision | needed | weights | gradients | optimizer | activations | available | fits? | time |":
        "| processeur | précision | nécessaire | poids | gradients | optimiseur | activations | disponible "
        "| tient ? | durée |",
    "✅ fits": "✅ tient",
    "❌ does not fit": "❌ ne tient pas",
    "fits with gradient checkpointing": "tient avec le gradient checkpointing",
    # trajectory_panel
    "**{run}**: {n} points (steps {steps}).": "**{run}** : {n} points (pas {steps}).",
    # downloads
    "{file}: no such file": "{file} : fichier introuvable",
    "{file}: only files of snapshots, models, evaluations and reports can be downloaded":
        "{file} : seuls les fichiers des instantanés, modèles, évaluations et rapports peuvent être téléchargés",
}
