"""The one SQLite registry (sqlite-utils, WAL). Tables are created and migrated here, in order, by version."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import sqlite_utils

# Each migration runs once, in order; PRAGMA user_version records how many ran. Append only.
MIGRATIONS: list[str] = [
    # 1: corpus sources and snapshots
    """
    CREATE TABLE IF NOT EXISTS sources (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,              -- 'domain' or 'general'
        origin TEXT NOT NULL,            -- 'folder', 'upload' or 'hub'
        path TEXT NOT NULL,
        format TEXT NOT NULL,            -- 'jsonl', 'jsonl.gz', 'parquet', 'txt-folder', 'hub'
        source_value TEXT,               -- value of the `source` column inside a multi-source file
        split TEXT,                      -- train/dev/test for general-domain files, NULL otherwise
        language TEXT,
        license TEXT,
        commercial_use INTEGER,
        document_type TEXT,
        attribution TEXT,
        n_docs INTEGER,
        n_words INTEGER,
        file_hash TEXT,
        file_size INTEGER,
        file_mtime REAL,
        status TEXT NOT NULL DEFAULT 'ok',   -- 'ok' or 'error'
        error TEXT,
        updated_at REAL
    );
    CREATE TABLE IF NOT EXISTS source_tokens (
        source TEXT NOT NULL,
        file_hash TEXT NOT NULL,
        tokenizer TEXT NOT NULL,
        n_tokens INTEGER NOT NULL,
        PRIMARY KEY (source, file_hash, tokenizer)
    );
    CREATE TABLE IF NOT EXISTS snapshots (
        id TEXT PRIMARY KEY,
        name TEXT,
        created_at REAL,
        path TEXT NOT NULL,
        recipe TEXT NOT NULL,            -- JSON
        commercial_use INTEGER NOT NULL,
        licenses TEXT,                   -- JSON list
        sources TEXT,                    -- JSON list
        n_train_docs INTEGER, n_val_docs INTEGER, n_general_val_docs INTEGER,
        n_words INTEGER, n_tokens INTEGER,
        tokenizer TEXT,
        owner TEXT
    );
    """,
]


def connect(db_path: Path | str) -> sqlite_utils.Database:
    """Open the registry with WAL and a busy timeout, and bring its schema up to date."""
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA synchronous=NORMAL")
    db = sqlite_utils.Database(conn)
    migrate(db)
    return db


def migrate(db: sqlite_utils.Database) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for index in range(version, len(MIGRATIONS)):
        db.conn.executescript("BEGIN;" + MIGRATIONS[index] + f"PRAGMA user_version={index + 1};COMMIT;")
    return len(MIGRATIONS)


def now() -> float:
    return time.time()


def loads(row: dict, *fields: str) -> dict:
    """Decode JSON text columns of a row in place (for display and the CLI)."""
    for f in fields:
        if isinstance(row.get(f), str):
            row[f] = json.loads(row[f])
    return row
