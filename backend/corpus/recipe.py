"""The corpus recipe: one config object (help text per field) that drives the Corpus tab form, the CLI and the
snapshot's manifest."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.config import ConfigFileError, describe_validation_error, read_config_file
from backend.corpus.cleaning import CleaningConfig
from backend.corpus.readers import CorpusInputError

Weight = Annotated[float, Field(ge=0, le=100)]


class Recipe(BaseModel):
    """How to turn catalogued sources into a training snapshot."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", description="A label for the snapshot (shown in lists; not part of its id).")
    sources: list[str] = Field(default_factory=list, description=(
        "Domain sources to include. Empty means every domain source the licence mode allows."))
    license_mode: Literal["commercial", "research"] = Field("commercial", description=(
        "'commercial' keeps only sources whose licence allows commercial use; 'research' also admits "
        "research-only sources, and the snapshot is then marked non-commercial."))
    document_types: list[str] = Field(default_factory=list, description=(
        "Keep only these document types (e.g. clinical_case). Empty means all."))
    min_words: int = Field(0, ge=0, le=1_000_000, description="Drop cleaned documents shorter than this (words).")
    max_words: int = Field(0, ge=0, le=10_000_000, description="Drop cleaned documents longer than this (0 = no limit).")
    weights: dict[str, Weight] = Field(default_factory=dict, description=(
        "Per-source mixing weight (default 1). Without a token budget, a weight is how many times the source's "
        "training documents are used (0.5 = half, 2 = twice); with a budget, it scales the source's natural share."))
    target_tokens: int = Field(0, ge=0, le=10**12, description=(
        "Training token budget reached by up/down-sampling sources by their weights (0 = weights as repeat counts)."))
    replay_fraction: float = Field(0.0, ge=0.0, le=0.9, description=(
        "Share of general-domain text mixed into the training split (replay, against forgetting)."))
    general_sources: list[str] = Field(default_factory=list, description=(
        "General-domain training sources used for replay. Empty means every French general-domain train file."))
    validation_fraction: float = Field(0.01, gt=0.0, le=0.5, description=(
        "Share of each source's documents held out for validation (stratified by source, at least one each)."))
    seed: int = Field(42, description="Seed for the split and the sampling: same seed, same snapshot.")
    tokenizer: str = Field("default", description=(
        "Tokenizer for token counts: 'default' (SmolLM2), a model name under frbio_home/models, or a local folder."))
    cleaning: CleaningConfig = Field(default_factory=CleaningConfig, description="Cleaning and deduplication steps.")

    def content_key(self) -> dict:
        """The fields that define the snapshot's content (the name is only a label)."""
        return self.model_dump(exclude={"name"}, mode="json")


def parse_recipe(data: dict) -> Recipe:
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise CorpusInputError(describe_validation_error(exc, "recipe")) from None


def load_recipe(path: Path | str) -> Recipe:
    """A recipe from a YAML or JSON file, with a clear message for a missing or malformed file."""
    try:
        return parse_recipe(read_config_file(path, "recipe"))
    except ConfigFileError as exc:
        raise CorpusInputError(str(exc)) from None
