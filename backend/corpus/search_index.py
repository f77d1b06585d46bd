"""Full-text search of a snapshot with SQLite FTS5.

The index is a file in the snapshot's folder (`.search.sqlite`: hidden, so publishing the snapshot leaves it out),
built on the first search, streamed from the parquet files in batches (never the whole snapshot in memory), written
under a temporary name and renamed into place. It is contentless (the texts stay in the parquet files): a table
`docs` maps each indexed row to its split, position, source and id, and the FTS5 table `texts` holds the words,
tokenised with `unicode61 remove_diacritics 2` (case and accents ignored: "hopital" finds "hôpital"). The index
remembers the size and modification time of the files it was built from, and is rebuilt when they change.

A query is words (all must appear, in any order), "a phrase" in double quotes, or a prefix ending in *; nothing
the user types is read as FTS5 syntax.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import unicodedata
from pathlib import Path

from backend.corpus.readers import CorpusInputError

INDEX_FILE = ".search.sqlite"
INDEX_VERSION = 2
BATCH_ROWS = 512
_QUERY_RE = re.compile(r'"([^"]*)"?|(\S+)')
_WORD_RE = re.compile(r"[^\W_]+")
_BUILD_LOCK = threading.Lock()  # one build at a time in this process (a second search waits, then uses it)


def index_path(folder: Path) -> Path:
    return Path(folder) / INDEX_FILE


def _fingerprint(files: dict[str, Path]) -> str:
    return json.dumps({"version": INDEX_VERSION, "files": {split: [p.name, p.stat().st_size, p.stat().st_mtime_ns]
                                                           for split, p in sorted(files.items())}})


def _stored_fingerprint(path: Path) -> str | None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        conn.close()
        return row[0] if row else None
    except sqlite3.Error:
        return None


def is_current(folder: Path, files: dict[str, Path]) -> bool:
    """Whether the folder's index exists and was built from these very files."""
    path = index_path(folder)
    return path.is_file() and _stored_fingerprint(path) == _fingerprint(files)


def build_index(folder: Path, files: dict[str, Path], progress=None) -> dict:
    """(Re)build the folder's index from `files` ({split: parquet path}); returns {documents, seconds}."""
    import pyarrow.parquet as pq

    started = time.perf_counter()
    step = progress or (lambda fraction, message: None)
    final = index_path(folder)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.unlink(missing_ok=True)
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in files.values()) or 1
    done = 0
    conn = sqlite3.connect(tmp)
    try:
        conn.executescript("""
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE docs (rowid INTEGER PRIMARY KEY, split TEXT, row INTEGER, source TEXT, id TEXT);
            CREATE VIRTUAL TABLE texts USING fts5(text, content='', tokenize='unicode61 remove_diacritics 2');
        """)
        rowid = 0
        for split, path in files.items():
            row = 0
            for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=["id", "source", "text"]):
                data = batch.to_pydict()
                n = len(data["text"])
                ids = range(rowid + 1, rowid + n + 1)
                conn.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?)",
                                 zip(ids, [split] * n, range(row, row + n), data["source"], map(str, data["id"])))
                conn.executemany("INSERT INTO texts (rowid, text) VALUES (?, ?)", zip(ids, data["text"]))
                rowid, row, done = rowid + n, row + n, done + n
                step(done / total, f"indexing {done:,}/{total:,} documents")
        conn.execute("INSERT INTO texts (texts) VALUES ('optimize')")
        conn.execute("INSERT INTO meta VALUES ('fingerprint', ?)", [_fingerprint(files)])
        conn.commit()
        conn.close()
        os.replace(tmp, final)
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    return {"documents": rowid, "seconds": round(time.perf_counter() - started, 3)}


def ensure_index(folder: Path, files: dict[str, Path], progress=None) -> dict | None:
    """Build the folder's index unless it is current; what the build did, or None when there was nothing to do."""
    if is_current(folder, files):
        return None
    with _BUILD_LOCK:
        if is_current(folder, files):
            return None
        try:
            return build_index(folder, files, progress)
        except OSError as exc:
            raise CorpusInputError(f"cannot write the search index of snapshot {Path(folder).name}: "
                                   f"{exc.strerror or exc}") from None


def fts_query(text: str) -> str | None:
    """The FTS5 query for what a user typed: every word (or "quoted phrase") required, `word*` a prefix; only
    letters and digits reach FTS5 (no operator, column filter or syntax error can come from the user). None when
    nothing searchable is left."""
    parts = []
    for phrase, word in _QUERY_RE.findall(text or ""):
        prefix = bool(word) and word.endswith("*")
        words = _WORD_RE.findall(phrase if phrase else word)
        if words:
            parts.append('"' + " ".join(words) + '"' + ("*" if prefix else ""))
    return " AND ".join(parts) or None


def search(folder: Path, files: dict[str, Path], text: str, split: str, source: str | None, page: int, size: int,
           progress=None) -> dict:
    """{rows (positions in the split's file, best match first), total, page, pages, index (the build, when this
    search made one)} for one page of the matches of `text` among `split`'s (and `source`'s) documents."""
    from backend.corpus.viewer import page_bounds

    query = fts_query(text)
    if query is None:
        raise CorpusInputError("type a word to search for (letters or digits)")
    built = ensure_index(folder, files, progress)
    where = "texts MATCH ? AND docs.split = ?" + (" AND docs.source = ?" if source else "")
    args = [query, split] + ([source] if source else [])
    with sqlite3.connect(f"file:{index_path(folder)}?mode=ro", uri=True) as conn:
        # CROSS JOIN: the matches first, then their rows (SQLite would otherwise scan a whole split's rows)
        joined = "FROM texts CROSS JOIN docs ON docs.rowid = texts.rowid WHERE " + where
        total = conn.execute("SELECT count(*) " + joined, args).fetchone()[0]
        number, pages = page_bounds(total, page, size)
        rows = [r for (r,) in conn.execute(f"SELECT docs.row {joined} ORDER BY texts.rank, docs.rowid LIMIT ? "
                                           "OFFSET ?", args + [size, (number - 1) * size])]
    conn.close()
    return {"rows": rows, "total": total, "page": number, "pages": pages, "index": built}


# ------------------------------------------------------------------ where a match is, for the excerpt shown

def _fold_table() -> dict[int, str]:
    """Lower-case without accents, one character for one (so positions in the folded text are the original's)."""
    table = {}
    for cp in range(0x250):
        ch = chr(cp)
        base = unicodedata.normalize("NFD", ch)[0].lower()
        if base != ch and len(base) == 1:
            table[cp] = base
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    return text.translate(_FOLD)


def first_match(text: str, query: str) -> int:
    """Where the first word of `query` found in `text` starts (accents and case ignored), else 0."""
    folded = fold(text)
    best = None
    for phrase, word in _QUERY_RE.findall(query or ""):
        prefix = bool(word) and word.endswith("*")
        for w in _WORD_RE.findall(phrase if phrase else word):
            match = re.search(r"(?<!\w)" + re.escape(fold(w)) + ("" if prefix else r"(?!\w)"), folded)
            if match and (best is None or match.start() < best):
                best = match.start()
    return best or 0
