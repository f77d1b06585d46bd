"""The one config object of side-by-side generation (and of the blind A/B arena): sampling settings shared by every
pane, the prompt format and the streaming strategy. Presets fill it. What changes the process for everyone (the memory
budget of loaded models, threads per worker) is not here: it is the operator's (Settings.generate_memory_mb and
generate_threads, held by the shared ModelCache)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from frbio_core.config import labels, parse_config
from backend.errors import GenerationError


class GenerateConfig(BaseModel):
    """Sampling settings applied identically to every pane (same seed per pane)."""

    do_sample: bool = Field(False, description="Sample the next token at random. Off = greedy decoding, the fair "
                            "comparison: every model gives its single most likely answer, the same each time.",
                            json_schema_extra=labels("Sampling (off: greedy)", "Échantillonnage (sinon : glouton)",
            description_fr=("Tirer le token suivant au hasard. Désactivé = décodage glouton, la comparaison équitable : "
            "chaque modèle donne sa réponse la plus probable, la même à chaque fois.")))
    temperature: float = Field(0.7, gt=0, le=2,
        json_schema_extra={**labels("Temperature", "Température",
            description_fr="Avec échantillonnage : en dessous de 1 plus tranché, au-dessus de 1 plus varié."), "step": 0.05},
                               description="With sampling: below 1 sharper, above 1 more varied.")
    top_p: float = Field(0.9, gt=0, le=1, json_schema_extra={**labels("Top-p", "Top-p",
            description_fr=("Avec échantillonnage : garder le plus petit ensemble de tokens dont les probabilités totalisent "
            "cette valeur (échantillonnage nucleus ; 1 = désactivé).")), "step": 0.01},
                         description="With sampling: keep the smallest set of tokens whose probabilities sum to "
                                     "this (nucleus sampling; 1 = off).")
    top_k: int = Field(0, ge=0, le=1000, description="With sampling: keep only the k most likely tokens (0 = off).",
        json_schema_extra=labels("Top-k", "Top-k",
            description_fr="Avec échantillonnage : ne garder que les k tokens les plus probables (0 = désactivé)."))
    repetition_penalty: float = Field(1.0, ge=1, le=2,
        json_schema_extra={**labels("Repetition penalty", "Pénalité de répétition",
            description_fr=("Au-dessus de 1, décourage la répétition de tokens déjà présents dans le texte d'entrée ou la "
            "réponse (1 = désactivé).")), "step": 0.05},
                                      description="Above 1 discourages repeating tokens already in the prompt or "
                                                  "answer (1 = off).")
    max_new_tokens: int = Field(128, ge=1, le=4096, description="Longest answer, in tokens (cut to fit the model's "
                                "context when the prompt is long).",
                                    json_schema_extra=labels("Max new tokens", "Nombre maximal de nouveaux tokens",
            description_fr=("Réponse la plus longue, en tokens (réduite pour tenir dans le contexte du modèle quand le texte "
            "d'entrée est long).")))
    seed: int = Field(42, ge=0, description="Random seed, the same for every pane: with sampling, the same seed gives "
                      "the same answers again.", json_schema_extra=labels("Seed", "Graine aléatoire",
            description_fr=("Graine aléatoire, la même pour chaque panneau : avec échantillonnage, la même graine redonne les"
            " mêmes réponses.")))
    prompt_format: Literal["auto", "raw", "chat"] = Field(
        "auto", description="auto: the chat template for instruct models (tokenizer with a chat template and a model "
        "registered as instruct), raw completion for base and DAPT models; raw: the prompt as is for every model; "
        "chat: the chat template wherever the tokenizer has one.",
            json_schema_extra=labels("Prompt format", "Format du texte d'entrée",
            description_fr=("auto : le modèle de conversation pour les modèles instruct (tokeniseur avec un modèle de "
            "conversation et modèle enregistré comme instruct), complétion brute pour les modèles de base et "
            "DAPT ; raw : le texte d'entrée tel quel pour chaque modèle ; chat : le modèle de conversation "
            "partout où le tokeniseur en a un.")))
    strategy: Literal["round_robin", "threads"] = Field(
        "round_robin", description="How panes stream together: one token of each model in turn in one thread "
        "(round_robin, faster on few cores, see bench/README.md), or one thread per model.",
            json_schema_extra=labels("Streaming strategy", "Stratégie de diffusion",
            description_fr=("Comment les panneaux défilent ensemble : un token de chaque modèle à tour de rôle dans un seul "
            "fil (round_robin, plus rapide avec peu de cœurs, voir bench/README.md), ou un fil par modèle.")))


# A preset sets only the fields it names; the rest keep their current values.
PRESETS: dict[str, dict] = {
    "fair": {"do_sample": False, "repetition_penalty": 1.0, "top_k": 0},
    "balanced": {"do_sample": True, "temperature": 0.7, "top_p": 0.9, "top_k": 0, "repetition_penalty": 1.1},
    "creative": {"do_sample": True, "temperature": 1.0, "top_p": 0.95, "top_k": 0, "repetition_penalty": 1.0},
}


def parse_generate_config(data: dict | GenerateConfig | None = None, preset: str | None = None) -> GenerateConfig:
    """A validated GenerateConfig from a dict (form values, CLI flags), a named preset applied on top."""
    if isinstance(data, GenerateConfig):
        data = data.model_dump()
    values = dict(data or {})
    if preset:
        if preset not in PRESETS:
            raise GenerationError(f"unknown preset '{preset}' (known: {', '.join(PRESETS)})")
        values.update(PRESETS[preset])
    return parse_config(GenerateConfig, values, "generation settings", GenerationError)
