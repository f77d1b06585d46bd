"""The README.md model card of a model FrBio Studio produces (DAPT, checkpoint, merge, tiny test model) or publishes,
built with huggingface_hub's `ModelCard` and `ModelCardData` from the Jinja2 template assets/templates/model_card.md.j2:
metadata the Hub reads — licence identifiers it accepts (`other` with `license_name`/`license_link` otherwise,
backend.hub_licences), `base_model` as Hub repository ids where a parent's origin is one (a local-only parent keeps
its name in the body), `base_model_relation` (`finetune` for DAPT, `merge` for merges), `language`, `pipeline_tag`,
and the model's evaluations as `model-index` entries — and a body stating the lineage, the corpus snapshot's
licence status, the method, hyperparameters, metrics and scores."""
from __future__ import annotations

from pathlib import Path

from backend.hub_licences import card_fields
from backend.lineage import status as status_of
from frbio_core.settings import PROJECT_ROOT

TAGS = ["frbio-studio", "biomedical", "french"]
TEMPLATE = PROJECT_ROOT / "assets" / "templates" / "model_card.md.j2"
RELATIONS = ("finetune", "merge", "adapter", "quantized")


def hub_id(row: dict) -> str | None:
    """The Hub repository a registered model comes from: a Hub download's repo id, the offline default's upstream
    (SmolLM2-135M-Instruct); None for a model made or imported here."""
    origin = row.get("origin") or ""
    if origin.startswith("hub:"):
        return origin[4:]
    if origin == "default":
        from backend.default_model import BASE_MODEL

        return BASE_MODEL
    return None


def model_card(*, title: str, parents: list[dict] | None = None, relation: str | None = None,
               snapshot: dict | None = None, method: str = "", hyperparameters: dict | None = None,
               metrics: dict | None = None, license: str | None = None, description: str = "",
               evals: list[dict] | None = None) -> str:
    """The card's text. `parents`: registry rows (id, origin); `snapshot`: {"id", "commercial_use", "licenses"
    (names or dicts with 'license'), optionally "repo_id" when the snapshot is on the Hub}; `evals`: [{task, title,
    metric, value, n}] for `model-index`."""
    from huggingface_hub import ModelCard, ModelCardData

    parents = [{"id": p["id"], "hub_id": hub_id(p)} for p in parents or [] if p]
    hub_bases = [p["hub_id"] for p in parents if p["hub_id"]]
    non_commercial = bool(snapshot) and not snapshot.get("commercial_use", True)
    results = eval_results(evals or [])
    data = ModelCardData(
        language=["fr"], library_name="transformers", pipeline_tag="text-generation",
        tags=TAGS + [t for t in (method, "non-commercial" if non_commercial else "") if t],
        base_model=(hub_bases[0] if len(hub_bases) == 1 else hub_bases) or None,
        base_model_relation=relation if hub_bases and relation in RELATIONS else None,
        datasets=[snapshot["repo_id"]] if snapshot and snapshot.get("repo_id") else None,
        model_name=title if results else None, eval_results=results or None,
        **card_fields([license], single=True))
    licences = sorted({(x.get("license") if isinstance(x, dict) else str(x)) or "unknown"
                       for x in (snapshot or {}).get("licenses") or []})
    tables = [(heading, [(k, _fmt(v)) for k, v in values.items()])
              for heading, values in (("Hyperparameters", hyperparameters), ("Metrics", metrics)) if values]
    card = ModelCard.from_template(
        data, template_path=str(TEMPLATE), title=title, description=description, parents=parents, method=method,
        snapshot=snapshot, snapshot_status=status_of(not non_commercial), snapshot_licences=licences, tables=tables,
        evals=[e for e in evals or [] if e.get("value") is not None], licence_text=license or "unknown")
    return str(card)


def eval_results(evals: list[dict]) -> list:
    """huggingface_hub EvalResults (the card's `model-index`) of scores {task, title, metric, value}."""
    from huggingface_hub import EvalResult

    return [EvalResult(task_type="text-generation", dataset_type=e["task"], dataset_name=e["title"],
                       dataset_split="test", metric_type=e["metric"], metric_value=e["value"])
            for e in evals if e.get("value") is not None]


def write_model_card(folder: Path | str, **fields) -> Path:
    """Write `folder/README.md` (replacing any) from `model_card(**fields)` and return its path."""
    path = Path(folder) / "README.md"
    path.write_text(model_card(**fields), encoding="utf-8")
    return path


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|")


def with_evaluations(text: str, model_name: str, evals: list[dict], datasets: list[str] | None = None) -> str | None:
    """A card FrBio Studio wrote (tagged frbio-studio), brought up to date for publishing: the model's evaluations
    as `model-index` and its published snapshot in `datasets`. None when there is nothing to add, or the card is
    not ours (a user's own card is uploaded as it is)."""
    from huggingface_hub import ModelCard

    card = ModelCard(text)
    if "frbio-studio" not in (card.data.tags or []):
        return None
    results = eval_results(evals)
    if not results and not datasets:
        return None
    if results:
        card.data.model_name, card.data.eval_results = model_name, results
    if datasets:
        card.data.datasets = datasets
    return str(card)

