"""The source catalogue: discover sources in data folders, uploads and Hub datasets; per-source licence and counts.

A source is one file (or one value of the `source` column inside a multi-source file). Its counts are computed
once per file content (keyed by size + mtime, then hash) and kept in the registry."""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import sqlite_utils

from backend.corpus.readers import CorpusInputError, detect_format, file_hash, iter_records, sniff_binary, stem_of
from frbio_core.registry import now

SPLIT_RE = re.compile(r"\.(train|dev|test|validation)$")
DEFAULT_HUB_DATASET = "HealthDataHub/PARCOMED"


def _sidecar_meta(path: Path) -> dict:
    """Licence metadata from a `sources.json` beside the file (as in ../shared/data), keyed by file stem."""
    sidecar = path.parent / "sources.json"
    if not sidecar.is_file():
        return {}
    try:
        return json.loads(sidecar.read_text("utf-8")).get(stem_of(path), {})
    except (ValueError, OSError):
        return {}


def _majority(values: Counter, default):
    return values.most_common(1)[0][0] if values else default


def summarise_file(path: Path, kind: str, meta: dict | None = None) -> list[dict]:
    """Read a file once; one summary row per `source` value. Raises CorpusInputError."""
    meta = {**_sidecar_meta(path), **(meta or {})}
    groups: dict[str, dict] = {}
    for rec in iter_records(path):
        key = str(rec.get("source") or stem_of(path))
        g = groups.setdefault(key, {"n_docs": 0, "n_words": 0, "licenses": Counter(), "types": Counter(),
                                    "commercial": set(), "langs": Counter()})
        g["n_docs"] += 1
        g["n_words"] += len(rec["text"].split())
        if rec.get("license"):
            g["licenses"][rec["license"]] += 1
        if rec.get("document_type"):
            g["types"][rec["document_type"]] += 1
        if "commercial_use" in rec:
            g["commercial"].add(bool(rec["commercial_use"]))
        g["langs"][rec.get("language") or meta.get("language") or "fr"] += 1
    split = SPLIT_RE.search(stem_of(path))
    rows = []
    for value, g in groups.items():
        # A source is commercial only if every record says so (or the sidecar/upload form does); unknown → no.
        commercial = g["commercial"] == {True} if g["commercial"] else bool(meta.get("commercial_use", False))
        name = stem_of(path) if len(groups) == 1 else value
        rows.append({
            "name": name, "kind": kind, "source_value": value if len(groups) > 1 else None,
            "split": split.group(1) if (split and kind == "general") else None,
            "language": _majority(g["langs"], "fr"),
            "license": _majority(g["licenses"], meta.get("license", "unknown")),
            "commercial_use": int(commercial),
            "document_type": _majority(g["types"], meta.get("document_type", "general" if kind == "general"
                                                            else "unknown")),
            "attribution": meta.get("attribution") or meta.get("origin"),
            "n_docs": g["n_docs"], "n_words": g["n_words"],
        })
    return rows


def _kind_for(path: Path, data_dir: Path) -> str:
    rel = path.relative_to(data_dir).parts
    return "general" if rel and rel[0] == "general" else "domain"


def candidate_files(data_dir: Path) -> list[Path]:
    found = []
    for folder in (data_dir / "corpus", data_dir / "general", data_dir):
        if folder.is_dir():
            for p in sorted(folder.iterdir()):
                if p.name != "sources.json" and detect_format(p) and (p.is_file() or p.is_dir()):
                    if folder == data_dir and p.name in ("corpus", "general", "bench"):
                        continue
                    found.append(p)
    return found


def register_path(db: sqlite_utils.Database, path: Path, kind: str, origin: str, meta: dict | None = None,
                  force: bool = False, owner: str | None = None) -> list[dict]:
    """Catalogue one file: reuse stored counts when size and mtime are unchanged, else (re)read it.
    A file that cannot be read becomes one row with status 'error' and the message; other rows are untouched.
    `owner`: who added it (None: a file of the shared data folders)."""
    path = path.resolve()
    stat = path.stat()
    size = stat.st_size if path.is_file() else sum(f.stat().st_size for f in path.glob("*.txt"))
    existing = list(db["sources"].rows_where("path = ?", [str(path)])) if db["sources"].exists() else []
    if existing and not force and all(r["file_size"] == size and r["file_mtime"] == stat.st_mtime
                                      for r in existing):
        return existing
    base = {"origin": origin, "path": str(path), "format": detect_format(path), "file_size": size,
            "file_mtime": stat.st_mtime, "updated_at": now(), "owner": owner}
    try:
        digest = file_hash(path)
        rows = [{**base, **r, "file_hash": digest, "status": "ok", "error": None}
                for r in summarise_file(path, kind, meta)]
    except CorpusInputError as exc:
        rows = [{**base, "name": stem_of(path), "kind": kind, "status": "error", "error": str(exc),
                 "n_docs": 0, "n_words": 0, "commercial_use": 0, "license": (meta or {}).get("license", "unknown")}]
    with db.conn:
        db["sources"].delete_where("path = ?", [str(path)])
        for row in rows:
            taken = db["sources"].rows_where("name = ? AND path != ?", [row["name"], str(path)])
            if any(True for _ in taken):  # same name from another folder: qualify it with its folder
                row["name"] = f"{path.parent.name}/{row['name']}"
            db["sources"].upsert(row, pk="name", alter=True)
    return rows


def scan(db: sqlite_utils.Database, data_dirs: list[Path], uploads_dir: Path | None = None) -> list[dict]:
    """Discover every source in the data folders (corpus/ → domain, general/ → general) and past uploads."""
    seen = set()
    for data_dir in data_dirs:
        if not data_dir.is_dir():
            continue
        for path in candidate_files(data_dir):
            seen.add(str(path.resolve()))
            register_path(db, path, _kind_for(path, data_dir), "folder")
    # Forget folder sources whose file vanished; uploads and hub imports live under home and stay.
    for row in list(db["sources"].rows_where("origin = 'folder'")):
        if row["path"] not in seen and not Path(row["path"]).exists():
            db["sources"].delete(row["name"])
    return list_sources(db)


def list_sources(db: sqlite_utils.Database, kind: str | None = None) -> list[dict]:
    if not db["sources"].exists():
        return []
    where, args = ("kind = ?", [kind]) if kind else (None, None)
    return list(db["sources"].rows_where(where, args, order_by="kind, name"))


def get_source(db: sqlite_utils.Database, name: str) -> dict:
    try:
        return db["sources"].get(name)
    except sqlite_utils.db.NotFoundError:
        raise CorpusInputError(f"unknown source '{name}'") from None


def load_documents(row: dict) -> list[dict]:
    """Every record of a catalogued source, filled with the source's licence fields where missing."""
    docs = []
    for i, rec in enumerate(iter_records(Path(row["path"]))):
        if row.get("source_value") and str(rec.get("source")) != row["source_value"]:
            continue
        docs.append({
            "id": str(rec.get("id") or f"{row['name']}-{i:06d}"), "text": rec["text"], "source": row["name"],
            "document_type": rec.get("document_type") or row["document_type"],
            "license": rec.get("license") or row["license"],
            "commercial_use": bool(rec["commercial_use"]) if "commercial_use" in rec else bool(row["commercial_use"]),
            "language": rec.get("language") or row.get("language") or "fr",
        })
    return docs


def find_source(db: sqlite_utils.Database, name: str) -> dict | None:
    """The source called `name`, or one of the sources of the file stored under that name, or None."""
    if not db["sources"].exists():
        return None
    return next(iter(db["sources"].rows_where("name = ? OR name LIKE ?", [name, f"{name}/%"], limit=1)), None)


def import_upload(db: sqlite_utils.Database, uploads_dir: Path, file_path: Path, name: str, license: str,
                  commercial_use: bool, document_type: str, kind: str = "domain", owner: str | None = None,
                  replace: bool = False) -> list[dict]:
    """Validate an uploaded file, then keep a copy under home/uploads/<name>/ and catalogue it, owned by `owner`.
    Raises CorpusInputError (and stores nothing) when the file is unusable, or when a source of that name exists
    (`replace`: an upload, by its owner or an admin; audited). The copy is written under a unique temporary name
    and moved in place with one rename, which also reserves the name against a parallel upload; a failed copy
    (a full disk) leaves nothing behind."""
    from frbio_core import users
    from frbio_core.files import swap_folder

    file_path = Path(file_path)
    name = re.sub(r"[^\w.-]+", "_", (name or stem_of(file_path)).strip())[:80].strip(".")
    if not name:
        raise CorpusInputError("give the source a name")
    if kind not in ("domain", "general"):
        raise CorpusInputError(f"kind must be 'domain' or 'general', not '{kind}'")
    fmt = detect_format(file_path)
    if fmt is None:
        raise CorpusInputError(f"{file_path.name}: unsupported file type; upload .jsonl, .jsonl.gz, .parquet or .txt")
    if fmt != "txt-folder":
        sniff_binary(file_path)
    for _ in iter_records(file_path):  # full validation before anything is stored
        pass
    existing = find_source(db, name)
    if existing is not None and not replace:
        raise CorpusInputError(f"a source named '{name}' already exists (owner: {existing.get('owner') or 'none'}); "
                               "choose another name, or replace it as its owner or an admin (--replace)")
    if existing is not None:
        if existing["origin"] != "upload":
            raise CorpusInputError(f"'{name}' is a source of the data folders, not an upload: it cannot be replaced")
        users.require_can_manage(db, owner, existing.get("owner"), "replace", f"source {name}", name)
    suffix = {"jsonl": ".jsonl", "jsonl.gz": ".jsonl.gz", "parquet": ".parquet", "txt": ".txt"}[fmt]
    target_dir = uploads_dir / name
    try:
        uploads_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".part", dir=uploads_dir))
    except OSError as exc:
        raise CorpusInputError(f"could not store the upload: {exc.strerror or exc}") from None
    try:
        shutil.copyfile(file_path, staging / f"{name}{suffix}")
        if existing is not None:
            swap_folder(staging, target_dir)
        else:
            os.rename(staging, target_dir)   # fails when a parallel upload took the name first
    except OSError as exc:
        taken = exc.errno in (errno.ENOTEMPTY, errno.EEXIST)
        raise CorpusInputError(f"a source named '{name}' was just added by someone else; choose another name" if taken
                               else f"could not store the upload: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if existing is not None:
        with db.conn:
            db["sources"].delete_where("path LIKE ?", [str(target_dir.resolve()) + "/%"])
    meta = {"license": license or "unknown", "commercial_use": bool(commercial_use),
            "document_type": document_type or "unknown"}
    rows = register_path(db, target_dir / f"{name}{suffix}", kind, "upload", meta, force=True, owner=owner)
    users.audit(db, owner, "source_replace" if existing is not None else "source_add", name,
                license=meta["license"], commercial_use=meta["commercial_use"],
                **({"owner": existing.get("owner")} if existing is not None else {}))
    if rows[0]["status"] == "error":
        raise CorpusInputError(rows[0]["error"])
    return rows
