"""The eval config: one pydantic object from which the Compare tab's settings form, the `python -m backend eval`
and `compare` flags and the eval job's config.json are generated. Few-shot defaults are the paper's (Mannion et al.,
LREC 2026): 3 examples for the medical benchmarks, 5 for the general ones."""
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from frbio_core.config import labels, parse_config
from backend.errors import EvalError


def default_tasks(settings=None) -> list[str]:
    """The benchmarks whose metadata says `default: true`: the built-in ones (assets/benchmarks), and with `settings`
    those of the data folders and uploads too."""
    from backend.evaluation.benchmarks import discover

    return [name for name, spec in discover(settings)[0].items() if spec.default]


DEFAULT_TASKS = default_tasks()   # the built-in defaults, as read when this module was imported


def split_names(value) -> list[str]:
    """A list of names from a list and/or comma-separated strings ("a,b" or ["a,b", "c"]), in order, no repeats."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    out = [p.strip() for item in items for p in str(item).split(",") if p.strip()]
    return list(dict.fromkeys(out))


class EvalConfig(BaseModel):
    """Evaluate a registered model on benchmarks (lm-eval) and perplexity; results are cached per task."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("smollm2-135m-instruct", description="Registered model to evaluate (its id in the registry).",
        json_schema_extra=labels("Model", "Modèle",
            description_fr="Modèle enregistré à évaluer (son identifiant dans le registre)."))
    tasks: list[str] = Field(default_factory=lambda: default_tasks(), description=(
        "Benchmarks to run: frenchmedmcqa_single (accuracy), frenchmedmcqa_all (EMR and Hamming score, generated "
        "answers), sib200_fr, pubmedqa, perplexity (domain vs general), a data folder's benchmark or an uploaded "
        "one (custom_…); `python -m backend benchmarks list` lists them. "
        "Comma-separated on the command line."),
        json_schema_extra=labels("Benchmarks", "Bancs d'essai",
            description_fr=("Bancs d'essai à lancer : frenchmedmcqa_single (exactitude), frenchmedmcqa_all (EMR et score de "
            "Hamming, réponses générées), sib200_fr, pubmedqa, perplexity (domaine contre général), le banc "
            "d'essai d'un dossier de données ou un banc d'essai déposé (custom_…) ; `python -m backend "
            "benchmarks list` les liste. Séparés par des virgules en ligne de commande.")))
    fewshot_medical: int = Field(3, ge=0, le=25, description=(
        "Worked examples shown before each question of a medical benchmark (the paper: 3)."),
            json_schema_extra=labels("Worked examples (medical benchmarks)", "Exemples résolus (bancs d'essai médicaux)",
            description_fr="Exemples résolus montrés avant chaque question d'un banc d'essai médical (l'article : 3)."))
    fewshot_general: int = Field(5, ge=0, le=25, description=(
        "Worked examples shown before each item of a general-domain benchmark (the paper: 5)."),
            json_schema_extra=labels("Worked examples (general benchmarks)", "Exemples résolus (bancs d'essai généraux)",
            description_fr=("Exemples résolus montrés avant chaque question d'un banc d'essai du domaine général (l'article :"
            " 5).")))
    limit: Optional[int] = Field(None, ge=1, le=1_000_000, description=(
        "Evaluate only the first N items of each benchmark, for a quick check (empty: every item). Cached apart "
        "from full runs."), json_schema_extra=labels("Items per benchmark", "Questions par banc d'essai (vide : toutes)",
            description_fr=("N'évaluer que les N premières questions de chaque banc d'essai, pour un contrôle rapide (vide : "
            "toutes). Mis en cache à part des évaluations complètes.")))
    fewshot_seed: int = Field(1234, ge=0, description="Seed that draws the few-shot examples (lm-eval's default).",
        json_schema_extra=labels("Seed for the examples", "Graine des exemples",
            description_fr="Graine du tirage des exemples résolus (la valeur par défaut de lm-eval)."))
    batch_size: int = Field(8, ge=1, le=1024, description=(
        "Sequences scored together. Speed only: not part of the cache key."),
            json_schema_extra=labels("Batch size", "Taille de lot",
            description_fr="Séquences notées ensemble. Vitesse seulement : ne fait pas partie de la clé du cache."))
    snapshot: str = Field("", description=(
        "Corpus snapshot whose validation split (domain) and general-domain validation text (French, English) are "
        "measured by the perplexity task. Empty: the newest snapshot."),
            json_schema_extra=labels("Corpus snapshot (perplexity)", "Instantané du corpus (perplexité)",
            description_fr=("Instantané du corpus dont la partie de validation (domaine) et le texte de validation du domaine"
            " général (français, anglais) sont mesurés par la tâche de perplexité. Vide : l'instantané le "
            "plus récent.")))
    ppl_block_size: int = Field(256, ge=16, le=131_072, description="Tokens per perplexity block (as in training).",
        json_schema_extra=labels("Perplexity block size", "Taille des blocs (perplexité)",
            description_fr="Tokens par bloc de perplexité (comme à l'entraînement)."))
    ppl_max_blocks: int = Field(64, ge=1, le=1_000_000, description=(
        "Blocks measured per validation set (the first ones, in the fixed order training uses)."),
            json_schema_extra=labels("Perplexity blocks per set", "Blocs par ensemble (perplexité)",
            description_fr="Blocs mesurés par jeu de validation (les premiers, dans l'ordre fixe de l'entraînement)."))

    run: str = Field("", description=(
        "A training job id (job-…): evaluate its trajectory instead of one model: the base (step 0), every "
        "checkpoint the run kept as a model, and the trained model."), json_schema_extra={**labels("Training run", "Entraînement", description_fr=("Identifiant d'une tâche d'entraînement (job-…) : évaluer sa trajectoire plutôt qu'un modèle : le"
            " modèle de base (pas 0), chaque point de contrôle gardé comme modèle, et le modèle entraîné.")), "ui": "hidden"})
    follow: bool = Field(False, description=(
        "With a run still going: also evaluate each checkpoint it keeps from now on, as it is written (one queued "
        "eval job per checkpoint, on any free device)."), json_schema_extra=labels(
            "While the run goes on, also evaluate each checkpoint as it is written",
            "Pendant l'entraînement, évaluer aussi chaque point de contrôle dès qu'il est écrit", ui="hidden",
            description_fr=("Pendant un entraînement en cours : évaluer aussi chaque point de contrôle qu'il garde désormais,"
            " dès qu'il est écrit (une tâche d'évaluation en file d'attente par point de contrôle, sur tout "
            "processeur libre).")))

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks(cls, value):
        from backend.evaluation.tasks import canonical_name

        names = [canonical_name(n) for n in split_names(value)]
        if not names:
            raise ValueError("choose at least one task")
        return names

    @field_validator("model", "snapshot", "run", mode="before")
    @classmethod
    def _strip(cls, value):
        return value.strip() if isinstance(value, str) else value


def parse_eval_config(data: dict | EvalConfig) -> EvalConfig:
    return parse_config(EvalConfig, data, "eval config", EvalError)
