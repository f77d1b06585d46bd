"""A model from the Hugging Face Hub: download into `<home>/models/<id>` and register it, and what publishing shares
with it (token lookup, token-free error messages, progress as a tqdm class)."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Callable

import sqlite_utils

from backend.models.importing import _check_free_id
from backend.models.inspect import MARKER, inspect_folder
from backend.models.registry import ModelError, register_model, slug
from frbio_core.settings import offline

Progress = Callable[[float, str], None]
REPO_ID = re.compile(r"[\w][\w.-]*(/[\w.-]+)?")
NETWORK_ERROR = re.compile(r"connect|resolve|offline|timed? ?out|network|Max retries|unreachable|not known|"
                           r"Temporary failure|Name or service", re.I)
# Files a causal LM needs; weights chosen in _allow_patterns (safetensors preferred, never pickles when avoidable).
HUB_FILES = ["*.json", "tokenizer*", "*.model", "*.tiktoken", "vocab.*", "merges.txt", "*.jinja", "README.md",
             "LICENSE*"]


# --- the Hugging Face Hub -------------------------------------------------------------------------------------------

def resolve_token(token: str | None = None) -> str | None:
    """The argument, else $HF_TOKEN, else the login saved by `hf auth login` (None when there is none)."""
    if token:
        return token
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # noqa: BLE001 - no saved login is not an error here
        return None


def scrub(text: str, token: str | None = None) -> str:
    """Text with any token removed (the given one, hf_… tokens, Authorization headers)."""
    if token:
        text = text.replace(token, "***")
    text = re.sub(r"hf_[A-Za-z0-9]{6,}", "hf_***", text)
    return re.sub(r"(?i)(bearer|authorization:?)\s+\S+", r"\1 ***", text)


def hub_unavailable(action: str, reason: str) -> ModelError:
    hint = ("publish from a machine with Hub access (copy the folder there), or unset HF_HUB_OFFLINE"
            if action.startswith("publish") else
            "on a machine with Hub access download the model folder (e.g. `hf download REPO --local-dir DIR`), "
            "copy it here and register it with `python -m backend models import DIR --copy`")
    return ModelError(f"Cannot {action}: {reason} (Hub unreachable/offline). Instead: {hint}.")


def hub_error(exc: BaseException, action: str, token: str | None = None) -> ModelError:
    """A clear, token-free ModelError for any exception raised by huggingface_hub."""
    from huggingface_hub import errors

    text = scrub(f"{type(exc).__name__}: {exc}", token).splitlines()[0][:300]
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return hub_unavailable(action, "offline mode is on (HF_HUB_OFFLINE=1)")
    if isinstance(exc, errors.GatedRepoError):
        return ModelError(f"Cannot {action}: the repository is gated; accept its conditions on huggingface.co and "
                          "provide a token (HF_TOKEN)")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return ModelError(f"Cannot {action}: repository not found (or private: provide a token with HF_TOKEN)")
    if isinstance(exc, errors.RevisionNotFoundError):
        return ModelError(f"Cannot {action}: revision not found")
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403):
        return ModelError(f"Cannot {action}: the Hub refused the token (HTTP {status}); check that it is valid and "
                          "has write access")
    if NETWORK_ERROR.search(text) or isinstance(exc, (ConnectionError, TimeoutError)):
        return hub_unavailable(action, "the Hub is unreachable from this machine")
    return ModelError(f"Cannot {action}: {text}")


def hub_model_id(db, home: Path, repo_id: str, name: str | None = None) -> str:
    """The id a Hub download registers; ModelError naming the owner when another model already has it."""
    model_id = slug(name or repo_id.replace("/", "--"))
    _check_free_id(db, model_id, rebuild={"origin": f"hub:{repo_id}",
                                          "path": str((Path(home) / "models" / model_id).resolve())})
    return model_id


def download_from_hub(db: sqlite_utils.Database, home: Path, repo_id: str, revision: str | None = None,
                      token: str | None = None, progress: Progress | None = None, name: str | None = None,
                      owner: str | None = None) -> dict:
    """Download a causal LM from the Hub into `<home>/models/<slug>` (safetensors preferred) and register it with
    origin 'hub:<repo>', owned by `owner`. A quick metadata call fails fast when the Hub is unreachable; the download
    resumes from `.<slug>.partial` after an interruption. Already downloaded from that repository → registered
    again, no download; an id already used by another model is refused before anything is fetched."""
    action = f"download '{repo_id}' from the Hugging Face Hub"
    if not REPO_ID.fullmatch(repo_id or ""):
        raise ModelError(f"'{repo_id}' is not a Hub model id (expected owner/name)")
    model_id = hub_model_id(db, home, repo_id, name)
    if offline():
        raise hub_unavailable(action, "offline mode is on (HF_HUB_OFFLINE=1)")
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.utils import filter_repo_objects

    token = resolve_token(token)
    report = progress or (lambda f, m: None)
    report(0.0, f"Looking up {repo_id}")
    try:
        info = HfApi().model_info(repo_id, revision=revision, token=token, timeout=10, files_metadata=True)
    except Exception as exc:  # noqa: BLE001 - classified into a clear message
        raise hub_error(exc, action, token) from None
    architectures = (getattr(info, "config", None) or {}).get("architectures") or []
    if architectures and not str(architectures[0]).endswith(("ForCausalLM", "LMHeadModel")):
        raise ModelError(f"'{repo_id}': {architectures[0]} is not a causal language model (FrBio Studio trains and "
                         "merges decoder-only models, e.g. LlamaForCausalLM)")
    sizes = {s.rfilename: (s.size or 0) for s in info.siblings or []}
    patterns = _allow_patterns(list(sizes))
    wanted = list(filter_repo_objects(list(sizes), allow_patterns=patterns))
    if not any(f.endswith((".safetensors", ".bin")) for f in wanted):
        raise ModelError(f"'{repo_id}' has no safetensors or pytorch_model.bin weights (GGUF/ONNX-only repositories "
                         "are not supported)")
    total = sum(sizes[f] for f in wanted)
    models = Path(home) / "models"
    models.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(models).free
    if total > free:
        raise ModelError(f"Not enough disk space for '{repo_id}': {total / 1e9:.1f} GB needed, "
                         f"{free / 1e9:.1f} GB free in {models}")

    final = models / model_id
    if final.exists():
        inspect_folder(final)
    else:
        partial = final.with_name(f".{final.name}.partial")
        try:
            snapshot_download(repo_id, revision=info.sha, local_dir=partial, token=token, allow_patterns=patterns,
                              tqdm_class=progress_tqdm(report, total), etag_timeout=10)
        except Exception as exc:  # noqa: BLE001
            raise hub_error(exc, action, token) from None
        shutil.rmtree(partial / ".cache", ignore_errors=True)
        licence = _card_licence(info)
        (partial / MARKER).write_text(json.dumps({"name": final.name, "source": f"hub:{repo_id}",
                                                  "revision": info.sha, "license": licence}, indent=2) + "\n",
                                      encoding="utf-8")
        inspect_folder(partial)
        os.rename(partial, final)
    report(1.0, f"Downloaded {repo_id}")
    return register_model(db, final, model_id=final.name, name=name or repo_id, kind="base", origin=f"hub:{repo_id}",
                          license=_card_licence(info), owner=owner, refresh=True)


def _allow_patterns(files: list[str]) -> list[str]:
    if any(f.endswith(".safetensors") for f in files):
        return HUB_FILES + ["*.safetensors"]
    return HUB_FILES + ["pytorch_model*.bin"]


def _card_licence(info) -> str | None:
    card = getattr(info, "card_data", None)
    licence = getattr(card, "license", None) if card is not None else None
    if licence == "other" and getattr(card, "license_name", None):
        licence = card.license_name
    if not licence:
        licence = next((t.split(":", 1)[1] for t in info.tags or [] if t.startswith("license:")), None)
    return licence[0] if isinstance(licence, list) and licence else licence


class _NullWriter(io.TextIOBase):
    def write(self, s):  # tqdm draws into this; nothing is printed or kept
        return len(s)


def progress_tqdm(progress: Progress, total_bytes: int | None = None, interval: float = 0.25):
    """A tqdm class for `snapshot_download(tqdm_class=...)` that prints nothing and calls progress(fraction,
    message) at most every `interval` seconds: fraction = bytes written / total_bytes (from the Hub's file sizes;
    else the byte bars' own totals), message = MB done and files fetched."""
    from tqdm import tqdm

    bars: list = []
    lock = threading.Lock()
    last = [0.0]

    def report(force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - last[0] < interval:
            return
        last[0] = now
        with lock:
            byte_bars = [b for b in bars if getattr(b, "unit", "") == "B"]
            file_bars = [b for b in bars if getattr(b, "unit", "") != "B"]
            done = max((b.n for b in byte_bars), default=0)
            total = total_bytes or max((b.total or 0 for b in byte_bars), default=0)
            files = max(file_bars, key=lambda b: b.total or 0, default=None)
        fraction = min(done / total, 1.0) if total else 0.0
        message = f"{done / 1e6:,.1f} / {total / 1e6:,.1f} MB" if total else f"{done / 1e6:,.1f} MB"
        if files is not None and files.total:
            message += f" ({files.n}/{files.total} files)"
        progress(fraction, message)

    class ProgressBar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs.update(disable=False, file=_NullWriter(), mininterval=interval)
            super().__init__(*args, **kwargs)
            with lock:
                bars.append(self)

        def update(self, n=1):
            result = super().update(n)
            report()
            return result

        def close(self):
            super().close()
            if getattr(self, "unit", "") != "B" and self.total and self.n >= self.total:
                report(force=True)

    return ProgressBar
