"""English and French labels of the Train, Models and Jobs tabs (a form field's labels are on the field itself:
frbio_core.config.labels), and the glossary the French follows (one French term per medical or ML term, everywhere in
the interface)."""
from __future__ import annotations

# English term (a whole word of an English label, any case, plural too) → the French every French label uses for it
# (a regular expression).
GLOSSARY: dict[str, str] = {
    "job": r"tâches?", "snapshot": r"instantanés?", "checkpoint": r"points? de contrôle", "merge": r"fusion",
    "learning rate": r"taux d'apprentissage", "perplexity": r"perplexité", "tokenizer": r"tokeniseur",
    "training": r"entraînement", "base model": r"modèles? de base", "licence": r"licence", "device": r"processeurs?",
    "queue": r"file d'attente", "owner": r"propriétaire", "log": r"journal", "seed": r"graine",
    "deduplication": r"dédoublonnage", "near-duplicate": r"quasi-doublons?", "weights": r"poids",
    "benchmark": r"bancs? d'essai", "batch": r"lots?", "warm-up": r"échauffement",
}

EN: dict[str, str] = {
    "tab.train": "Train", "tab.models": "Models",
    # Train tab
    "train.device": "Device", "train.estimate": "Estimate memory and time", "train.command": "Show command",
    "train.launch": "Launch training", "train.command_label": "Command line",
    # Models tab
    "models.pick": "Model", "models.refresh": "Refresh", "models.import": "Import a local Hugging Face folder",
    "models.path": "Folder path", "models.name": "Name (optional)", "models.licence": "Licence (if the card has none)",
    "models.copy": "Copy into frbio_home/models", "models.import_button": "Import",
    "models.replace": "Replace the model with that id (its owner or an admin)",
    "corpus.replace": "Replace the uploaded source of that name (its owner or an admin)",
    "models.download": "Download from the Hugging Face Hub (background job)", "models.download_button": "Download",
    "models.publish": "Publish to the Hugging Face Hub", "models.publish_what": "What",
    "models.item": "Model or snapshot", "models.repo": "Hub repository (owner/name)",
    "models.token": "Your Hugging Face token (write access; never stored)", "models.private": "Private repository",
    "models.publish_button": "Publish",
    # Jobs panel and header
    "jobs.delete": "Delete", "jobs.devices": "Devices", "jobs.mine": "My jobs only",
    "app.language": "Language", "app.signed_in": "Signed in as",
}

FR: dict[str, str] = {
    "tab.train": "Entraînement", "tab.models": "Modèles",
    "train.device": "Processeur de calcul", "train.estimate": "Estimer la mémoire et la durée",
    "train.command": "Afficher la commande", "train.launch": "Lancer l'entraînement",
    "train.command_label": "Ligne de commande",
    "models.pick": "Modèle", "models.refresh": "Actualiser", "models.import": "Importer un dossier Hugging Face local",
    "models.path": "Chemin du dossier", "models.name": "Nom (facultatif)",
    "models.licence": "Licence (si la fiche n'en indique pas)", "models.copy": "Copier dans frbio_home/models",
    "models.import_button": "Importer",
    "models.replace": "Remplacer le modèle de même identifiant (son propriétaire ou un admin)",
    "corpus.replace": "Remplacer la source déposée de même nom (son propriétaire ou un admin)",
    "models.download": "Télécharger depuis le Hub Hugging Face (tâche de fond)",
    "models.download_button": "Télécharger",
    "models.publish": "Publier sur le Hub Hugging Face", "models.publish_what": "Quoi",
    "models.item": "Modèle ou instantané", "models.repo": "Dépôt sur le Hub (propriétaire/nom)",
    "models.token": "Votre jeton Hugging Face (droit d'écriture ; jamais conservé)", "models.private": "Dépôt privé",
    "models.publish_button": "Publier",
    "jobs.delete": "Supprimer", "jobs.devices": "Processeurs de calcul", "jobs.mine": "Mes tâches seulement",
    "app.language": "Langue", "app.signed_in": "Connecté en tant que",
}
