"""Import a corpus from the Hugging Face Hub (e.g. HealthDataHub/PARCOMED, whose `source` column names each source)
into a local parquet file, then catalogue it. Offline, it fails fast with a clear message."""
from __future__ import annotations

import re
from pathlib import Path

import sqlite_utils

from frbio_core import users
from frbio_core.files import temp_sibling

from backend.corpus.catalogue import DEFAULT_HUB_DATASET, register_path
from backend.corpus.readers import CorpusInputError
from frbio_core.settings import offline
from backend.errors import HubUnavailableError


NETWORK_ERROR = re.compile(r"connect|resolve|offline|timed? ?out|network|Max retries|unreachable|not known", re.I)


def _unreachable(dataset_id: str, reason: str) -> HubUnavailableError:
    return HubUnavailableError(
        f"Cannot load '{dataset_id}' from the Hugging Face Hub: {reason}. On a machine with Hub access run "
        f"`python -m backend corpus hub {dataset_id}` there and copy frbio_home/uploads/hub/, or put the dataset's "
        "parquet/JSONL files in a data folder (corpus/) and rescan.")


def import_hub_dataset(db: sqlite_utils.Database, uploads_dir: Path, dataset_id: str = DEFAULT_HUB_DATASET,
                       split: str = "train", token: str | None = None, owner: str | None = None) -> list[dict]:
    """Load a Hub dataset's split and catalogue it as sources (a re-import of the same dataset refreshes its rows,
    keeping who first imported it; nothing else's rows are touched)."""
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", dataset_id or ""):
        raise CorpusInputError(f"'{dataset_id}' is not a Hub dataset id (expected owner/name)")
    if offline():
        raise _unreachable(dataset_id, "offline mode is on (HF_HUB_OFFLINE=1)")
    from datasets import load_dataset
    from huggingface_hub import HfApi

    try:
        # A quick metadata call first: load_dataset retries for ~20 s before giving up on a dead network.
        HfApi().dataset_info(dataset_id, token=token, timeout=10)
        ds = load_dataset(dataset_id, split=split, token=token)
    except Exception as exc:  # the Hub libraries wrap network failures in many types; classify by message
        text = f"{type(exc).__name__}: {exc}"
        if NETWORK_ERROR.search(text):
            raise _unreachable(dataset_id, "the Hub is unreachable from this machine") from None
        raise CorpusInputError(f"Could not load '{dataset_id}' (split {split}): {text}") from None
    if "text" not in ds.column_names:
        raise CorpusInputError(f"'{dataset_id}' has no 'text' column (columns: {', '.join(ds.column_names)})")
    target = uploads_dir / "hub" / dataset_id.replace("/", "__") / f"{split}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(target, "part")
    try:
        ds.to_parquet(str(tmp))
        tmp.replace(target)
    except OSError as exc:
        raise CorpusInputError(f"could not store '{dataset_id}': {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    before = db["sources"].rows_where("path = ?", [str(target.resolve())], limit=1) if db["sources"].exists() else []
    first = next(iter(before), None)
    rows = register_path(db, target, "domain", "hub", {"license": "see dataset card"}, force=True,
                         owner=first.get("owner") if first else owner)
    users.audit(db, owner, "source_add", dataset_id, split=split, origin="hub")
    return rows
