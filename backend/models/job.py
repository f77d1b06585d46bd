"""The `model_download` job kind: download a causal language model from the Hugging Face Hub into
frbio_home/models and register it (long, so a job)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from frbio_core.config import labels

from backend.actions import Action, declare
from backend.errors import ModelError
from jobs.kinds import register


class HubDownload(BaseModel):
    """Download a causal language model from the Hugging Face Hub into frbio_home/models and register it."""

    model_config = ConfigDict(extra="forbid")

    repo_id: str = Field(..., min_length=3, pattern=r"^[\w.-]+/[\w.-]+$",
        json_schema_extra={**labels("Hub model id", "Identifiant du modèle sur le Hub",
            description_fr="Identifiant du modèle sur le Hub, par ex. Qwen/Qwen3-0.6B-Base."), "cli": "positional"},
                         description="Hub model id, e.g. Qwen/Qwen3-0.6B-Base.")
    revision: str | None = Field(None, description="Branch, tag or commit (default: main).",
        json_schema_extra=labels("Revision", "Révision",
            description_fr="Branche, étiquette ou commit (par défaut : main)."))
    name: str | None = Field(None, description="Name in the registry (default: from the repo id).",
        json_schema_extra=labels("Name in the registry", "Nom dans le registre",
            description_fr="Nom dans le registre (par défaut : tiré de l'identifiant du dépôt)."))


def check_download(studio, cfg: HubDownload) -> None:
    """Refuse at once, before queuing, when the Hub cannot be used at all or the id is another model's."""
    from backend.models.hub import hub_model_id
    from frbio_core.settings import offline

    hub_model_id(studio.db, studio.home, cfg.repo_id, cfg.name)

    if offline():
        raise ModelError(f"Cannot download '{cfg.repo_id}': offline mode is on (HF_HUB_OFFLINE=1). On a machine with "
                         "Hub access, download it there and import the folder (Models → Import a local folder).")


@register("model_download", config=HubDownload, devices=("cpu",), check=check_download, title="Model download",
          cluster={"cpus": 2, "mem": "8G", "time": "4:00:00"})
def run_model_download(studio, cfg: HubDownload, job) -> dict:
    from backend.models.hub import download_from_hub

    row = download_from_hub(studio.db, studio.home, cfg.repo_id, revision=cfg.revision, name=cfg.name,
                            progress=job.progress, owner=job.owner)
    job.log(f"registered {row['id']} ({row['n_params']:,} parameters) from {cfg.repo_id}")
    return {"model_id": row["id"], "path": row["path"]}


def summary(studio, cfg: HubDownload, rows, options) -> tuple[dict, str]:
    from backend.models.registry import get_model

    row = get_model(studio.db, rows[0]["result"]["model_id"])
    return row, f"{row['id']}: {row.get('architecture') or '?'}, {(row.get('n_params') or 0) / 1e6:,.1f}M parameters"


DOWNLOAD = declare(Action("model-download", ("models", "download"), HubDownload, kind="model_download",
                          title="Model download", title_fr="Téléchargement d'un modèle", error=ModelError, waits=True,
                          summary=summary, help="download a model from the Hugging Face Hub (token: $HF_TOKEN)"))
