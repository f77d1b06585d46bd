"""One document of a snapshot, looked at closely: its text before and after cleaning, with what cleaning removed
marked, and the duplicates the build removed around it.

Before/after: the raw document is read again from the source file the snapshot was built from (manifest `inputs`,
found by its id as the catalogue finds it), cleaned again with the snapshot's own rules (its recipe's `cleaning`,
backend.corpus.cleaning), and compared with the text the snapshot holds: the diff runs on words, spaces and
punctuation (difflib), then on characters inside each changed stretch, so a removed URL, tag or control character
is marked exactly. The source file may have changed or gone since the build: the view says so.

Duplicates: the build records every document it removed as a duplicate with the one it duplicates
(`dropped_duplicates.parquet`); a cluster is a kept document and all the documents removed in its favour (an exact
copy of a document that was itself removed as a near-duplicate belongs to the final one's cluster). A snapshot built
before that record existed answers `recorded: False`.
"""
from __future__ import annotations

import bisect
import difflib
import functools
import re
from collections import Counter
from pathlib import Path

import sqlite_utils

from backend.corpus import viewer
from backend.corpus.cleaning import CleaningConfig, clean_text
from backend.corpus.readers import CorpusInputError, file_hash, iter_records
from backend.corpus.snapshot import DUPLICATES_FILE

MAX_SHOWN = 40_000       # characters of a document's before/after view; the rest is counted, not shown
REFINE_CHARS = 1_000     # a changed stretch up to this long is compared character by character
SMALL_PRODUCT = 40_000   # tokens before × after up to which SequenceMatcher aligns a stretch without anchors
MATCHER_PRODUCT = 1_000_000  # beyond this, a stretch with no anchor is aligned by a linear scan (_scan)
ANCHOR_LENGTHS = (1, 8)  # anchors: single tokens found once in each text, else runs of 8 tokens (about 4 words)
MAX_DEPTH = 40           # anchoring levels (each within the stretches of the one above)
SCAN_WINDOW = 64
MAX_MEMBERS = 50         # documents of a cluster listed
_TOKEN_RE = re.compile(r"\w+|\s+|[^\w\s]")
_INVISIBLE_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ue000-\uf8ff]")


# ------------------------------------------------------------------ before / after cleaning

def diff_segments(before: str, after: str) -> list[tuple[str, str]]:
    """[(text, op)] turning `before` into `after`: op '=' kept, '-' removed, '+' inserted (adjacent ones merged).

    On tokens (words, runs of spaces, single punctuation): the tokens (else runs of 8 tokens) found once in each
    text anchor the alignment (patience diff), difflib's SequenceMatcher aligns what lies between two anchors, and a
    changed stretch of at most REFINE_CHARS characters is compared character by character. A 200,000-character
    article takes a tenth of a second, where SequenceMatcher alone, on the whole text, takes seconds to minutes."""
    out: list[tuple[str, str]] = []
    _align(_TOKEN_RE.findall(before), _TOKEN_RE.findall(after), out)
    merged: list[tuple[str, str]] = []
    for text, op in out:
        if not text:
            continue
        if merged and merged[-1][1] == op:
            merged[-1] = (merged[-1][0] + text, op)
        else:
            merged.append((text, op))
    return merged


def _align(a: list[str], b: list[str], out: list, depth: int = 0) -> None:
    """Segments of tokens a → b: common ends, then the middle cut at anchors (runs found once in each, in the same
    order), each stretch between two anchors aligned in turn."""
    n = min(len(a), len(b))
    head = 0
    while head < n and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < n - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    out.append(("".join(a[:head]), "="))
    middle_a, middle_b = a[head:len(a) - tail], b[head:len(b) - tail]
    anchors, k = [], 0
    if len(middle_a) * len(middle_b) > SMALL_PRODUCT and depth < MAX_DEPTH:
        for k in ANCHOR_LENGTHS:
            anchors = _anchors(middle_a, middle_b, k)
            if anchors:
                break
    if not middle_a or not middle_b:
        out += [("".join(middle_a), "-"), ("".join(middle_b), "+")]
    elif not anchors:
        _stretch(middle_a, middle_b, out)
    else:
        i = j = 0
        for ai, bj in anchors:
            _align(middle_a[i:ai], middle_b[j:bj], out, depth + 1)
            out.append(("".join(middle_a[ai:ai + k]), "="))
            i, j = ai + k, bj + k
        _align(middle_a[i:], middle_b[j:], out, depth + 1)
    out.append(("".join(a[len(a) - tail:]), "="))


def _anchors(a: list[str], b: list[str], k: int) -> list[tuple[int, int]]:
    """(position in a, position in b) of runs of k tokens found exactly once in each: the longest chain of them in
    the same order in both (patience sorting), none overlapping the one before."""
    keys_a = a if k == 1 else [tuple(a[i:i + k]) for i in range(len(a) - k + 1)]
    keys_b = b if k == 1 else [tuple(b[j:j + k]) for j in range(len(b) - k + 1)]
    count_a, count_b = Counter(keys_a), Counter(keys_b)
    in_b = {t: j for j, t in enumerate(keys_b) if count_b[t] == 1 and count_a[t] == 1}
    pairs = [(i, in_b[t]) for i, t in enumerate(keys_a) if t in in_b]
    tails: list[int] = []          # the smallest b position ending an increasing chain of each length
    tail_at: list[int] = []
    back = [-1] * len(pairs)
    for n, (_, j) in enumerate(pairs):
        at = bisect.bisect_left(tails, j)
        back[n] = tail_at[at - 1] if at else -1
        if at == len(tails):
            tails.append(j)
            tail_at.append(n)
        else:
            tails[at], tail_at[at] = j, n
    chain, n = [], tail_at[-1] if tail_at else -1
    while n >= 0:
        chain.append(pairs[n])
        n = back[n]
    kept: list[tuple[int, int]] = []
    for i, j in reversed(chain):
        if not kept or (i >= kept[-1][0] + k and j >= kept[-1][1] + k):
            kept.append((i, j))
    return kept


def _stretch(a: list[str], b: list[str], out: list) -> None:
    """A stretch without anchors: difflib's SequenceMatcher when short, else a linear scan (below)."""
    if len(a) * len(b) > MATCHER_PRODUCT:
        _scan(a, b, out)
        return
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        _refine("".join(a[i1:i2]), "".join(b[j1:j2]), tag, out)


def _refine(old: str, new: str, tag: str, out: list) -> None:
    if tag == "equal":
        out.append((old, "="))
    elif tag == "replace" and len(old) + len(new) <= REFINE_CHARS:
        for t, k1, k2, l1, l2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            out += [(old[k1:k2], "=")] if t == "equal" else [(old[k1:k2], "-"), (new[l1:l2], "+")]
    else:
        out += [(old, "-"), (new, "+")]


def _scan(a: list[str], b: list[str], out: list) -> None:
    """Long repetitive stretches (no token or run found once): walk both, taking a token missing from the other
    side as removed or inserted when the other's next token comes back within SCAN_WINDOW tokens (cleaning's edits
    are local), else as replaced. Linear; not always the shortest diff, always an exact one."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            out.append((a[i], "="))
            i, j = i + 1, j + 1
            continue
        skip_a = next((d for d in range(1, SCAN_WINDOW) if i + d < len(a) and a[i + d] == b[j]), None)
        skip_b = next((d for d in range(1, SCAN_WINDOW) if j + d < len(b) and b[j + d] == a[i]), None)
        if skip_a is not None and (skip_b is None or skip_a <= skip_b):
            out.append(("".join(a[i:i + skip_a]), "-"))
            i += skip_a
        elif skip_b is not None:
            out.append(("".join(b[j:j + skip_b]), "+"))
            j += skip_b
        else:
            _refine(a[i], b[j], "replace", out)
            i, j = i + 1, j + 1
    out += [("".join(a[i:]), "-"), ("".join(b[j:]), "+")]


def visible(text: str, spaces: bool = False) -> str:
    """`text` with its invisible characters shown (a control character as its Unicode picture, ␑; a format or
    private-use character as ⟨U+200E⟩), so that a removed one can be seen; `spaces`: spaces, tabs and line breaks
    too (for a removed stretch of whitespace only)."""
    text = _INVISIBLE_RE.sub(_picture, text)
    return text.replace(" ", "·").replace("\t", "→").replace("\n", "↵\n") if spaces else text


def _picture(match: re.Match) -> str:
    ch = match.group()
    return chr(0x2400 + ord(ch)) if ord(ch) < 0x20 else "\u2421" if ch == "\x7f" else f"⟨U+{ord(ch):04X}⟩"


def _shown(segments: list[tuple[str, str]], limit: int) -> tuple[list[tuple[str, str]], bool]:
    out, used = [], 0
    for text, op in segments:
        if used + len(text) > limit:
            out.append((text[:max(0, limit - used)], op))
            return [s for s in out if s[0]], True
        out.append((text, op))
        used += len(text)
    return out, False


def _input_of(manifest: dict, source: str) -> dict | None:
    return next((i for i in manifest.get("inputs", []) if i["source"] == source), None)


def _source_row(db: sqlite_utils.Database | None, entry: dict) -> dict:
    """The catalogue row of the input file (how the catalogue names its documents), else what the manifest says."""
    row = None
    if db is not None and db["sources"].exists():
        row = next(iter(db["sources"].rows_where("name = ?", [entry["source"]], limit=1)), None)
    if row is None or row.get("path") != entry["path"]:
        row = {"name": entry["source"], "path": entry["path"], "source_value": None}
    return row


def _file_unchanged(row: dict, entry: dict) -> bool:
    path = Path(entry["path"])
    stat = path.stat()
    if row.get("file_hash") and row.get("file_size") == stat.st_size and row.get("file_mtime") == stat.st_mtime:
        return row["file_hash"] == entry["file_hash"]   # the catalogue's hash of this very file
    return file_hash(path) == entry["file_hash"]


def raw_document(db: sqlite_utils.Database | None, manifest: dict, source: str, doc_id: str) -> tuple[str | None, str]:
    """(raw text, state) of a document in the source file its snapshot was built from. state: 'ok', 'changed' (the
    file differs from the one the snapshot was built from; the text is the current file's), 'no_input' (the
    snapshot names no such source), 'missing' (the file is gone), 'not_found' (no document with that id)."""
    entry = _input_of(manifest, source)
    if entry is None:
        return None, "no_input"
    if not Path(entry["path"]).exists():
        return None, "missing"
    row = _source_row(db, entry)
    state = "ok" if _file_unchanged(row, entry) else "changed"
    try:
        for i, rec in enumerate(iter_records(Path(entry["path"]))):   # the ids load_documents gives
            if row.get("source_value") and str(rec.get("source")) != row["source_value"]:
                continue
            if str(rec.get("id") or f"{row['name']}-{i:06d}") == doc_id:
                return rec["text"], state
    except CorpusInputError:
        return None, "missing"
    return None, "not_found"


def cleaning_rules(manifest: dict) -> CleaningConfig:
    return CleaningConfig(**(manifest.get("recipe", {}).get("cleaning") or {}))


def cleaning_view(db: sqlite_utils.Database | None, folder: Path, manifest: dict, split: str, row: int,
                  limit: int = MAX_SHOWN) -> dict:
    """The document at `row` of `split` before and after cleaning: {id, source, split, row, n_words, state,
    segments [(text, op)], truncated, removed_chars, inserted_chars, reproduced, text}. state: as raw_document's;
    `reproduced`: cleaning the raw text again with the snapshot's rules gives the snapshot's text (False when the
    rules or the file changed since; the diff is then raw → the snapshot's text all the same)."""
    doc = viewer.document(folder, split, row)
    after = doc["text"]
    raw, state = raw_document(db, manifest, doc["source"], str(doc["id"]))
    out = {"id": str(doc["id"]), "source": doc["source"], "split": split, "row": int(row),
           "n_words": len(after.split()), "state": state, "text": after[:limit], "truncated": len(after) > limit}
    if raw is None:
        return {**out, "segments": [(after[:limit], "=")], "removed_chars": 0, "inserted_chars": 0,
                "reproduced": None}
    segments = diff_segments(raw, after)
    shown, truncated = _shown(segments, limit)
    return {**out, "segments": shown, "truncated": truncated,
            "removed_chars": sum(len(t) for t, op in segments if op == "-"),
            "inserted_chars": sum(len(t) for t, op in segments if op == "+"),
            "reproduced": clean_text(raw, cleaning_rules(manifest)) == after}


# ------------------------------------------------------------------ near-duplicate clusters

@functools.lru_cache(maxsize=16)
def _clusters(path: str, mtime_ns: int, size: int) -> tuple[dict, dict]:
    """(document → its record, final kept document → the records of every document removed in its favour)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["id", "source", "kept_id", "kept_source", "kind", "similarity"])
    parent = {}
    for row, r in enumerate(table.to_pylist()):
        parent[(r["source"], str(r["id"]))] = {**r, "id": str(r["id"]), "kept_id": str(r["kept_id"]), "row": row}
    members: dict[tuple, list] = {}
    for key, record in parent.items():
        members.setdefault(_root(parent, key), []).append(record)
    return parent, members


def _root(parent: dict, key: tuple) -> tuple:
    """The document a chain of removals ends at (the one kept)."""
    seen = set()
    while key in parent and key not in seen:
        seen.add(key)
        key = (parent[key]["kept_source"], parent[key]["kept_id"])
    return key


def duplicate_cluster(folder: Path, split: str, row: int) -> dict:
    """The near-duplicate cluster of the document at `row` of `split`: {recorded, role ('dropped' when the build
    removed it, 'kept' when others were removed in its favour, 'unique'), kept {source, id, where [(split, row)]},
    members [{source, id, kind ('exact'|'near'), similarity, duplicate_of {source, id}, row}], total}.
    recorded False: the snapshot was built before removed duplicates were recorded."""
    path = Path(folder) / DUPLICATES_FILE
    if not path.is_file():
        return {"recorded": False}
    doc = viewer.read_rows(viewer.split_path(folder, split), [int(row)], ["id", "source"])[0]
    key = (doc["source"], str(doc["id"]))
    parent, members = _clusters(*viewer.stamp(path))
    root = _root(parent, key)
    group = sorted(members.get(root, []), key=lambda r: r["row"])
    role = "dropped" if key in parent else ("kept" if group else "unique")
    listed = [{"source": r["source"], "id": r["id"], "kind": r["kind"], "similarity": r["similarity"],
               "duplicate_of": {"source": r["kept_source"], "id": r["kept_id"]}, "row": r["row"]}
              for r in group[:MAX_MEMBERS]]
    return {"recorded": True, "role": role, "source": key[0], "id": key[1],
            "kept": {"source": root[0], "id": root[1], "where": viewer.locate(folder, root[0], root[1])},
            "members": listed, "total": len(group)}
