"""`trust_remote_code` is off everywhere: a model folder's own Python code (an `auto_map` in its config.json or
tokenizer_config.json) is never run, unless an admin allowed it for that one model (`models.trust_remote_code`,
migration 9; `python -m backend trust-remote-code MODEL_ID`). The permission names what was trusted: a hash of the
folder's code and config files and of its weights' sizes and headers (`models.trusted_hash`, migration 12); once
any of them changes, the permission has lapsed. Loaders ask `remote_code(db, model)` for the value to pass, which
also refuses, with a clear message, a model that needs its code when it is not allowed (or no longer)."""
from __future__ import annotations

import json
from pathlib import Path

from frbio_core import users
from backend.models.registry import ModelError, get_model


def needs_remote_code(folder: Path | str) -> bool:
    """Whether the folder declares classes of its own (`auto_map`) that transformers would import from it."""
    for name in ("config.json", "tokenizer_config.json"):
        try:
            data = json.loads((Path(folder) / name).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("auto_map"):
            return True
    return False


CODE_SUFFIXES = (".py", ".json", ".txt", ".model", ".tiktoken", ".jinja")


def content_hash(folder: Path | str) -> str:
    """What a permission is given for: every code and config file's bytes, and each weight file's name, size and
    header (weights are large: their header names every tensor, shape and offset)."""
    import hashlib

    from backend.models.inspect import weight_files

    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(folder).as_posix()
        if path.suffix in CODE_SUFFIXES:
            digest.update(f"{rel}\0".encode() + path.read_bytes() + b"\0")
    for path in weight_files(folder):
        with open(path, "rb") as f:
            head = f.read(1 << 20)
        digest.update(f"{path.relative_to(folder).as_posix()}\0{path.stat().st_size}\0".encode() + head)
    return digest.hexdigest()


def allowed(db, model_id: str, folder: Path | str | None = None) -> bool:
    """Whether running this model's own code is allowed, for its files as they are now."""
    row = db.execute("SELECT trust_remote_code, trusted_hash, path FROM models WHERE id = ?", [model_id]).fetchone()
    if not (row and row[0] and row[1]):
        return False
    return content_hash(folder or row[2]) == row[1]


def remote_code(db, model: dict | str) -> bool:
    """The `trust_remote_code` to pass when loading `model` (a registry row or id): True only when an admin allowed
    it. ModelError when the model needs its own code and it is not allowed (instead of transformers' prompt)."""
    row = get_model(db, model) if isinstance(model, str) else model
    if allowed(db, row["id"], row["path"]):
        return True
    if needs_remote_code(row["path"]):
        lapsed = bool(db.execute("SELECT trust_remote_code FROM models WHERE id = ?", [row["id"]]).fetchone()[0])
        raise ModelError(f"model '{row['id']}' ships its own Python code (auto_map in its config): it is not run "
                         + ("because its files changed since an admin allowed it: the permission has lapsed; "
                            if lapsed else "unless an admin allows it for this model ")
                         + f"(python -m backend trust-remote-code {row['id']})")
    return False


def set_allowed(db, model_id: str, allow: bool = True, actor: str | None = None) -> dict:
    """Allow (or forbid again) running this model's own code. Admins only (actor None: the server's operator)."""
    users.require_admin(db, actor, "allow a model's own code (trust_remote_code)", model_id)
    row = get_model(db, model_id)
    digest = content_hash(row["path"]) if allow else None
    db.execute("UPDATE models SET trust_remote_code = ?, trusted_hash = ? WHERE id = ?", [int(allow), digest, row["id"]])
    users.audit(db, actor, "trust_remote_code" if allow else "untrust_remote_code", row["id"],
                **({"content_hash": digest} if digest else {}))
    return get_model(db, row["id"])
