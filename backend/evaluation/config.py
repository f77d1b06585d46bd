"""The eval config: one pydantic object from which the Compare tab's settings form, the `python -m backend eval`
and `compare` flags and the eval job's config.json are generated. Few-shot defaults are the paper's (Mannion et al.,
LREC 2026): 3 examples for the medical benchmarks, 5 for the general ones."""
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backend.config import describe_validation_error

DEFAULT_TASKS = ["frbio_frenchmedmcqa_single", "frbio_frenchmedmcqa_all", "frbio_sib200_fr", "frbio_pubmedqa"]


class EvalError(RuntimeError):
    """An evaluation request that cannot be honoured (unknown task, missing data, bad upload): the message is for
    the user as is."""


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

    model: str = Field("smollm2-135m-instruct", description="Registered model to evaluate (its id in the registry).")
    tasks: list[str] = Field(default_factory=lambda: list(DEFAULT_TASKS), description=(
        "Benchmarks to run: frenchmedmcqa_single (accuracy), frenchmedmcqa_all (EMR and Hamming score, generated "
        "answers), sib200_fr, pubmedqa, perplexity (domain vs general), or an uploaded benchmark (custom_…). "
        "Comma-separated on the command line."))
    fewshot_medical: int = Field(3, ge=0, le=25, description=(
        "Worked examples shown before each question of a medical benchmark (the paper: 3)."))
    fewshot_general: int = Field(5, ge=0, le=25, description=(
        "Worked examples shown before each item of a general-domain benchmark (the paper: 5)."))
    limit: Optional[int] = Field(None, ge=1, le=1_000_000, description=(
        "Evaluate only the first N items of each benchmark, for a quick check (empty: every item). Cached apart "
        "from full runs."))
    fewshot_seed: int = Field(1234, ge=0, description="Seed that draws the few-shot examples (lm-eval's default).")
    batch_size: int = Field(8, ge=1, le=1024, description=(
        "Sequences scored together. Speed only: not part of the cache key."))
    snapshot: str = Field("", description=(
        "Corpus snapshot whose validation split (domain) and general-domain validation text (French, English) are "
        "measured by the perplexity task. Empty: the newest snapshot."))
    ppl_block_size: int = Field(256, ge=16, le=131_072, description="Tokens per perplexity block (as in training).")
    ppl_max_blocks: int = Field(64, ge=1, le=1_000_000, description=(
        "Blocks measured per validation set (the first ones, in the fixed order training uses)."))

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks(cls, value):
        from backend.evaluation.tasks import canonical_name

        names = [canonical_name(n) for n in split_names(value)]
        if not names:
            raise ValueError("choose at least one task")
        return names

    @field_validator("model", "snapshot", mode="before")
    @classmethod
    def _strip(cls, value):
        return value.strip() if isinstance(value, str) else value


def parse_eval_config(data: dict | EvalConfig) -> EvalConfig:
    if isinstance(data, EvalConfig):
        return data
    try:
        return EvalConfig.model_validate(data)
    except ValidationError as exc:
        raise EvalError(describe_validation_error(exc, "eval config")) from None
