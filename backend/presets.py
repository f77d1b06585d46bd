"""Saved presets: a person's named config of one action (training, a corpus recipe, a merge, a study), saved from
the UI or the command line, loaded back into the form, run from the CLI with `--preset NAME`, and compared with the
run it came from (the job whose settings it started from), field by field.

A preset is a row of `presets` (owner, action, name, config, source job); its config is validated by the action's
config class when saved and when loaded, so a preset never runs a config the action would refuse."""
from __future__ import annotations

import json
import re
from typing import Any

from backend.actions import Action, get_action
from backend.errors import UserError
from frbio_core import users
from frbio_core.registry import execute, now, rows

NAME_RE = re.compile(r"^[\w][\w .+-]{0,63}$")


class PresetError(UserError):
    """A preset that cannot be saved, found or used; the message is for the person."""


def _owner(actor: str | None) -> str:
    return actor or ""     # '' is the server's operator at the command line (no account)


def _row(found: dict) -> dict:
    return {**found, "config": json.loads(found["config"]), "owner": found["owner"] or None}


def list_presets(db, owner: str | None = None, action: str | None = None) -> list[dict]:
    """Presets, newest first; of one owner (None: everyone's) and one action (None: all)."""
    where, params = [], []
    if owner is not None:
        where.append("owner = ?")
        params.append(_owner(owner))
    if action is not None:
        where.append("action = ?")
        params.append(action)
    sql = "SELECT * FROM presets" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY updated_at DESC"
    return [_row(r) for r in rows(db, sql, params)]


def names(db, owner: str | None, action: str) -> list[str]:
    return [p["name"] for p in list_presets(db, owner, action)]


def get(db, action: str, name: str, owner: str | None = None) -> dict:
    """The preset `name` of `action`: the owner's, or 'USER/NAME', or (no owner given) the only one of that name."""
    title = get_action(action).title
    if "/" in name:
        owner, name = name.split("/", 1)
    wanted = [p for p in list_presets(db, None if owner is None else owner, action) if p["name"] == name]
    if len(wanted) == 1:
        return wanted[0]
    if not wanted:
        mine = names(db, owner, action) if owner is not None else [p["name"] for p in list_presets(db, None, action)]
        raise PresetError(f"no {title.lower()} preset named '{name}'" + (f" of {owner}" if owner else "")
                          + (f" (known: {', '.join(sorted(set(mine)))})" if mine else " (none saved yet)"))
    raise PresetError(f"several people have a {title.lower()} preset named '{name}': say whose, e.g. "
                      + ", ".join(f"{p['owner'] or ''}/{name}" for p in wanted))


def save(db, actor: str | None, action: Action, name: str, data: Any, *, source_job: str | None = None,
         replace: bool = False) -> dict:
    """Save `data` (validated by the action) as the actor's preset `name`; refuses an existing name unless
    `replace`. `source_job`: the run its settings came from (for the comparison). Audited."""
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise PresetError(f"preset name: '{name}' is not a name (letters, digits, spaces, . + - _; 64 at most)")
    users.require(db, actor, "user", "save a preset", name)
    cfg = action.parse(data).model_dump(mode="json")
    if source_job is not None:
        from jobs import store

        store.get(db, source_job)
    existing = [p for p in list_presets(db, actor, action.name) if p["name"] == name]
    if existing and not replace:
        raise PresetError(f"you already have a {action.title.lower()} preset named '{name}': choose another name, "
                          "or replace it")
    t = now()
    execute(db, """INSERT INTO presets (owner, action, name, config, source_job, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (owner, action, name) DO UPDATE SET config = excluded.config,
                   source_job = excluded.source_job, updated_at = excluded.updated_at""",
            [_owner(actor), action.name, name, json.dumps(cfg, ensure_ascii=False), source_job, t, t])
    users.audit(db, actor, "preset_save", f"{action.name}/{name}", replaced=bool(existing),
                **({"source_job": source_job} if source_job else {}))
    return get(db, action.name, name, _owner(actor))


def delete(db, actor: str | None, action: str, name: str) -> None:
    """Delete the actor's preset (an admin: anyone's, as 'USER/NAME'). Audited."""
    preset = get(db, action, name, None if "/" in name else _owner(actor))
    users.require_can_manage(db, actor, preset["owner"], "delete", f"preset {preset['name']}",
                             f"{action}/{preset['name']}")
    execute(db, "DELETE FROM presets WHERE owner = ? AND action = ? AND name = ?",
            [_owner(preset["owner"]), action, preset["name"]])
    users.audit(db, actor, "preset_delete", f"{action}/{preset['name']}", owner=preset["owner"])


def runs_for(db, action: Action, person: str, limit: int = 50) -> list[str]:
    """The runs of `action` a person may start a preset from: their own; on a single-user install (no account, the
    person is the reserved owner 'local'), every run, command-line ones included."""
    from jobs import store

    single = person in users.RESERVED and not users.any_users(db)
    return [r["id"] for r in store.list_jobs(db, kind=action.kind, owner=None if single else person, limit=limit)]


def config_of(db, action: Action, name: str, owner: str | None) -> dict:
    """The preset's config, valid for the action today (a field renamed since it was saved is said in one line)."""
    preset = get(db, action.name, name, owner)
    return action.parse(preset["config"]).model_dump(mode="json")


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{'optim.lr': 2e-5, ...}: nested mappings as dotted paths (lists stay values)."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out.update(flatten(value, path) if isinstance(value, dict) and value else {path: value})
    return out


def differences(action: Action, config: Any, other: Any) -> list[dict]:
    """The fields where `config` differs from `other` (both read by the action, so defaults compare equal), in the
    config class's order: [{field, value, other}]."""
    mine = flatten(action.parse(config).model_dump(mode="json"))
    theirs = flatten(action.parse(other).model_dump(mode="json"))
    return [{"field": k, "value": mine.get(k), "other": theirs.get(k)}
            for k in list(dict.fromkeys([*mine, *theirs])) if mine.get(k) != theirs.get(k)]


def compare_with_run(db, action: Action, preset: dict, data: Any = None) -> tuple[dict, list[dict]]:
    """(the run the preset came from, the fields where `data` (default: the preset) differs from that run's config).
    PresetError when the preset names no run, or that run was deleted."""
    from jobs import store

    if not preset.get("source_job"):
        raise PresetError(f"preset '{preset['name']}' was not saved from a run: nothing to compare it with")
    run = store.find(db, preset["source_job"])
    if run is None:
        raise PresetError(f"preset '{preset['name']}' came from {preset['source_job']}, which was deleted since")
    return run, differences(action, preset["config"] if data is None else data, run["config"])
