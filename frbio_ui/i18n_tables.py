"""Words the server writes into tables and charts (column headers, status words, chart titles and axes), in English
and French: a gradio Dataframe's headers and a plot's titles cannot take a gr.I18n value, so the handlers write them
in the viewer's language (frbio_ui.session.viewer_language) with `columns` and `word`."""
from __future__ import annotations

# column header (as the backend names it) → French; the English is the header itself
COLUMNS_FR: dict[str, str] = {
    # Models tab
    "model": "modèle", "kind": "type", "architecture": "architecture", "parameters": "paramètres", "dtype": "dtype",
    "size on disk": "taille sur disque", "context": "contexte", "vocabulary": "vocabulaire",
    "chat template": "modèle de conversation", "licence": "licence", "parents": "parents",
    "commercial use": "usage commercial",
    # job tables (jobs.views.JOB_HEADERS) and devices
    "job": "tâche", "part of": "fait partie de", "owner": "propriétaire", "status": "statut", "device": "processeur",
    "progress": "progression", "ETA": "fin estimée", "started": "démarrée", "message": "message", "name": "nom",
    "memory": "mémoire", "utilisation": "utilisation", "jobs / slots": "tâches / places",
    # Reproduce tab (backend.study.view)
    "stage": "étape", "wall time": "durée", "jobs": "tâches", "what": "quoi", "id": "identifiant",
    "where to see it": "où le voir",
    # Corpus tab (sources and snapshots)
    "source": "source", "document type": "type de document", "documents": "documents", "words": "mots",
    "tokens": "tokens", "licence status": "statut de licence", "train docs": "documents d'entraînement",
    "validation docs": "documents de validation", "train tokens": "tokens d'entraînement", "sources": "sources",
}
# status and other single words the server writes into cells
WORDS_FR: dict[str, str] = {
    "yes": "oui", "no": "non", "queued": "en file d'attente", "running": "en cours", "done": "terminée",
    "failed": "échouée", "failed (resumable)": "échouée (reprenable)", "cancelled": "annulée", "waiting": "en attente",
    "succeeded": "réussie", "ETA": "fin estimée",
    "step": "pas", "train loss": "perte d'entraînement", "domain perplexity": "perplexité du domaine",
    "general perplexity": "perplexité générale", "learning rate": "taux d'apprentissage",
    "domain perplexity (validation)": "perplexité du domaine (validation)",
    "general French perplexity": "perplexité en français général",
    "general English perplexity": "perplexité en anglais général",
    "tokens": "tokens", "words per document": "mots par document", "documents": "documents",
    "Training tokens by source": "Tokens d'entraînement par source",
    "Training tokens by source (estimate)": "Tokens d'entraînement par source (estimation)",
    "Training documents by length": "Documents d'entraînement par longueur", "domain": "domaine",
    "general": "général", "train": "entraînement", "validation": "validation",
}


def columns(names, lang: str) -> list[str]:
    """Column headers in `lang` ('fr' or 'en')."""
    return [COLUMNS_FR.get(n, n) if lang == "fr" else n for n in names]


def word(text: str, lang: str) -> str:
    """A status word or chart label in `lang` (unknown words as they are)."""
    return WORDS_FR.get(text, text) if lang == "fr" else text
