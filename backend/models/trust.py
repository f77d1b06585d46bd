"""`trust_remote_code` is off everywhere: a model folder's own Python code (an `auto_map` in its config.json or
tokenizer_config.json) is never run, unless an admin allowed it for that one model (`models.trust_remote_code`,
migration 9; `python -m backend trust-remote-code MODEL_ID`). Loaders ask `remote_code(db, model)` for the value to
pass, which also refuses, with a clear message, a model that needs its code when it is not allowed."""
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


def allowed(db, model_id: str) -> bool:
    row = db.execute("SELECT trust_remote_code FROM models WHERE id = ?", [model_id]).fetchone()
    return bool(row and row[0])


def remote_code(db, model: dict | str) -> bool:
    """The `trust_remote_code` to pass when loading `model` (a registry row or id): True only when an admin allowed
    it. ModelError when the model needs its own code and it is not allowed (instead of transformers' prompt)."""
    row = get_model(db, model) if isinstance(model, str) else model
    if allowed(db, row["id"]):
        return True
    if needs_remote_code(row["path"]):
        raise ModelError(f"model '{row['id']}' ships its own Python code (auto_map in its config): it is not run "
                         "unless an admin allows it for this model (python -m backend trust-remote-code "
                         f"{row['id']})")
    return False


def set_allowed(db, model_id: str, allow: bool = True, actor: str | None = None) -> dict:
    """Allow (or forbid again) running this model's own code. Admins only (actor None: the server's operator)."""
    users.require_admin(db, actor, "allow a model's own code (trust_remote_code)")
    model_id = get_model(db, model_id)["id"]
    db.execute("UPDATE models SET trust_remote_code = ? WHERE id = ?", [int(allow), model_id])
    users.audit(db, actor, "trust_remote_code" if allow else "untrust_remote_code", model_id)
    return get_model(db, model_id)
