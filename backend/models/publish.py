"""Publish a registered model or a corpus snapshot to the Hugging Face Hub with its card, in one commit.

Publishing is deliberate: only the artefact's owner (or an admin) publishes it, private by default, and every
attempt is audited with the repository id. The token is the one the person gives; the server's own ($HF_TOKEN, the
saved `hf auth login`) is used only by the operator at the command line, or for everyone when the app was started
with --allow-server-hub-token. It is never logged nor put in a message: every Hub error is rewritten without it."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import sqlite_utils

from backend.models.hub import REPO_ID, hub_error, hub_unavailable, resolve_token
from backend.models.registry import ModelError, get_model
from frbio_core import users
from frbio_core.settings import offline
from backend import lineage

log = logging.getLogger(__name__)
IGNORE = (".", "__pycache__")  # hidden files (.frbio_hash.json, .cache/, .git/) and caches are not uploaded


def _allowed(db, row: dict, what: str, repo_id: str, actor: str | None, token: str | None,
             server_token: bool) -> None:
    """Only the owner or an admin publishes; the server's token only for the operator or when allowed."""
    users.require_can_manage(db, actor, row.get("owner"), f"publish to '{repo_id}'", what, row["id"])
    if actor is not None and not token and not server_token:
        users.audit(db, actor, "refused", what, attempted="publish", repo_id=repo_id, reason="no token given")
        raise ModelError("give your own Hugging Face token to publish: this server does not lend its own (its "
                         "operator can allow that with --allow-server-hub-token)")


def publish_model(db: sqlite_utils.Database, model_id: str, repo_id: str, token: str | None = None,
                  private: bool = True, actor: str | None = None, server_token: bool = True) -> dict:
    """Upload a registered model's folder to `repo_id` (created if needed, private by default), as `actor` (None:
    the operator at the command line). Its README.md is uploaded as is, or, when FrBio Studio wrote it, with the
    model's evaluations (`model-index`) and published snapshot (`datasets`) added; a folder without one gets a card
    generated from the registry row. Returns {"repo_id", "url", "commit", "card": "existing"|"updated"|"generated"}."""
    row = get_model(db, model_id)
    _allowed(db, row, f"model {row['id']}", repo_id, actor, token, server_token)
    folder = Path(row["path"])
    if not folder.is_dir():
        raise ModelError(f"The folder of model '{row['id']}' is gone: {folder}")
    readme = folder / "README.md"
    if readme.is_file():     # our own card gains the model's evaluations and published snapshot since it was written
        from backend.models.cards import with_evaluations

        snapshot_repo = published_repo(db, row["snapshot_id"]) if row.get("snapshot_id") else None
        card = with_evaluations(readme.read_text("utf-8"), row["id"], evaluations(db, row["id"]),
                                [snapshot_repo] if snapshot_repo else None)
        kind = "existing" if card is None else "updated"
    else:
        card, kind = model_card_for(db, row), "generated"
    result = {**_publish(folder, repo_id, "model", token, private, card, f"Upload {row['id']} from FrBio Studio"),
              "card": kind}
    users.audit(db, actor, "publish", row["id"], repo_id=repo_id, private=bool(private))
    return result


def publish_snapshot(db: sqlite_utils.Database, snapshot_id: str, repo_id: str, token: str | None = None,
                     private: bool = True, actor: str | None = None, server_token: bool = True) -> dict:
    """Upload a corpus snapshot folder (parquet splits, manifest.json, README.md dataset card) as a dataset repo."""
    row = next(iter(db["snapshots"].rows_where("id = ? OR name = ?", [snapshot_id, snapshot_id], limit=1)), None) \
        if db["snapshots"].exists() else None
    if row is None:
        raise ModelError(f"unknown snapshot '{snapshot_id}'")
    _allowed(db, row, f"snapshot {row['id']}", repo_id, actor, token, server_token)
    folder = Path(row["path"])
    if not folder.is_dir():
        raise ModelError(f"The folder of snapshot '{row['id']}' is gone: {folder}")
    card = None
    if not (folder / "README.md").is_file():
        status = lineage.status(bool(row["commercial_use"]))
        card = (f"---\nlicense: other\nlanguage: [fr]\ntags: [biomedical, french, frbio-studio]\n---\n"
                f"# {row.get('name') or row['id']} ({row['id']})\n\nLicence status: {status}.\n")
    result = _publish(folder, repo_id, "dataset", token, private, card, f"Upload snapshot {row['id']} from FrBio Studio")
    users.audit(db, actor, "publish", row["id"], repo_id=repo_id, private=bool(private))
    return result


def model_card_for(db: sqlite_utils.Database, row: dict) -> str:
    """A model card generated from a registry row: its parents (as Hub ids where they come from the Hub), snapshot,
    licence, and its evaluations as `model-index` entries (the newest result of each benchmark and metric)."""
    from backend.models.cards import model_card

    parents = []
    for parent in row["parents"]:
        try:
            parents.append(get_model(db, parent))
        except ModelError:
            parents.append({"id": parent})
    if row.get("origin") == "default" or (row.get("origin") or "").startswith("hub:"):
        parents = [row]                                  # the upstream repository is where it comes from
    snapshot = None
    if row.get("snapshot_id"):
        snap = next(iter(db["snapshots"].rows_where("id = ?", [row["snapshot_id"]], limit=1)), None) \
            if db["snapshots"].exists() else None
        snapshot = {"id": row["snapshot_id"], "commercial_use": bool(snap["commercial_use"]) if snap else
                    bool(row.get("commercial_use", 1)), "licenses": _json_list(snap.get("licenses")) if snap else [],
                    "repo_id": published_repo(db, row["snapshot_id"])}
    facts = {k: row.get(k) for k in ("architecture", "n_params", "dtype", "context_length", "vocab_size")}
    kind = "dapt" if row.get("kind") == "checkpoint" else row.get("kind")   # a checkpoint of a DAPT run
    relation = {"dapt": "finetune", "merged": "merge"}.get(kind)
    return model_card(title=row.get("name") or row["id"], parents=parents, relation=relation, snapshot=snapshot,
                      method=kind if kind in ("dapt", "merged") else "",
                      hyperparameters=facts, license=row.get("license"), evals=evaluations(db, row["id"]),
                      description="Published from FrBio Studio." + (
                          "" if row.get("commercial_use", 1) else " " + lineage.sentence(
                              False, kind if kind in lineage.WHY else "merged")))


def published_repo(db: sqlite_utils.Database, target: str) -> str | None:
    """The Hub repository `target` (a snapshot, a model) was last published to, from the audit log."""
    if not db["audit"].exists():
        return None
    for row in db.query("SELECT detail FROM audit WHERE action = 'publish' AND target = ? ORDER BY at DESC LIMIT 1",
                        [target]):
        try:
            return json.loads(row["detail"] or "{}").get("repo_id")
        except ValueError:
            return None
    return None


def evaluations(db: sqlite_utils.Database, model_id: str) -> list[dict]:
    """The model's benchmark scores from the registry's evals table (perplexities left out: not a Hub metric):
    the newest result per task and metric, as {task, title, metric, value, n}."""
    if not db["evals"].exists():
        return []
    newest: dict[tuple[str, str], dict] = {}
    for ev in db.query("SELECT task, metrics, n_samples, created_at FROM evals WHERE model_id = ? "
                       "ORDER BY created_at", [model_id]):
        if ev["task"].startswith("ppl") or ev["task"] == "perplexity":
            continue
        try:
            metrics = json.loads(ev["metrics"] or "{}")
        except ValueError:
            continue
        for metric, value in metrics.items():
            if metric.endswith("_stderr") or not isinstance(value, (int, float)):
                continue
            newest[(ev["task"], metric)] = {"task": ev["task"], "title": ev["task"].removeprefix("frbio_"),
                                            "metric": metric, "value": float(value), "n": ev["n_samples"]}
    return list(newest.values())


def _publish(folder: Path, repo_id: str, repo_type: str, token: str | None, private: bool, card: str | None,
             message: str) -> dict:
    action = f"publish to the Hugging Face Hub as '{repo_id}'"
    if not REPO_ID.fullmatch(repo_id or "") or "/" not in repo_id:
        raise ModelError(f"'{repo_id}' is not a Hub repository id (expected owner/name)")
    if offline():
        raise hub_unavailable(action, "offline mode is on (HF_HUB_OFFLINE=1)")
    token = resolve_token(token)
    if not token:
        raise ModelError(f"Cannot {action}: no Hugging Face token (set HF_TOKEN, log in with `hf auth login`, or "
                         "enter a token in your settings)")
    from huggingface_hub import CommitOperationAdd, HfApi

    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and not any(part.startswith(IGNORE) for part in p.relative_to(folder).parts)
                   and not (card is not None and p.relative_to(folder).as_posix() == "README.md"))
    operations = [CommitOperationAdd(path_in_repo=p.relative_to(folder).as_posix(), path_or_fileobj=str(p))
                  for p in files]
    if card is not None:
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode("utf-8")))
    log.info("publishing %s (%d files) to %s/%s", folder, len(operations), repo_type, repo_id)
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        commit = api.create_commit(repo_id, operations=operations, commit_message=message, repo_type=repo_type)
    except Exception as exc:  # noqa: BLE001 - rewritten without the token
        raise hub_error(exc, action, token) from None
    return {"repo_id": repo_id, "url": str(url), "commit": getattr(commit, "oid", None),
            "card": "generated" if card is not None else "existing", "files": len(operations)}


def _json_list(value) -> list:
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [value]
    return value if isinstance(value, list) else []
