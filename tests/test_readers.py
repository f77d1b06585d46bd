"""Reading corpus files: every supported format, and a clear message naming the file and line for bad input."""
import gzip
import json

import pytest

from backend.corpus.readers import CorpusInputError, iter_records, sniff_binary


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def test_reads_jsonl_gzip_parquet_and_txt_folder(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = [{"id": "a", "text": "Le patient présente une fièvre."}, {"id": "b", "text": "Douleur thoracique aiguë."}]
    plain = _jsonl(tmp_path / "s.jsonl", recs)
    gz = tmp_path / "s.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    pq.write_table(pa.Table.from_pylist(recs), tmp_path / "s.parquet")
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "n1.txt").write_text("Compte rendu opératoire sans complication.", "utf-8")
    (folder / "n2.txt").write_text("   ", "utf-8")  # empty documents are skipped
    for path in (plain, gz, tmp_path / "s.parquet"):
        assert [r["text"] for r in iter_records(path)] == [r["text"] for r in recs]
    assert [r["text"] for r in iter_records(folder)] == ["Compte rendu opératoire sans complication."]


def _error(path) -> str:
    with pytest.raises(CorpusInputError) as exc:
        list(iter_records(path))
    return str(exc.value)


def test_truncated_gzip_names_file(shared_data, tmp_path):
    data = (shared_data / "corpus" / "mantra_gsc.jsonl.gz").read_bytes()
    bad = tmp_path / "cut.jsonl.gz"
    bad.write_bytes(data[: len(data) // 2])
    msg = _error(bad)
    assert "cut.jsonl.gz" in msg and "truncated or corrupt gzip" in msg


def test_non_utf8_names_line(tmp_path):
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(b'{"text": "ok"}\n' + '{"text": "fièvre"}\n'.encode("latin-1"))
    msg = _error(bad)
    assert "latin1.jsonl line 2" in msg and "not UTF-8" in msg


def test_missing_text_names_line_and_fields(tmp_path):
    msg = _error(_jsonl(tmp_path / "notext.jsonl", [{"text": "ok"}, {"body": "pas de champ text"}]))
    assert "notext.jsonl line 2" in msg and "no 'text' field" in msg and "body" in msg


def test_invalid_json_and_wrong_types(tmp_path):
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"text": "ok"}\n{"text": "unterminated\n', "utf-8")
    assert "broken.jsonl line 2: not valid JSON" in _error(bad)
    assert "'text' must be a string" in _error(_jsonl(tmp_path / "num.jsonl", [{"text": 3}]))
    assert "expected a JSON object" in _error(_jsonl(tmp_path / "list.jsonl", [[1, 2]]))


def test_empty_file(tmp_path):
    (tmp_path / "empty.jsonl").write_text("", "utf-8")
    assert "empty.jsonl: empty file" in _error(tmp_path / "empty.jsonl")
    (tmp_path / "e.jsonl.gz").write_bytes(gzip.compress(b""))
    assert "empty file" in _error(tmp_path / "e.jsonl.gz")


def test_50mb_single_line_is_refused_without_loading_it(tmp_path):
    big = tmp_path / "huge.jsonl"
    with open(big, "w") as fh:
        fh.write('{"text": "' + "a" * (50 * 1024 * 1024) + '"}')
    msg = _error(big)
    assert "huge.jsonl line 1" in msg and "longer than 20 MB" in msg


def test_binary_and_unknown_files(tmp_path):
    blob = tmp_path / "image.jsonl"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
    with pytest.raises(CorpusInputError, match="image.jsonl: binary file"):
        sniff_binary(blob)
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4")
    assert "unsupported file type" in _error(tmp_path / "doc.pdf")
    assert "no such file" in _error(tmp_path / "missing.jsonl")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    assert "bad.parquet: not a readable parquet file" in _error(tmp_path / "bad.parquet")
