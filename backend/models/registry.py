"""Rows of the `models` table and their folders under frbio_home/models. Other modules register what they
produce here (training registers DAPT models, merging merged ones) with their lineage."""
from __future__ import annotations

import json
import re
from pathlib import Path

import sqlite_utils

from frbio_core.registry import now
from backend.errors import ModelError


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-.")[:80] or "model"


def register_model(db: sqlite_utils.Database, folder: Path, *, model_id: str | None = None, name: str | None = None,
                   kind: str = "base", origin: str = "local", parents: list[str] | None = None,
                   snapshot_id: str | None = None, license: str | None = None, commercial_use: bool | None = None,
                   job_id: str | None = None, owner: str | None = None, replace: bool = False,
                   refresh: bool = False, actor: str | None = None, extra: dict | None = None) -> dict:
    """Register a Hugging Face folder as a new model; facts (architecture, size, …) are read from it. An id is never
    reused silently: an existing one is refused, naming its owner, unless `replace` (by its owner or an admin,
    audited; a trust_remote_code permission does not carry over), `refresh` (the same folder registered again by the
    app itself: its facts are read again, its owner, kind and lineage kept) or the row is this same job's output.
    `extra`: more columns (a checkpoint's step and tokens seen)."""
    from backend.models.inspect import inspect_folder

    folder = Path(folder).resolve()
    existing = find_model(db, model_id or folder.name)
    if existing is not None and refresh and Path(existing["path"]).resolve() == folder:
        owner, kind, origin = existing.get("owner"), existing["kind"], existing.get("origin") or origin
        parents = existing.get("parents") or parents
        snapshot_id, license = existing.get("snapshot_id") or snapshot_id, existing.get("license") or license
        commercial_use, job_id = existing.get("commercial_use"), existing.get("job_id") or job_id
    elif existing is not None and job_id and existing.get("job_id") == job_id:
        pass   # the same job saving its output again (resumed after it was registered): its own row
    elif existing is not None and replace:
        from frbio_core import users

        users.require_can_manage(db, actor, existing.get("owner"), "replace", f"model {existing['id']}",
                                 existing["id"])
        users.audit(db, actor, "model_replace", existing["id"], owner=existing.get("owner"), path=str(folder))
    elif existing is not None:
        raise ModelError(f"a model with id '{existing['id']}' already exists (owner: "
                         f"{existing.get('owner') or 'none'}): choose another name, or replace it as its owner or "
                         "an admin (--replace)")
    facts = inspect_folder(folder)
    parents = parents or []
    if commercial_use is None:  # a child of a non-commercial model, or of research-only data, stays non-commercial
        from backend.lineage import merge_allowed

        snap = None
        if snapshot_id and db["snapshots"].exists():
            snap = next(iter(db["snapshots"].rows_where("id = ?", [snapshot_id], limit=1)), None)
        commercial_use = merge_allowed([get_model(db, p) for p in parents], snap)
    row_id = model_id or folder.name
    before = next(iter(db["models"].rows_where("id = ?", [row_id], select="created_at", limit=1)), None)
    row = {"id": row_id, "name": name or model_id or folder.name, "kind": kind,
           "path": str(folder), "origin": origin, **facts, "license": license or facts.get("license"),
           "parents": json.dumps(parents), "snapshot_id": snapshot_id, "commercial_use": int(bool(commercial_use)),
           "job_id": job_id, "owner": owner, "created_at": before["created_at"] if before else now(),
           "status": "ok", "error": None, **(extra or {})}  # re-registering keeps the creation time (list order)
    if replace:
        row |= {"trust_remote_code": 0, "trusted_hash": None}
    db["models"].upsert(row, pk="id", alter=True)
    return get_model(db, row["id"])


def find_model(db: sqlite_utils.Database, model_id: str) -> dict | None:
    """The row with this exact id, or None."""
    if not db["models"].exists():
        return None
    row = next(iter(db["models"].rows_where("id = ?", [model_id], limit=1)), None)
    if row is not None:
        row["parents"] = json.loads(row["parents"] or "[]")
    return row


def get_model(db: sqlite_utils.Database, model_id: str) -> dict:
    rows = list(db["models"].rows_where("id = ? OR name = ?", [model_id, model_id], limit=1))
    if not rows:
        known = ", ".join(r["id"] for r in db["models"].rows) or "none"
        raise ModelError(f"unknown model '{model_id}' (registered: {known})")
    row = rows[0]
    row["parents"] = json.loads(row["parents"] or "[]")
    return row


def list_models(db: sqlite_utils.Database, kind: str | None = None) -> list[dict]:
    where, args = ("kind = ?", [kind]) if kind else (None, None)
    rows = list(db["models"].rows_where(where, args, order_by="created_at"))
    for row in rows:
        row["parents"] = json.loads(row["parents"] or "[]")
    return rows


def lineage(db: sqlite_utils.Database, model_id: str) -> list[dict]:
    """The model and its ancestors, nearest first (base → DAPT → merged read backwards)."""
    out, todo, seen = [], [model_id], set()
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.add(current)
        row = get_model(db, current)
        out.append(row)
        todo.extend(row["parents"])
    return out


def check_models(db: sqlite_utils.Database) -> list[dict]:
    """Re-inspect every registered folder (cheap: headers and a cached hash) and record status 'error' with the
    reason for those that vanished or broke, 'ok' (with refreshed facts) for the others. Returns the rows."""
    from backend.models.inspect import inspect_folder

    for row in list(db["models"].rows):
        try:
            update = {**inspect_folder(row["path"]), "status": "ok", "error": None}
            update["license"] = row["license"] or update["license"]
        except ModelError as exc:
            update = {"status": "error", "error": str(exc)}
        db["models"].update(row["id"], update)
    return list_models(db)
