"""The study config: a budget preset (`smallest` for tests and demos, `cpu-hour` the default: the whole study within an
hour on 2 CPU cores) and optional overrides of single fields. One pydantic object generates the Reproduce tab's form,
the `python -m backend reproduce` flags and the study row's saved config; `resolve()` fills every field left empty
from the preset."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.errors import StudyError
from backend.evaluation.benchmarks import known_study_name, study_names
from frbio_core.config import labels, parse_config


def study_benchmarks(settings=None) -> list[str]:
    """The study's benchmarks (short names): those whose metadata says `study: true`, the built-in ones
    (assets/benchmarks), and with `settings` those of the data folders and uploads too."""
    return study_names(settings)


BENCHMARKS = study_benchmarks()   # the built-in ones, as read when this module was imported
SWEEP_GRID = [round(i / 10, 1) for i in range(11)]

# What each budget means. cpu-hour is sized from measurements on this 2-core machine (docs/study.md "Reproducing the
# paper's question"): DAPT of SmolLM2-135M at ~160 tok/s in fp32 on the Intel Xeon CI machine (bf16 is slower there),
# evaluation ~1.6 s per FrenchMedMCQA-single item, ~0.9 s per FrenchMedMCQA-all item, ~3 s per SIB-200 and PubMedQA
# item (few-shot contexts), so that four models are scored in about 25 minutes.
PRESETS: dict[str, dict] = {
    "smallest": dict(
        max_steps=4, micro_batch_size=2, block_size=64, learning_rate=1e-3, train_eval_every=2, compile="off",
        sweep_grid=[0.0, 0.5, 1.0], ppl_blocks=4, ppl_batch_size=2,
        eval_limits={"frenchmedmcqa_single": 5, "frenchmedmcqa_all": 5, "sib200_fr": 5, "pubmedqa": 5},
        fewshot_medical=1, fewshot_general=1,
        description="a smoke test: 4 training steps of 2 × 64 tokens, a 3-point sweep, 5 items per benchmark, "
                    "4 blocks of 64 tokens per perplexity set (minutes; the numbers mean nothing)"),
    "cpu-hour": dict(
        max_steps=150, micro_batch_size=4, block_size=256, learning_rate=2e-5, train_eval_every=50, compile="auto",
        sweep_grid=SWEEP_GRID, ppl_blocks=16, ppl_batch_size=4,
        eval_limits={"frenchmedmcqa_single": 60, "frenchmedmcqa_all": 40, "sib200_fr": 40, "pubmedqa": 25},
        fewshot_medical=3, fewshot_general=5,
        description="DAPT of 150 steps × 4 × 256 tokens (≈ 0.15 M tokens, lr 2e-5 cosine, the paper's), SLERP sweep "
                    "t = 0, 0.1, …, 1, perplexity on 16 blocks of 256 tokens per set, the first 60 items of "
                    "FrenchMedMCQA single, 40 of FrenchMedMCQA all and SIB-200-fr, 25 of PubMedQA (the paper's "
                    "3 / 5 worked examples); under one hour on 2 CPU cores"),
}
# The same study scored on every test item: statistical power bought with time (the estimate says how much).
PRESETS["full-tests"] = {
    **PRESETS["cpu-hour"], "eval_limits": {},
    "description": "the cpu-hour DAPT and sweep, then every test item of every benchmark, so that smaller "
                   "differences can be told apart (hours on 2 CPU cores: see the time estimate)"}


class StudyConfig(BaseModel):
    """Reproduce the paper's question on one base model: DAPT on a commercial-only snapshot, a SLERP sweep between
    base and DAPT, then benchmarks and perplexities of base, DAPT, t = 0.5 and the best sweep point."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=80, description="A label for the study (shown in lists and the report).",
        json_schema_extra=labels("Study name", "Nom de l'étude",
            description_fr="Un nom pour l'étude (affiché dans les listes et le rapport)."))
    budget: Literal["smallest", "cpu-hour", "full-tests"] = Field("cpu-hour", description=(
        "Preset sizes: 'cpu-hour' (the whole study in under an hour on 2 CPU cores), 'full-tests' (the same, scored "
        "on every test item: more power, more time) or 'smallest' (a smoke test in minutes). The fields below left "
        "empty take the preset's value."), json_schema_extra=labels("Budget", "Budget",
            description_fr=("Tailles prédéfinies : « cpu-hour » (toute l'étude en moins d'une heure sur 2 cœurs CPU), « "
            "full-tests » (la même, notée sur toutes les questions de test : plus de puissance, plus de "
            "temps) ou « smallest » (un essai rapide en quelques minutes). Les champs ci-dessous laissés "
            "vides prennent la valeur du budget.")))
    base_model: str = Field("smollm2-135m-instruct", description=(
        "Registered base model to specialise (the offline default is SmolLM2-135M-Instruct)."),
            json_schema_extra=labels("Model to specialise", "Modèle à spécialiser",
            description_fr="Modèle de base enregistré à spécialiser (par défaut, hors ligne : SmolLM2-135M-Instruct)."))
    sources: list[str] = Field(default_factory=list, description=(
        "Domain sources of the snapshot (empty: every source whose licence allows commercial use)."),
        json_schema_extra=labels("Domain sources (none ticked: every commercial source)",
                                 "Sources du domaine (aucune cochée : toutes les sources commerciales)",
            description_fr=("Sources du domaine de l'instantané (vide : toutes les sources dont la licence autorise l'usage "
            "commercial).")))
    license_mode: Literal["commercial", "research"] = Field("commercial", description=(
        "'commercial' (the paper's released corpus): only sources that allow commercial use; 'research' also admits "
        "research-only sources."), json_schema_extra=labels("Licences admitted", "Licences admises",
            description_fr=("« commercial » (le corpus publié de l'article) : seulement les sources qui autorisent l'usage "
            "commercial ; « research » admet aussi les sources réservées à la recherche.")))
    max_steps: Optional[int] = Field(None, ge=1, le=10_000_000, description="DAPT optimizer steps (empty: preset).",
        json_schema_extra=labels("DAPT steps", "Pas de DAPT",
            description_fr="Pas d'optimisation du DAPT (vide : valeur du budget)."))
    micro_batch_size: Optional[int] = Field(None, ge=1, le=1024, description="DAPT blocks per step (empty: preset).",
        json_schema_extra=labels("Micro-batch size", "Taille du micro-lot",
            description_fr="Blocs de DAPT par pas (vide : valeur du budget)."))
    block_size: Optional[int] = Field(None, ge=16, le=131_072, description=(
        "Tokens per packed block, for training and every perplexity (empty: preset)."),
        json_schema_extra=labels("Block size (tokens)", "Taille des blocs (tokens)",
            description_fr="Tokens par bloc, pour l'entraînement et chaque perplexité (vide : valeur du budget)."))
    learning_rate: Optional[float] = Field(None, gt=0.0, le=1.0, json_schema_extra={**labels("Learning rate", "Taux d'apprentissage", description_fr="Taux d'apprentissage maximal du DAPT (vide : valeur du budget ; l'article : 2e-5)."), "ui": "number"},
                                           description="DAPT peak learning rate (empty: preset; the paper's 2e-5).")
    train_eval_every: Optional[int] = Field(None, ge=0, le=10_000_000, description=(
        "Perplexity curves during training every N steps (empty: preset)."),
        json_schema_extra=labels("Perplexity during training every N steps", "Perplexité pendant l'entraînement tous les N pas",
            description_fr="Courbes de perplexité pendant l'entraînement tous les N pas (vide : valeur du budget)."))
    compile: Optional[Literal["auto", "on", "off"]] = Field(None, description=(
        "torch.compile the model for training (empty: preset)."),
        json_schema_extra=labels("Compile the model (torch.compile)", "Compiler le modèle (torch.compile)",
            description_fr="Compiler le modèle pour l'entraînement avec torch.compile (vide : valeur du budget)."))
    num_gpus: int = Field(1, ge=1, le=64, description=(
        "GPUs for the DAPT job (a GPU server): more than one launches it through `accelerate launch`."),
        json_schema_extra=labels("GPUs", "Nombre de GPU",
            description_fr="GPU pour la tâche de DAPT (un serveur à GPU) : plus d'un la lance avec « accelerate launch »."))
    strategy: Literal["ddp", "fsdp"] = Field("fsdp", description=(
        "Multi-GPU strategy of the DAPT job: FSDP full shard (the paper) or DDP; ignored on one device."),
        json_schema_extra=labels("Multi-GPU strategy", "Stratégie multi-GPU",
            description_fr=("Stratégie multi-GPU de la tâche de DAPT : FSDP en partitionnement complet (l'article) ou DDP ; "
            "ignorée sur un seul processeur.")))
    sweep_grid: Optional[list[float]] = Field(None, description="SLERP t values of the sweep (empty: preset).",
        json_schema_extra=labels("SLERP t values of the sweep", "Valeurs de t du balayage SLERP",
            description_fr="Valeurs de t du balayage SLERP (vide : valeur du budget)."))
    ppl_blocks: Optional[int] = Field(None, ge=1, le=1_000_000, description=(
        "Blocks per perplexity set (domain validation, general French, general English), the same blocks for the "
        "sweep and the evaluations (empty: preset)."),
        json_schema_extra=labels("Blocks per perplexity set", "Blocs par jeu de perplexité",
            description_fr=("Blocs par jeu de perplexité (validation du domaine, français général, anglais général), les "
            "mêmes pour le balayage et les évaluations (vide : valeur du budget).")))
    ppl_batch_size: Optional[int] = Field(None, ge=1, le=1024, description="Blocks per forward pass (empty: preset).",
        json_schema_extra=labels("Perplexity batch size", "Taille des lots de perplexité",
            description_fr="Blocs par passe avant (vide : valeur du budget)."))
    benchmarks: list[str] = Field(default_factory=lambda: study_benchmarks(), description=(
        "Benchmarks of every compared model (perplexity is always measured)."),
            json_schema_extra=labels("Benchmarks", "Bancs d'essai",
            description_fr="Bancs d'essai de chaque modèle comparé (la perplexité est toujours mesurée)."))
    eval_limits: Optional[dict[str, int]] = Field(None, description=(
        "First N items of each benchmark, e.g. {\"pubmedqa\": 30} (empty: preset; 0 = every item)."),
            json_schema_extra=labels("Items per benchmark (JSON, 0 = all)", "Questions par banc d'essai (JSON, 0 = toutes)",
            description_fr=("Les N premières questions de chaque banc d'essai, par ex. {\"pubmedqa\": 30} (vide : valeur du "
            "budget ; 0 = toutes).")))
    fewshot_medical: Optional[int] = Field(None, ge=0, le=25, description=(
        "Worked examples before each medical benchmark question (empty: preset; the paper: 3)."),
        json_schema_extra=labels("Worked examples (medical benchmarks)", "Exemples résolus (bancs d'essai médicaux)",
            description_fr=("Exemples résolus avant chaque question d'un banc d'essai médical (vide : valeur du budget ; "
            "l'article : 3).")))
    fewshot_general: Optional[int] = Field(None, ge=0, le=25, description=(
        "Worked examples before each general benchmark item (empty: preset; the paper: 5)."),
        json_schema_extra=labels("Worked examples (general benchmarks)", "Exemples résolus (bancs d'essai généraux)",
            description_fr=("Exemples résolus avant chaque question d'un banc d'essai général (vide : valeur du budget ; "
            "l'article : 5).")))
    best_by: Literal["balanced", "domain", "general"] = Field("balanced", description=(
        "How the best sweep point (0 < t < 1) is chosen: 'balanced' the lowest mean log perplexity ratio to the base "
        "over domain, general French and general English; 'domain' the lowest domain perplexity; 'general' the "
        "lowest mean general perplexity."),
            json_schema_extra=labels("Best sweep point chosen by", "Meilleur point du balayage choisi selon",
            description_fr=("Comment choisir le meilleur point du balayage (0 < t < 1) : « balanced » le plus petit rapport "
            "moyen des log-perplexités au modèle de base sur le domaine, le français général et l'anglais "
            "général ; « domain » la plus petite perplexité du domaine ; « general » la plus petite "
            "perplexité générale moyenne.")))
    checkpoint_best_by: Literal["off", "balanced", "domain", "general"] = Field("off", description=(
        "Also merge (SLERP t = 0.5) and evaluate the best checkpoint of the DAPT run, as the paper's released merges "
        "did: the run keeps a checkpoint at every perplexity measurement and the best one by this criterion (the "
        "same rules as the sweep's best point, the trained model included) is merged and compared next to the final "
        "one; 'off' merges only the final model."),
            json_schema_extra=labels("Also merge the best checkpoint, chosen by",
                                     "Fusionner aussi le meilleur point de contrôle, choisi selon",
            description_fr=("Fusionner aussi (SLERP t = 0,5) et évaluer le meilleur point de contrôle du DAPT, comme les "
            "fusions publiées de l'article : l'entraînement garde un point de contrôle à chaque mesure de "
            "perplexité, et le meilleur selon ce critère (les mêmes règles que pour le meilleur point du "
            "balayage, modèle entraîné compris) est fusionné et comparé à côté du modèle final ; « off » ne "
            "fusionne que le modèle final.")))
    seed: int = Field(42, ge=0, le=2**32 - 1, description="Seed of the snapshot split, the block order and few-shot draws.",
        json_schema_extra=labels("Random seed", "Graine aléatoire",
            description_fr="Graine du découpage de l'instantané, de l'ordre des blocs et du tirage des exemples."))

    @field_validator("benchmarks", mode="before")
    @classmethod
    def _benchmarks(cls, value):
        from backend.evaluation.config import split_names

        names = [n[len("frbio_"):] if n.startswith("frbio_") else n for n in split_names(value)]
        unknown = [n for n in names if not known_study_name(n)]
        if unknown:
            raise ValueError(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(study_benchmarks())})")
        return names

    @field_validator("sweep_grid")
    @classmethod
    def _grid(cls, value):
        if value is None:
            return None
        if not value or any(not 0.0 <= t <= 1.0 for t in value):
            raise ValueError("give t values between 0 and 1")
        return sorted(set(round(float(t), 6) for t in value))

    @field_validator("eval_limits")
    @classmethod
    def _limits(cls, value):
        if value is None:
            return None
        bad = [k for k in value if not known_study_name(k.removeprefix("frbio_"))]
        if bad:
            raise ValueError(f"unknown benchmark {', '.join(bad)} (known: {', '.join(study_benchmarks())})")
        if any(int(v) < 0 for v in value.values()):
            raise ValueError("a limit is a number of items, 0 for all")
        return {k.removeprefix("frbio_"): int(v) for k, v in value.items()}

    @model_validator(mode="after")
    def _checkpoints(self):
        every, steps = self.train_eval_every, self.max_steps
        if self.checkpoint_best_by != "off" and every is not None and steps is not None and not 0 < every < steps:
            raise ValueError("checkpoint_best_by needs checkpoints: set train_eval_every between 1 and max_steps - 1 "
                             f"(it is {every} for {steps} steps)")
        return self

    def resolve(self) -> "StudyConfig":
        """A copy with every empty field set from the budget preset (eval limits merged over the preset's)."""
        preset = PRESETS[self.budget]
        values = self.model_dump()
        for name, default in preset.items():
            if name in values and values[name] is None:
                values[name] = default
        values["eval_limits"] = {**preset["eval_limits"], **(self.eval_limits or {})}
        return StudyConfig.model_validate(values)

    def budget_text(self) -> str:
        """The budget in words, for the screen and the report."""
        return f"{self.budget}: {PRESETS[self.budget]['description']}"


def with_budget(values: dict, budget: str) -> dict:
    """`values` with another budget and every field that budget presets emptied, so resolve() fills them from it
    (the Reproduce tab's budget switch: the form then shows what will run)."""
    return {**values, "budget": budget, **{k: None for k in PRESETS.get(budget, {}) if k in StudyConfig.model_fields}}


def parse_study_config(data: dict | StudyConfig) -> StudyConfig:
    return parse_config(StudyConfig, data, "study config", StudyError)
