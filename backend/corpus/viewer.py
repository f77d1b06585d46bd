"""Reading a built snapshot: its splits and sources, a page of one source's documents, a document by its position.

Everything is read straight from the snapshot's parquet files, never the whole snapshot at once: the `source`
column (small, dictionary-encoded) says which rows hold a source's documents, then only the row groups holding the
page's rows are decoded (a snapshot writes groups of `ROW_GROUP_ROWS` documents; one built before that holds a
single group, read whole, still without the other splits). Full-text search: backend.corpus.search_index; a
document's cleaning and its duplicates: backend.corpus.doc_view. No gradio here: the Corpus tab and
`python -m backend corpus show` call these functions.
"""
from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path

import numpy as np
import sqlite_utils

from backend.corpus.readers import CorpusInputError
from backend.corpus.snapshot import DUPLICATES_FILE, SPLIT_FILES

PAGE_SIZE = 20
EXCERPT_CHARS = 160
DUPLICATES_SPLIT = "dropped_duplicates"  # the documents the build removed as duplicates, read like a split
LIST_COLUMNS = ["id", "source", "n_words", "text"]
_SPACES_RE = re.compile(r"\s+")


def find_snapshot(db: sqlite_utils.Database, snap: str) -> tuple[Path, dict]:
    """(folder, registry row) of the snapshot with this id or name; CorpusInputError when there is none or its
    folder is gone."""
    rows = list(db["snapshots"].rows_where("id = ? OR name = ?", [snap, snap], order_by="created_at desc",
                                           limit=1)) if db["snapshots"].exists() else []
    if not rows:
        raise CorpusInputError(f"unknown snapshot '{snap}' (see python -m backend corpus snapshots)")
    folder = Path(rows[0]["path"])
    if not (folder / "manifest.json").is_file():
        raise CorpusInputError(f"the folder of snapshot '{rows[0]['id']}' is gone: {folder}")
    return folder, rows[0]


def read_manifest(folder: Path) -> dict:
    return json.loads((Path(folder) / "manifest.json").read_text("utf-8"))


def split_files(folder: Path) -> dict[str, Path]:
    """The snapshot's readable splits, in the usual order, then the dropped duplicates when the build recorded them."""
    names = {**SPLIT_FILES, DUPLICATES_SPLIT: DUPLICATES_FILE}
    return {split: folder / name for split, name in names.items() if (folder / name).is_file()}


def split_path(folder: Path, split: str) -> Path:
    files = split_files(folder)
    if split not in files:
        known = ", ".join(files) or "none"
        raise CorpusInputError(f"snapshot {folder.name} has no split '{split}' (it has: {known})")
    return files[split]


def stamp(path: Path) -> tuple[str, int, int]:
    """(path, modification time, size): the key under which what is read of a file is cached."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=32)
def _sources_of(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, ...], np.ndarray]:
    """(source names, the source number of every row) of one parquet file; cached while the file is unchanged."""
    import pyarrow.parquet as pq

    column = pq.read_table(path, columns=["source"]).column("source").combine_chunks().dictionary_encode()
    names = tuple(str(s) for s in column.dictionary.to_pylist())
    return names, column.indices.to_numpy(zero_copy_only=False).astype(np.int32)


@functools.lru_cache(maxsize=32)
def _keys_of(path: str, mtime_ns: int, size: int) -> dict[tuple[str, str], list[int]]:
    """(source, id) → rows holding that document (several when the mix repeats it), for one parquet file."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["source", "id"])
    out: dict[tuple[str, str], list[int]] = {}
    for row, key in enumerate(zip(table.column("source").to_pylist(), table.column("id").to_pylist())):
        out.setdefault((str(key[0]), str(key[1])), []).append(row)
    return out


def sources(folder: Path, split: str) -> list[tuple[str, int]]:
    """(source, documents) of one split, by source name."""
    names, codes = _sources_of(*stamp(split_path(folder, split)))
    counts = np.bincount(codes, minlength=len(names))
    return sorted((name, int(n)) for name, n in zip(names, counts) if n)


def source_rows(folder: Path, split: str, source: str | None) -> np.ndarray:
    """Positions (in the split's file) of the documents of `source` (every document when None), in file order."""
    names, codes = _sources_of(*stamp(split_path(folder, split)))
    if source is None:
        return np.arange(len(codes))
    if source not in names:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(codes == names.index(source))


def read_rows(path: Path, rows: list[int], columns: list[str] | None = None) -> list[dict]:
    """The records at these positions of a parquet file (in the order asked), each with its `row`; only the row
    groups holding them are read."""
    import pyarrow.parquet as pq

    if not rows:
        return []
    pf = pq.ParquetFile(path)
    sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)]
    starts = np.concatenate(([0], np.cumsum(sizes)))
    if min(rows) < 0 or max(rows) >= starts[-1]:
        raise CorpusInputError(f"{path.name} has {int(starts[-1]):,} documents: no row {max(rows)}")
    groups = np.searchsorted(starts, rows, side="right") - 1
    found: dict[int, dict] = {}
    for group in sorted(set(groups.tolist())):
        wanted = [r for r, g in zip(rows, groups) if g == group]
        table = pf.read_row_group(group, columns=columns)
        for r, record in zip(wanted, table.take([r - int(starts[group]) for r in wanted]).to_pylist()):
            found[r] = record
    return [{**found[r], "row": int(r)} for r in rows]


def excerpt(text: str, at: int = 0, length: int = EXCERPT_CHARS) -> str:
    """About `length` characters of `text` from a little before position `at`, on one line, cut at spaces."""
    start = max(0, at - length // 3)
    if start:
        word_start = text.rfind(" ", 0, start) + 1       # 0 when the text's first word holds `start`
        start = word_start if start - word_start < 30 else start
    piece = _SPACES_RE.sub(" ", text[start:start + length + 40]).strip()
    if len(piece) > length:
        cut = piece.rfind(" ", 0, length)
        piece = piece[:cut if cut > length // 2 else length] + " …"
    return ("… " if start else "") + piece


def _listed(record: dict, at: int = 0) -> dict:
    return {"row": record["row"], "id": str(record["id"]), "source": record["source"],
            "n_words": record.get("n_words") if record.get("n_words") is not None else len(record["text"].split()),
            "excerpt": excerpt(record["text"], at)}


def page_bounds(total: int, page: int, size: int = PAGE_SIZE) -> tuple[int, int]:
    """(the page actually shown, number of pages): `page` kept within 1..pages (one empty page when total is 0)."""
    pages = max(1, math.ceil(total / size))
    return min(max(1, int(page)), pages), pages


def page(folder: Path, split: str, source: str | None = None, page: int = 1, size: int = PAGE_SIZE) -> dict:
    """One page of documents of `split` (of `source` only, unless None), in the snapshot's order: {split, source,
    page, pages, total, documents: [{row, id, source, n_words, excerpt}]}."""
    positions = source_rows(folder, split, source)
    number, pages = page_bounds(len(positions), page, size)
    rows = positions[(number - 1) * size:number * size].tolist()
    records = read_rows(split_path(folder, split), rows, LIST_COLUMNS)
    return {"split": split, "source": source, "page": number, "pages": pages, "total": int(len(positions)),
            "query": None, "documents": [_listed(r) for r in records]}


def document(folder: Path, split: str, row: int) -> dict:
    """The whole record at `row` of `split` (for the dropped duplicates, with the document each one duplicates)."""
    return read_rows(split_path(folder, split), [int(row)])[0]


def locate(folder: Path, source: str, doc_id: str) -> list[tuple[str, int]]:
    """Where the document `doc_id` of `source` stands in the snapshot: (split, row) for each copy of it."""
    out = []
    for split, path in split_files(folder).items():
        out += [(split, row) for row in _keys_of(*stamp(path)).get((str(source), str(doc_id)), [])]
    return out


def find_document(folder: Path, doc_id: str, source: str | None = None, split: str | None = None) -> tuple[str, int]:
    """(split, row) of the document `doc_id` (of `source`, in `split`, when given): its first copy."""
    for name, path in split_files(folder).items():
        if split in (None, name):
            for (src, key), rows in _keys_of(*stamp(path)).items():
                if key == str(doc_id) and source in (None, src):
                    return name, rows[0]
    raise CorpusInputError(f"no document '{doc_id}' in snapshot {Path(folder).name}"
                           + (f" (source {source})" if source else "") + (f" (split {split})" if split else ""))


def search(folder: Path, text: str, split: str, source: str | None = None, page: int = 1, size: int = PAGE_SIZE,
           progress=None) -> dict:
    """One page of the documents of `split` (and `source`) matching `text` (words, "a phrase", a prefix*), the
    best match first, as `page` returns them (their excerpt around the first match). The search index is built on
    the first search of a snapshot (`progress(fraction, message)` follows it) and kept in its folder."""
    from backend.corpus import search_index

    split_path(folder, split)
    found = search_index.search(folder, split_files(folder), text, split, source, page, size, progress)
    records = read_rows(split_files(folder)[split], found["rows"], LIST_COLUMNS)
    documents = [_listed(r, search_index.first_match(r["text"], text)) for r in records]
    return {"split": split, "source": source, "page": found["page"], "pages": found["pages"],
            "total": found["total"], "query": text, "documents": documents, "index": found["index"]}
