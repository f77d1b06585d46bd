"""The evaluation cache: rows of the `evals` table (aggregate metrics with standard errors), `eval_items` (one row
per evaluated item) and folders `<home>/evals/<id>/` (lm-eval's results JSON and samples JSONL, as is).

An evaluation is identified by (model content hash, task, settings hash): the same weights evaluated on the same
task with the same score-changing settings are never run twice, whatever the model is called. The content hash is
backend.models.inspect.content_hash: a full sha256 of the weight files, cached beside them in .frbio_hash.json and
keyed by each file's size and mtime, so it costs one read of the weights once and nothing afterwards; a model row
whose content_hash is empty (registered before hashing existed) or stale (weights rewritten in place) is updated.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from frbio_core.registry import now
from backend.evaluation.config import EvalError
from frbio_core.files import swap_folder, temp_sibling

ID_PREFIX = "ev-"


def model_hash(db, model: dict) -> str:
    """The model's weights hash (computed if the row has none or if the weights changed since), stored on its row."""
    from backend.models.inspect import content_hash, weight_files
    from backend.models.registry import ModelError

    try:
        files = weight_files(Path(model["path"]))
        value = content_hash(files)
    except (ModelError, OSError, IndexError) as exc:
        raise EvalError(f"model '{model['id']}': its weights cannot be read from {model['path']} ({exc})") from None
    if model.get("content_hash") != value:
        db["models"].update(model["id"], {"content_hash": value})
        model["content_hash"] = value
    return value


def settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def eval_id(content_hash: str, task: str, settings_h: str) -> str:
    return ID_PREFIX + hashlib.sha256(f"{content_hash}|{task}|{settings_h}".encode()).hexdigest()[:16]


def _decode(row: dict | None) -> dict | None:
    if row is None:
        return None
    row = dict(row)
    for key in ("metrics", "settings"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


def lookup(db, content_hash: str, task: str, settings_h: str) -> dict | None:
    rows = db["evals"].rows_where("content_hash = ? AND task = ? AND settings_hash = ?",
                                  [content_hash, task, settings_h], limit=1)
    return _decode(next(iter(rows), None))


def get_eval(db, eval_id_: str) -> dict:
    row = _decode(next(iter(db["evals"].rows_where("id = ?", [eval_id_], limit=1)), None))
    if row is None:
        raise EvalError(f"unknown evaluation '{eval_id_}'")
    return row


def list_evals(db, model_id: str | None = None) -> list[dict]:
    where, args = ("model_id = ?", [model_id]) if model_id else (None, None)
    return [_decode(r) for r in db["evals"].rows_where(where, args, order_by="created_at DESC")]


def items(db, eval_id_: str) -> list[dict]:
    rows = list(db["eval_items"].rows_where("eval_id = ?", [eval_id_], order_by="doc_id"))
    for row in rows:
        row["detail"] = json.loads(row["detail"]) if row.get("detail") else {}
    return rows


def eval_dir(home: Path, eval_id_: str) -> Path:
    if not eval_id_.startswith(ID_PREFIX) or "/" in eval_id_ or ".." in eval_id_:
        raise EvalError(f"'{eval_id_}' is not an evaluation id")
    return Path(home) / "evals" / eval_id_


def save(db, home: Path, *, model: dict, content_hash: str, task: str, run_settings: dict, metrics: dict,
         n_samples: int | None, files: dict[str, str], item_rows: list[dict], job_id: str | None = None,
         owner: str | None = None, duration_s: float | None = None) -> dict:
    """Store one evaluation: its files in evals/<id>/ (written to a temporary folder, then renamed over any older
    copy), then its row and item rows. Returns the row."""
    settings_h = settings_hash(run_settings)
    eid = eval_id(content_hash, task, settings_h)
    final = eval_dir(home, eid)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(final)
    tmp.mkdir()
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, "utf-8")
        swap_folder(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    row = {"id": eid, "model_id": model["id"], "content_hash": content_hash, "task": task,
           "settings_hash": settings_h, "settings": json.dumps(run_settings, sort_keys=True),
           "metrics": json.dumps(metrics), "n_samples": n_samples, "path": str(final), "job_id": job_id,
           "owner": owner, "created_at": now(), "duration_s": duration_s}
    # items first, the row last: a row exists only once its items are in (the row is what marks a cache hit)
    db.execute("DELETE FROM eval_items WHERE eval_id = ?", [eid])
    if item_rows:
        db["eval_items"].insert_all(
            [{**r, "eval_id": eid, "detail": json.dumps(r.get("detail") or {}, ensure_ascii=False)}
             for r in item_rows], pk=("eval_id", "doc_id"), replace=True, batch_size=500)
    db["evals"].upsert(row, pk="id")
    return get_eval(db, eid)
