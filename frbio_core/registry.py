"""The one SQLite registry (sqlite-utils, WAL). Tables are created and migrated here, in order, by version."""
from __future__ import annotations

import fcntl
import functools
import json
import random
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterable

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
    # 2: jobs (the one mechanism for long work; see jobs/). Statuses: queued, running, succeeded, failed, cancelled.
    """
    CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,             -- 'job-000042'; folder jobs/<id>/
        kind TEXT NOT NULL,              -- a registered job kind (jobs.kinds): corpus_build, train, ...
        owner TEXT,
        config TEXT NOT NULL,            -- JSON, validated by the kind's config class at submit time
        status TEXT NOT NULL DEFAULT 'queued',
        resumable INTEGER NOT NULL DEFAULT 0,
        requested_device TEXT NOT NULL DEFAULT 'any',   -- 'any' or a device ('cpu', 'cuda:0')
        device TEXT,                     -- where it runs (set when a slot is claimed)
        pid INTEGER,
        pgid INTEGER,
        heartbeat REAL,                  -- unix time, written by the worker every few seconds
        created_at REAL NOT NULL,
        queued_at REAL NOT NULL,         -- FIFO key: submit time, or resume time
        started_at REAL,
        finished_at REAL,
        exit_reason TEXT,                -- human-readable: why it failed or was cancelled
        progress REAL NOT NULL DEFAULT 0,   -- 0..1
        message TEXT,                    -- current step
        result TEXT,                     -- JSON returned by the kind's runner
        attempt INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX IF NOT EXISTS jobs_status_queued_at ON jobs (status, queued_at);
    CREATE INDEX IF NOT EXISTS jobs_device_status ON jobs (device, status);
    CREATE INDEX IF NOT EXISTS jobs_owner_created_at ON jobs (owner, created_at);
    CREATE INDEX IF NOT EXISTS jobs_created_at ON jobs (created_at);
    """,
    # 3: model registry (folders under models/); lineage through parents (base → DAPT → merged)
    """
    CREATE TABLE IF NOT EXISTS models (
        id TEXT PRIMARY KEY,             -- folder name under models/, e.g. 'smollm2-135m-instruct'
        name TEXT NOT NULL,              -- display name
        kind TEXT NOT NULL,              -- 'base', 'dapt', 'merged', 'tiny' (tests)
        path TEXT NOT NULL,              -- the Hugging Face folder
        origin TEXT,                     -- 'default', 'local', 'hub:<repo>', 'job:<id>', 'tiny'
        architecture TEXT, n_params INTEGER, dtype TEXT, size_bytes INTEGER,
        context_length INTEGER, vocab_size INTEGER, tokenizer TEXT,
        license TEXT,
        parents TEXT,                    -- JSON list of model ids
        snapshot_id TEXT,                -- corpus snapshot a DAPT model was trained on
        commercial_use INTEGER,          -- 0 when trained on research-only data (inherited down the lineage)
        job_id TEXT,
        content_hash TEXT,               -- of the weight files, for caching evaluations
        owner TEXT,
        created_at REAL,
        status TEXT NOT NULL DEFAULT 'ok',   -- 'ok' or 'error' (folder unreadable)
        error TEXT
    );
    CREATE INDEX IF NOT EXISTS models_kind ON models (kind);
    """,
    # 4: the id of a job in an external scheduler (Slurm job id), set when the job is submitted there
    """
    ALTER TABLE jobs ADD COLUMN external_id TEXT;
    """,
    # 5: evaluations (benchmarks and perplexities), cached by (model content hash, task, settings hash)
    """
    CREATE TABLE IF NOT EXISTS evals (
        id TEXT PRIMARY KEY,             -- 'ev-<hash>' of (content_hash, task, settings_hash); folder evals/<id>/
        model_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,      -- the model's weights hash (models.content_hash)
        task TEXT NOT NULL,              -- lm-eval task name or 'ppl:<set>'
        settings_hash TEXT NOT NULL,     -- of the eval settings that change the score (few-shot, limit, seed, ...)
        settings TEXT,                   -- JSON
        metrics TEXT NOT NULL,           -- JSON {metric: value, metric_stderr: value}
        n_samples INTEGER,
        path TEXT,                       -- evals/<id>/ (lm-eval results JSON + samples JSONL)
        job_id TEXT,
        owner TEXT,
        created_at REAL,
        duration_s REAL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS evals_key ON evals (content_hash, task, settings_hash);
    CREATE INDEX IF NOT EXISTS evals_model ON evals (model_id);
    """,
    # 6: blind A/B rounds and votes from the clinician demo (backend/generation/arena.py). A row is written when the two
    # answers are asked for (vote NULL: names are not revealed), its vote once the clinician has voted.
    """
    CREATE TABLE IF NOT EXISTS votes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        prompt TEXT NOT NULL,
        model_a TEXT NOT NULL,           -- the model shown as answer A (random order)
        model_b TEXT NOT NULL,
        answer_a TEXT, answer_b TEXT,    -- NULL until both answers are generated
        settings TEXT,                   -- JSON (GenerateConfig: sampling settings, seed, prompt format)
        vote TEXT,                       -- NULL until voted, then 'a', 'b', 'tie', 'both_bad'
        owner TEXT,
        created_at REAL,                 -- when the answers were asked for
        voted_at REAL
    );
    CREATE INDEX IF NOT EXISTS votes_models ON votes (model_a, model_b);
    """,
    # 7: users (hashed passwords) and the audit log of launches, cancellations and deletions
    """
    CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,     -- scrypt, with salt and parameters, see backend/users.py
        is_admin INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        language TEXT,                   -- 'fr' or 'en'
        created_at REAL
    );
    CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        actor TEXT,
        action TEXT NOT NULL,            -- 'launch', 'cancel', 'delete', 'resume', 'user_add', ...
        target TEXT,                     -- job id, model id, snapshot id, user name
        detail TEXT                      -- JSON
    );
    CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
    """,
    # 8: per-item results of an evaluation (the Compare tab's drill-down: each model's answer to each item)
    """
    CREATE TABLE IF NOT EXISTS eval_items (
        eval_id TEXT NOT NULL,           -- evals.id
        doc_id INTEGER NOT NULL,         -- position in the task's evaluated documents (lm-eval doc_id)
        item_id TEXT,                    -- the item's own id in the benchmark file
        question TEXT,
        gold TEXT,                       -- the correct answer (letter(s) or label)
        pred TEXT,                       -- the model's answer
        score REAL,                      -- the item's headline metric (1/0 accuracy, EMR, ...)
        detail TEXT,                     -- JSON: every per-item metric, raw generation, choice log-likelihoods
        PRIMARY KEY (eval_id, doc_id)
    );
    """,
    # 9: a model's own code (auto_map) may run only when an admin allowed it for that model (backend/models/trust.py)
    """
    ALTER TABLE models ADD COLUMN trust_remote_code INTEGER NOT NULL DEFAULT 0;
    """,
    # 10: studies: the paper's question end to end (backend/study), each stage a set of jobs
    """
    CREATE TABLE IF NOT EXISTS studies (
        id TEXT PRIMARY KEY,             -- 'study-000001'; report under reports/<id>/
        name TEXT,
        config TEXT NOT NULL,            -- JSON StudyConfig, resolved from its budget preset
        status TEXT NOT NULL,            -- running, succeeded, failed, cancelled
        stage TEXT NOT NULL,             -- snapshot, train, sweep, merge, eval, report, done
        jobs TEXT NOT NULL,              -- JSON {stage: {label: job id}}
        artefacts TEXT NOT NULL,         -- JSON: snapshot id, DAPT model id, sweep points, merged ids, eval ids
        timings TEXT NOT NULL,           -- JSON {stage: {started_at, finished_at, wall_s, jobs}}
        report_path TEXT,
        owner TEXT,
        created_at REAL NOT NULL,
        finished_at REAL,
        error TEXT,                      -- why it failed: '<stage>: <reason>'
        rev INTEGER NOT NULL DEFAULT 0   -- compare-and-set counter of every write
    );
    CREATE INDEX IF NOT EXISTS studies_status ON studies (status);
    """,
    # 11: jobs with dependencies (a study is a job whose parts are jobs): what a job waits for, what it is part of
    """
    ALTER TABLE jobs ADD COLUMN depends_on TEXT;   -- JSON list of job ids that must succeed before it starts
    ALTER TABLE jobs ADD COLUMN parent TEXT;       -- the job it is part of (a study), NULL for a job on its own
    ALTER TABLE jobs ADD COLUMN label TEXT;        -- its part in the parent, e.g. 'train', 'eval base #1'
    CREATE INDEX IF NOT EXISTS jobs_parent ON jobs (parent);
    """,
    # 12: sessions follow accounts (a session older than this is over: disabled, password changed); sources have an
    # owner (who uploaded them); a trust_remote_code permission names the content it was given for
    """
    ALTER TABLE users ADD COLUMN sessions_valid_after REAL NOT NULL DEFAULT 0;
    ALTER TABLE sources ADD COLUMN owner TEXT;
    ALTER TABLE models ADD COLUMN trusted_hash TEXT;
    CREATE INDEX IF NOT EXISTS audit_action_at ON audit (action, at);
    """,
    # 13: a blind A/B vote's reasons: the criteria the clinician ticked, an answer flagged dangerous, a comment
    """
    ALTER TABLE votes ADD COLUMN criteria TEXT;                    -- JSON list of backend.generation.arena.CRITERIA keys
    ALTER TABLE votes ADD COLUMN dangerous_a INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE votes ADD COLUMN dangerous_b INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE votes ADD COLUMN comment TEXT;
    """,
    # 14: what one job asks a cluster for, over its kind's defaults (JSON {cpus, mem, time}; NULL: the defaults)
    """
    ALTER TABLE jobs ADD COLUMN resources TEXT;
    """,
    # 15: how much of a running job's folder reports the scheduler has applied (jobs/ingest.py): the number of
    # registry-change lines of the current attempt, and the last heartbeat stamp it saw (a change = a beat)
    """
    ALTER TABLE jobs ADD COLUMN ingested INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN beat_seen TEXT;
    """,
    # 16: voting sessions of the clinicians' voting room (backend/generation/sessions.py): a named list of questions
    # (a prompt and a pair of models, answered once for every voter); each voter's vote on a question is a row of
    # `votes` (its own random A/B order), so a voter's progress is the count of their voted rows in the session
    """
    CREATE TABLE IF NOT EXISTS arena_sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        owner TEXT,                      -- the organiser (NULL: created by the server's operator at the command line)
        models TEXT NOT NULL,            -- JSON list of the model ids given; the pairs are every two of them
        settings TEXT NOT NULL,          -- JSON GenerateConfig of every answer
        status TEXT NOT NULL DEFAULT 'open',   -- 'open' (voters may vote) or 'closed'
        created_at REAL NOT NULL,
        closed_at REAL
    );
    CREATE TABLE IF NOT EXISTS arena_questions (
        session_id INTEGER NOT NULL,     -- arena_sessions.id
        position INTEGER NOT NULL,       -- 1..n, the order every voter follows
        prompt TEXT NOT NULL,
        model_1 TEXT NOT NULL,
        model_2 TEXT NOT NULL,
        answer_1 TEXT, answer_2 TEXT,    -- NULL until generated (up front, or when the first voter reaches it)
        PRIMARY KEY (session_id, position)
    );
    ALTER TABLE votes ADD COLUMN session_id INTEGER;   -- arena_sessions.id; NULL for a round of the Blind A/B tab
    ALTER TABLE votes ADD COLUMN question INTEGER;     -- arena_questions.position
    CREATE UNIQUE INDEX IF NOT EXISTS votes_session_voter ON votes (session_id, owner, question)
        WHERE session_id IS NOT NULL;
    """,
    # 17: saved presets (backend/presets.py): a person's named config of one action, and the run it came from
    """
    CREATE TABLE IF NOT EXISTS presets (
        owner TEXT NOT NULL,             -- the account; '' for the server's operator at the command line
        action TEXT NOT NULL,            -- a declared action: 'train', 'corpus-build', 'merge', 'reproduce', ...
        name TEXT NOT NULL,
        config TEXT NOT NULL,            -- JSON, validated by the action's config class
        source_job TEXT,                 -- the job whose settings it started from (compare with the run)
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (owner, action, name)
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
    migrate(db, path)
    return db


def migrate(db: sqlite_utils.Database, db_path: Path | None = None) -> int:
    """Run pending migrations. A file lock beside the database makes concurrent first opens (app + workers)
    run each migration exactly once; the version is re-read under the lock."""
    if db.execute("PRAGMA user_version").fetchone()[0] >= len(MIGRATIONS):
        return len(MIGRATIONS)
    lock_path = Path(db_path or db.execute("PRAGMA database_list").fetchone()[2]).with_suffix(".migrate.lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for index in range(version, len(MIGRATIONS)):
            db.conn.executescript("BEGIN IMMEDIATE;" + MIGRATIONS[index] + f"PRAGMA user_version={index + 1};COMMIT;")
    return len(MIGRATIONS)


def now() -> float:
    return time.time()


def loads(row: dict, *fields: str) -> dict:
    """Decode JSON text columns of a row in place (for display and the CLI)."""
    for f in fields:
        if isinstance(row.get(f), str):
            row[f] = json.loads(row[f])
    return row


def retry_locked(fn: Callable) -> Callable:
    """Retry a registry write a few times when SQLite reports the database locked or busy (on top of its own
    30 s busy timeout), with a short randomised backoff, so "database is locked" never reaches a user."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        delay = 0.05
        for attempt in range(8):
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if attempt == 7 or ("locked" not in text and "busy" not in text):
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
    return wrapper


@retry_locked
def execute(db: sqlite_utils.Database, sql: str, params: Iterable | dict = ()) -> sqlite3.Cursor:
    """One autocommit statement, retried while another process holds the write lock."""
    return db.execute(sql, params)


def rows(db: sqlite_utils.Database, sql: str, params: Iterable | dict = ()) -> list[dict]:
    """The rows of a query as dicts."""
    cursor = execute(db, sql, params)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]
