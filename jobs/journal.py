"""The registry a worker works on: a copy, and the rows it changed, shipped back through the job folder.

At launch the scheduler writes a consistent copy of the registry into the job folder (`snapshot`, SQLite's backup
API). The worker copies it to node-local disk (`local_copy`: SQLite must not be written over a network file system)
with triggers that log every row the runner inserts, updates or deletes, runs the unchanged runners against that
copy, and appends the changed rows to `registry_changes.jsonl` every few seconds and before its final status
(`Journal.flush`). The scheduler applies those lines to the registry (`apply`, through jobs/ingest.py).

What is applied: every table's rows by primary key (insert or replace; a delete by key; a column the runner added, as
sqlite-utils' `alter=True` does, is added to the registry too), with two exceptions. Rows
of a table keyed by an autoincrement integer (audit, votes) are inserted under a new id, never updated. In `jobs`,
only new rows (jobs the runner submitted, e.g. the evaluation of a checkpoint as it is written) are applied: a
job's own row is the scheduler's, fed by the other reports of jobs/channel.py.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

from jobs.channel import CHANGES_FILE, SNAPSHOT_FILE

LOG_TABLE = "_frbio_changes"
COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def snapshot(db, folder: Path) -> Path:
    """A consistent copy of the registry `db` (a sqlite-utils Database) as `<folder>/registry.db`, atomically."""
    from frbio_core.files import temp_sibling

    final = Path(folder) / SNAPSHOT_FILE
    tmp = temp_sibling(final)
    try:
        target = sqlite3.connect(str(tmp))
        try:
            db.conn.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
        tmp.replace(final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """{table: primary-key columns} of the registry's own tables (not virtual tables such as FTS5, nor theirs)."""
    found = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                         "AND name NOT LIKE '\\_%' ESCAPE '\\'").fetchall()
    virtual = [n for n, sql in found if (sql or "").upper().startswith("CREATE VIRTUAL TABLE")]
    out = {}
    for name, _ in found:
        if any(name == v or name.startswith(v + "_") for v in virtual):
            continue
        info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
        out[name] = [c[1] for c in sorted((c for c in info if c[5]), key=lambda c: c[5])]
    return out


def autoincrement(conn: sqlite3.Connection, table: str, pk: list[str]) -> bool:
    if len(pk) != 1:
        return False
    kind = next(c[2] for c in conn.execute(f'PRAGMA table_info("{table}")') if c[1] == pk[0])
    return kind.upper() == "INTEGER"


def local_copy(folder: Path, into: Path | None = None) -> Path:
    """The job folder's registry copy on node-local disk (a fresh temporary folder unless `into`), with the triggers
    that log the runner's changes. FileNotFoundError when the folder holds no copy (a launch by an older app)."""
    source = Path(folder) / SNAPSHOT_FILE
    if not source.is_file():
        raise FileNotFoundError(f"no registry copy in {folder} ({SNAPSHOT_FILE}): the scheduler writes it at launch")
    if into is None:
        sweep()
        into = Path(tempfile.mkdtemp(prefix=f"frbio-{Path(folder).name}-{os.getpid()}-"))
    path = into / "frbio.db"
    shutil.copyfile(source, path)
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        script = [f"CREATE TABLE IF NOT EXISTS {LOG_TABLE} (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT, "
                  "rid INTEGER, key TEXT);"]
        for table, pk in tables(conn).items():
            key = "json_array(" + ", ".join(f'OLD."{c}"' for c in pk) + ")" if pk else "NULL"
            for event, ref in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
                script.append(f'CREATE TRIGGER IF NOT EXISTS "_frbio_{event.lower()}_{table}" AFTER {event} ON '
                              f'"{table}" BEGIN INSERT INTO {LOG_TABLE} (tbl, rid, key) VALUES (\'{table}\', '
                              f'{ref}.rowid, {key if event == "DELETE" else "NULL"}); END;')
        conn.executescript("BEGIN;" + "\n".join(script) + "COMMIT;")   # one transaction: one sync, not 40
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return path


def sweep() -> int:
    """Remove the copies left on this node's disk by workers that died without cleaning up (kill -9): folders
    `frbio-<job>-<pid>-*` of temporary files whose process is gone. Returns how many."""
    removed = 0
    for path in Path(tempfile.gettempdir()).glob("frbio-job-*-*-*"):
        parts = path.name.split("-")
        try:
            pid = int(parts[3])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        except (ValueError, IndexError, PermissionError):
            continue
    return removed


class Journal:
    """Ships the copy's changed rows to `<folder>/registry_changes.jsonl`: each row once per flush, at the place of
    its first change (a model registered before the job that evaluates it stays before it), in its current state."""

    def __init__(self, db_path: Path, folder: Path, attempt: int):
        self.path, self.folder, self.attempt = Path(db_path), Path(folder), attempt
        self._seen = 0
        self._shipped: set[tuple[str, int]] = set()   # rows of autoincrement tables go once (inserted, never updated)

    def flush(self) -> int:
        """Append the changes since the last flush; returns how many lines were written."""
        conn = sqlite3.connect(str(self.path), timeout=30)
        try:
            changes = conn.execute(f"SELECT seq, tbl, rid, key FROM {LOG_TABLE} WHERE seq > ? ORDER BY seq",
                                   [self._seen]).fetchall()
            if not changes:
                return 0
            keys = tables(conn)
            counters = {t for t, pk in keys.items() if autoincrement(conn, t, pk)}
            lines, done = [], set()
            for seq, table, rid, key in changes:
                if (table, rid) in done or (table, rid) in self._shipped:
                    continue
                done.add((table, rid))
                if table in counters:
                    self._shipped.add((table, rid))
                cursor = conn.execute(f'SELECT * FROM "{table}" WHERE rowid = ?', [rid])
                found = cursor.fetchone()
                if found is not None:
                    row = dict(zip([c[0] for c in cursor.description], found))
                    lines.append({"attempt": self.attempt, "table": table, "op": "upsert", "row": row})
                elif key is not None:
                    lines.append({"attempt": self.attempt, "table": table, "op": "delete",
                                  "key": dict(zip(keys.get(table, []), json.loads(key)))})
            last = changes[-1][0]
        finally:
            conn.close()
        if lines:
            text = "".join(json.dumps(line, ensure_ascii=False, default=str) + "\n" for line in lines)
            with open(self.folder / CHANGES_FILE, "a", encoding="utf-8") as f:
                f.write(text)
                f.flush()
        self._seen = last
        return len(lines)


def _affinity(value) -> str:
    return "INTEGER" if isinstance(value, (bool, int)) else "REAL" if isinstance(value, float) else "TEXT"


def read_changes(folder: Path, offset: int) -> tuple[list[dict], int]:
    """(complete lines from byte `offset` on, the offset after them): a line the worker is still writing waits."""
    path = Path(folder) / CHANGES_FILE
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return [], offset
    end = data.rfind(b"\n") + 1
    out = []
    for line in data[:end].splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out, offset + end


def apply(conn: sqlite3.Connection, changes: list[dict], job_id: str, attempt: int) -> list[str]:
    """Apply `changes` of `attempt` inside the caller's transaction; returns notes on what was left out."""
    keys = tables(conn)
    shape: dict[str, tuple[list[str], bool]] = {}   # table → (columns, autoincrement key), read once per call
    notes = []
    for change in changes:
        table = change.get("table")
        if change.get("attempt") != attempt or table not in keys:
            continue
        pk = keys[table]
        if table not in shape:
            shape[table] = ([c[1] for c in conn.execute(f'PRAGMA table_info("{table}")')],
                            autoincrement(conn, table, pk))
        columns, serial = shape[table]
        if change["op"] == "delete":
            key = change.get("key") or {}
            if table == "jobs" or serial or set(key) != set(pk) or not pk:
                notes.append(f"left out: delete in {table}")
                continue
            conn.execute(f'DELETE FROM "{table}" WHERE ' + " AND ".join(f'"{c}" = ?' for c in pk),
                         [key[c] for c in pk])
            continue
        row = change.get("row") or {}
        for name in [k for k in row if k not in columns and COLUMN_RE.match(k)]:   # added by the runner's
            conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {_affinity(row[name])}')   # alter=True upsert
            columns.append(name)
        if table == "jobs":
            if row.get("id") == job_id or conn.execute("SELECT 1 FROM jobs WHERE id = ?", [row.get("id")]).fetchone():
                continue   # a job's own row and existing jobs are the scheduler's
        values = {c: row[c] for c in columns if c in row and not (serial and c == pk[0])}
        verb = "INSERT OR REPLACE" if pk and not serial else "INSERT"
        conn.execute(f'{verb} INTO "{table}" (' + ", ".join(f'"{c}"' for c in values) + ") VALUES ("
                     + ", ".join("?" * len(values)) + ")", list(values.values()))
    return notes
