"""Read corpus files (JSONL, gzip JSONL, parquet, folders of .txt) into validated records, with errors that name
the file and line. Nothing here writes anything."""
from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from pathlib import Path
from typing import Iterator
from backend.errors import CorpusInputError

MAX_DOC_BYTES = 20 * 1024 * 1024  # one JSONL line / one document; beyond this we refuse rather than eat memory
CORPUS_SUFFIXES = (".jsonl.gz", ".jsonl", ".json.gz", ".parquet")


def detect_format(path: Path) -> str | None:
    name = path.name.lower()
    if path.is_dir():
        return "txt-folder" if any(path.glob("*.txt")) else None
    for suffix, fmt in ((".jsonl.gz", "jsonl.gz"), (".json.gz", "jsonl.gz"), (".jsonl", "jsonl"),
                        (".parquet", "parquet"), (".txt", "txt")):
        if name.endswith(suffix):
            return fmt
    return None


def stem_of(path: Path) -> str:
    name = path.name
    for suffix in CORPUS_SUFFIXES + (".txt",):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def file_hash(path: Path) -> str:
    """sha256 of a file, or of a folder's .txt files (names and contents), streamed."""
    h = hashlib.sha256()
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _check_record(obj, where: str) -> dict:
    if not isinstance(obj, dict):
        raise CorpusInputError(f"{where}: expected a JSON object with a 'text' field, got {type(obj).__name__}")
    text = obj.get("text")
    if text is None:
        raise CorpusInputError(f"{where}: no 'text' field (fields: {', '.join(sorted(obj)) or 'none'})")
    if not isinstance(text, str):
        raise CorpusInputError(f"{where}: 'text' must be a string, got {type(text).__name__}")
    return obj


def _iter_jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    lineno = 0
    try:
        with opener(path, "rb") as fh:
            while True:
                raw = fh.readline(MAX_DOC_BYTES + 1)
                if not raw:
                    break
                lineno += 1
                if len(raw) > MAX_DOC_BYTES and not raw.endswith(b"\n"):
                    raise CorpusInputError(
                        f"{path.name} line {lineno}: a single line longer than {MAX_DOC_BYTES // 2**20} MB; "
                        "split the document (one JSON object per line) or use a folder of .txt files")
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise CorpusInputError(
                        f"{path.name} line {lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                        f"{exc.start + 1}); re-encode the file as UTF-8") from None
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorpusInputError(f"{path.name} line {lineno}: not valid JSON ({exc.msg} at column "
                                           f"{exc.colno})") from None
                yield _check_record(obj, f"{path.name} line {lineno}")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise CorpusInputError(f"{path.name}: truncated or corrupt gzip after line {lineno} ({exc}); "
                               "re-download or re-compress the file") from None
    if lineno == 0:
        raise CorpusInputError(f"{path.name}: empty file, no documents")


def _iter_parquet(path: Path) -> Iterator[dict]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise CorpusInputError(f"{path.name}: not a readable parquet file ({exc})") from None
    if "text" not in table.column_names:
        raise CorpusInputError(f"{path.name}: no 'text' column (columns: {', '.join(table.column_names)})")
    if table.num_rows == 0:
        raise CorpusInputError(f"{path.name}: empty file, no documents")
    for i, row in enumerate(table.to_pylist(), start=1):
        yield _check_record(row, f"{path.name} row {i}")


def _read_txt(path: Path) -> str:
    raw = path.read_bytes()
    if len(raw) > MAX_DOC_BYTES:
        raise CorpusInputError(f"{path.name}: {len(raw) // 2**20} MB is over the {MAX_DOC_BYTES // 2**20} MB "
                               "limit for one document")
    if b"\0" in raw[:8192]:
        raise CorpusInputError(f"{path.name}: binary file, not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusInputError(f"{path.name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                               f"{exc.start}); re-encode the file as UTF-8") from None


def _iter_txt(path: Path) -> Iterator[dict]:
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    if not files:
        raise CorpusInputError(f"{path.name}: folder has no .txt files")
    count = 0
    for f in files:
        text = _read_txt(f)
        if text.strip():
            count += 1
            yield {"id": f"{stem_of(path)}/{f.stem}", "text": text}
    if count == 0:
        raise CorpusInputError(f"{path.name}: only empty .txt files, no documents")


def iter_records(path: Path) -> Iterator[dict]:
    """Validated records of one corpus file or folder. Raises CorpusInputError naming the file and line."""
    path = Path(path)
    if not path.exists():
        raise CorpusInputError(f"{path}: no such file or folder")
    fmt = detect_format(path)
    if fmt in ("jsonl", "jsonl.gz"):
        return _iter_jsonl(path)
    if fmt == "parquet":
        return _iter_parquet(path)
    if fmt in ("txt", "txt-folder"):
        return _iter_txt(path)
    raise CorpusInputError(f"{path.name}: unsupported file type; use .jsonl, .jsonl.gz, .parquet or a folder "
                           "of .txt files")


def sniff_binary(path: Path) -> None:
    """Refuse an upload that is plainly binary (and not gzip/parquet) before trying to parse it."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head[:2] == b"\x1f\x8b" or head[:4] == b"PAR1":
        return
    if b"\0" in head:
        raise CorpusInputError(f"{path.name}: binary file, not text (expected JSONL, gzip JSONL or parquet)")
