"""The corpus recipe: one config object (help text per field) that drives the Corpus tab form, the CLI and the
snapshot's manifest."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from frbio_core.config import labels, load_config_file, parse_config
from backend.corpus.cleaning import CleaningConfig
from backend.corpus.readers import CorpusInputError

Weight = Annotated[float, Field(ge=0, le=100)]


class Recipe(BaseModel):
    """How to turn catalogued sources into a training snapshot."""

    model_config = ConfigDict(extra="forbid")
    # the form's sections (and `corpus build --help`'s), named by `group=` on the fields; the rest shows first
    GROUPS: ClassVar[dict] = {
        "filters": {"label": "Filters", "label_fr": "Filtres"},
        "mixing": {"label": "General-domain replay", "label_fr": "Texte général (replay)"},
        "split": {"label": "Split, seed and tokenizer", "label_fr": "Découpage, graine et tokeniseur"},
    }

    name: str = Field("", description="A label for the snapshot (shown in lists; not part of its id).",
        json_schema_extra=labels("Name", "Nom",
            description_fr="Un nom pour l'instantané (affiché dans les listes ; ne fait pas partie de son identifiant)."))
    sources: list[str] = Field(default_factory=list, description=(
        "Domain sources to include. Empty means every domain source the licence mode allows."),
            json_schema_extra=labels("Sources", "Sources du domaine",
            description_fr='Sources du domaine à inclure. Vide : toutes celles que le mode de licence admet.'))
    license_mode: Literal["commercial", "research"] = Field("commercial", description=(
        "'commercial' keeps only sources whose licence allows commercial use; 'research' also admits "
        "research-only sources, and the snapshot is then marked non-commercial."),
            json_schema_extra=labels("License mode", "Licences admises",
            description_fr=("« commercial » ne garde que les sources dont la licence autorise l'usage commercial ; « "
                "research » admet aussi les sources réservées à la recherche, et l'instantané est alors "
                'marqué non commercial.')))
    document_types: list[str] = Field(default_factory=list, description=(
        "Keep only these document types (e.g. clinical_case). Empty means all."),
            json_schema_extra=labels("Document types", "Types de documents", group="filters",
            description_fr='Ne garder que ces types de documents (par ex. clinical_case). Vide : tous.'))
    min_words: int = Field(0, ge=0, le=1_000_000, description="Drop cleaned documents shorter than this (words).",
        json_schema_extra=labels("Min words", "Mots minimum par document", group="filters",
            description_fr='Écarter les documents nettoyés plus courts que cela (en mots).'))
    max_words: int = Field(0, ge=0, le=10_000_000, description="Drop cleaned documents longer than this (0 = no limit).",
        json_schema_extra=labels("Max words", "Mots maximum par document", group="filters",
            description_fr='Écarter les documents nettoyés plus longs que cela (0 = sans limite).'))
    weights: dict[str, Weight] = Field(default_factory=dict, description=(
        "Per-source mixing weight (default 1). Without a token budget, a weight is how many times the source's "
        "training documents are used (0.5 = half, 2 = twice); with a budget, it scales the source's natural share."))
    target_tokens: int = Field(0, ge=0, le=10**12, description=(
        "Training token budget reached by up/down-sampling sources by their weights (0 = weights as repeat counts)."),
            json_schema_extra=labels("Target tokens", "Budget de tokens",
            description_fr=("Budget de tokens d'entraînement, atteint en sur- ou sous-échantillonnant les sources selon "
                'leurs poids (0 = les poids comptent les répétitions).')))
    replay_fraction: float = Field(0.0, ge=0.0, le=0.9, description=(
        "Share of general-domain text mixed into the training split (replay, against forgetting)."),
            json_schema_extra=labels("Replay fraction", "Part de texte général (replay)", group="mixing",
            description_fr="Part de texte général mêlée à la partie entraînement (replay, contre l'oubli)."))
    general_sources: list[str] = Field(default_factory=list, description=(
        "General-domain training sources used for replay. Empty means every French general-domain train file."),
            json_schema_extra=labels("General sources", "Sources générales pour le replay", group="mixing",
            description_fr=("Sources générales d'entraînement pour le replay. Vide : chaque fichier d'entraînement "
                'général en français.')))
    validation_fraction: float = Field(0.01, gt=0.0, le=0.5, description=(
        "Share of each source's documents held out for validation (stratified by source, at least one each)."),
            json_schema_extra=labels("Validation fraction", "Part de validation", group="split",
            description_fr=('Part des documents de chaque source mise de côté pour la validation (stratifiée par source, '
                'au moins un chacune).')))
    seed: int = Field(42, description="Seed for the split and the sampling: same seed, same snapshot.",
        json_schema_extra=labels("Seed", "Graine aléatoire", group="split",
            description_fr="Graine du découpage et de l'échantillonnage : même graine, même instantané."))
    tokenizer: str = Field("default", description=(
        "Tokenizer for token counts: 'default' (SmolLM2), a model name under frbio_home/models, or a local folder."),
            json_schema_extra=labels("Tokenizer", "Tokeniseur", group="split",
            description_fr=('Tokeniseur des comptes de tokens : « default » (SmolLM2), un nom de modèle sous '
                'frbio_home/models, ou un dossier local.')))
    cleaning: CleaningConfig = Field(default_factory=CleaningConfig, description="Cleaning and deduplication steps.",
                                     json_schema_extra=labels("Cleaning and deduplication steps",
                                                              "Nettoyage et dédoublonnage",
            description_fr='Étapes de nettoyage et de dédoublonnage.'))

    def content_key(self) -> dict:
        """The fields that define the snapshot's content (the name is only a label)."""
        return self.model_dump(exclude={"name"}, mode="json")


def parse_recipe(data: dict) -> Recipe:
    return parse_config(Recipe, data, "recipe", CorpusInputError)


def load_recipe(path: Path | str) -> Recipe:
    """A recipe from a YAML or JSON file, with a clear message for a missing or malformed file."""
    return parse_recipe(load_config_file(path, "recipe", CorpusInputError))
