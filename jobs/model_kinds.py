"""Job kinds for the model registry: downloading a model from the Hugging Face Hub (long, so a job)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from jobs.kinds import register


class HubDownload(BaseModel):
    """Download a causal language model from the Hugging Face Hub into frbio_home/models and register it."""

    model_config = ConfigDict(extra="forbid")

    repo_id: str = Field(..., min_length=3, pattern=r"^[\w.-]+/[\w.-]+$",
                         description="Hub model id, e.g. Qwen/Qwen3-0.6B-Base.")
    revision: str | None = Field(None, description="Branch, tag or commit (default: main).")
    name: str | None = Field(None, description="Name in the registry (default: from the repo id).")


def check_download(db, home, cfg: HubDownload) -> None:
    """Refuse at once, before queuing, when the Hub cannot be used at all."""
    from backend.settings import offline
    from jobs.store import JobError

    if offline():
        raise JobError(f"Cannot download '{cfg.repo_id}': offline mode is on (HF_HUB_OFFLINE=1). On a machine with "
                       "Hub access, download it there and import the folder (Models → Import a local folder).")


@register("model_download", config=HubDownload, devices=("cpu",), check=check_download, title="Model download")
def run_model_download(ctx) -> dict:
    from backend.models.importing import download_from_hub

    cfg = ctx.config
    row = download_from_hub(ctx.db, ctx.home, cfg.repo_id, revision=cfg.revision, name=cfg.name,
                            progress=ctx.progress)
    ctx.log(f"registered {row['id']} ({row['n_params']:,} parameters) from {cfg.repo_id}")
    return {"model_id": row["id"], "path": row["path"]}
