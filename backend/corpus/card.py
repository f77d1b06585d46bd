"""The snapshot's README.md dataset card, built with huggingface_hub's `DatasetCard` and `DatasetCardData` from the
Jinja2 template assets/templates/dataset_card.md.j2: the sources' licences as Hub identifiers (a list when they
differ; `other` with `license_name`/`license_link` for one the Hub does not list, backend.hub_licences), the
`configs:` that make `load_dataset(folder)` give the snapshot's own splits, then licences, attribution, counts,
cleaning and how to load it."""
from __future__ import annotations

from pathlib import Path

from backend.hub_licences import card_fields
from backend.lineage import sentence
from frbio_core.settings import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "assets" / "templates" / "dataset_card.md.j2"
# the files of each split, so `load_dataset(folder)` (and a Hub push) gives the snapshot's own splits: left to its
# file-name rules, `datasets` puts general_validation.parquet into `validation`
CONFIGS = [{"config_name": "default", "data_files": [{"split": "train", "path": "train.parquet"},
                                                     {"split": "validation", "path": "validation.parquet"}]},
           {"config_name": "general", "data_files": [{"split": "validation", "path": "general_validation.parquet"}]}]


def card_text(manifest: dict) -> str:
    from huggingface_hub import DatasetCard, DatasetCardData

    data = DatasetCardData(
        language=["fr"], pretty_name=manifest["name"], task_categories=["text-generation"],
        tags=["biomedical", "french", "domain-adaptive-pretraining", "frbio-studio"]
        + ([] if manifest["commercial_use"] else ["non-commercial"]),
        configs=CONFIGS, **card_fields([lic["license"] for lic in manifest["licenses"]]))
    card = DatasetCard.from_template(data, template_path=str(TEMPLATE), m=manifest,
                                     status=sentence(manifest["commercial_use"], "snapshot"))
    return str(card)


def write_card(path: Path, manifest: dict) -> None:
    path.write_text(card_text(manifest), "utf-8")
