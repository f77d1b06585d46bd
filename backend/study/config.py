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
        json_schema_extra=labels("Study name", "Nom de l'étude"))
    budget: Literal["smallest", "cpu-hour", "full-tests"] = Field("cpu-hour", description=(
        "Preset sizes: 'cpu-hour' (the whole study in under an hour on 2 CPU cores), 'full-tests' (the same, scored "
        "on every test item: more power, more time) or 'smallest' (a smoke test in minutes). The fields below left "
        "empty take the preset's value."), json_schema_extra=labels("Budget", "Budget"))
    base_model: str = Field("smollm2-135m-instruct", description=(
        "Registered base model to specialise (the offline default is SmolLM2-135M-Instruct)."),
            json_schema_extra=labels("Model to specialise", "Modèle à spécialiser"))
    sources: list[str] = Field(default_factory=list, description=(
        "Domain sources of the snapshot (empty: every source whose licence allows commercial use)."),
        json_schema_extra=labels("Domain sources (none ticked: every commercial source)",
                                 "Sources du domaine (aucune cochée : toutes les sources commerciales)"))
    license_mode: Literal["commercial", "research"] = Field("commercial", description=(
        "'commercial' (the paper's released corpus): only sources that allow commercial use; 'research' also admits "
        "research-only sources."), json_schema_extra=labels("Licences admitted", "Licences admises"))
    max_steps: Optional[int] = Field(None, ge=1, le=10_000_000, description="DAPT optimizer steps (empty: preset).")
    micro_batch_size: Optional[int] = Field(None, ge=1, le=1024, description="DAPT blocks per step (empty: preset).")
    block_size: Optional[int] = Field(None, ge=16, le=131_072, description=(
        "Tokens per packed block, for training and every perplexity (empty: preset)."))
    learning_rate: Optional[float] = Field(None, gt=0.0, le=1.0, json_schema_extra={"ui": "number"},
                                           description="DAPT peak learning rate (empty: preset; the paper's 2e-5).")
    train_eval_every: Optional[int] = Field(None, ge=0, le=10_000_000, description=(
        "Perplexity curves during training every N steps (empty: preset)."))
    compile: Optional[Literal["auto", "on", "off"]] = Field(None, description=(
        "torch.compile the model for training (empty: preset)."))
    num_gpus: int = Field(1, ge=1, le=64, description=(
        "GPUs for the DAPT job (a GPU server): more than one launches it through `accelerate launch`."))
    strategy: Literal["ddp", "fsdp"] = Field("fsdp", description=(
        "Multi-GPU strategy of the DAPT job: FSDP full shard (the paper) or DDP; ignored on one device."))
    sweep_grid: Optional[list[float]] = Field(None, description="SLERP t values of the sweep (empty: preset).",
        json_schema_extra=labels("SLERP t values of the sweep", "Valeurs de t du balayage SLERP"))
    ppl_blocks: Optional[int] = Field(None, ge=1, le=1_000_000, description=(
        "Blocks per perplexity set (domain validation, general French, general English), the same blocks for the "
        "sweep and the evaluations (empty: preset)."))
    ppl_batch_size: Optional[int] = Field(None, ge=1, le=1024, description="Blocks per forward pass (empty: preset).")
    benchmarks: list[str] = Field(default_factory=lambda: study_benchmarks(), description=(
        "Benchmarks of every compared model (perplexity is always measured)."),
            json_schema_extra=labels("Benchmarks", "Tests"))
    eval_limits: Optional[dict[str, int]] = Field(None, description=(
        "First N items of each benchmark, e.g. {\"pubmedqa\": 30} (empty: preset; 0 = every item)."),
            json_schema_extra=labels("Items per benchmark (JSON, 0 = all)", "Questions par test (JSON, 0 = toutes)"))
    fewshot_medical: Optional[int] = Field(None, ge=0, le=25, description=(
        "Worked examples before each medical benchmark question (empty: preset; the paper: 3)."))
    fewshot_general: Optional[int] = Field(None, ge=0, le=25, description=(
        "Worked examples before each general benchmark item (empty: preset; the paper: 5)."))
    best_by: Literal["balanced", "domain", "general"] = Field("balanced", description=(
        "How the best sweep point (0 < t < 1) is chosen: 'balanced' the lowest mean log perplexity ratio to the base "
        "over domain, general French and general English; 'domain' the lowest domain perplexity; 'general' the "
        "lowest mean general perplexity."),
            json_schema_extra=labels("Best sweep point chosen by", "Meilleur point du balayage choisi selon"))
    checkpoint_best_by: Literal["off", "balanced", "domain", "general"] = Field("off", description=(
        "Also merge (SLERP t = 0.5) and evaluate the best checkpoint of the DAPT run, as the paper's released merges "
        "did: the run keeps a checkpoint at every perplexity measurement and the best one by this criterion (the "
        "same rules as the sweep's best point, the trained model included) is merged and compared next to the final "
        "one; 'off' merges only the final model."),
            json_schema_extra=labels("Also merge the best checkpoint, chosen by",
                                     "Fusionner aussi le meilleur point de contrôle, choisi selon"))
    seed: int = Field(42, ge=0, le=2**32 - 1, description="Seed of the snapshot split, the block order and few-shot draws.")

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
