"""The source catalogue on the real shared data: licences, kinds, counts, caching, uploads, Hub offline."""
import json
import shutil

import pytest

from backend.corpus import catalogue
from backend.corpus.hub import HubUnavailableError, import_hub_dataset
from backend.corpus.readers import CorpusInputError

RESEARCH_ONLY = {"CLEAR", "cas", "WMT-18-Medline"}


def test_scan_real_data_catalogues_licences_and_counts(db, shared_data):
    rows = {r["name"]: r for r in catalogue.scan(db, [shared_data])}
    expected = json.loads((shared_data / "corpus" / "sources.json").read_text())
    for name, meta in expected.items():
        assert rows[name]["kind"] == "domain"
        assert rows[name]["license"] == meta["license"]
        assert bool(rows[name]["commercial_use"]) == meta["commercial_use"]
        assert rows[name]["n_docs"] == meta["n_docs"] and rows[name]["n_words"] == meta["n_words"]
    assert {n for n, r in rows.items() if r["kind"] == "domain" and not r["commercial_use"]} == RESEARCH_ONLY
    general = {n: r for n, r in rows.items() if r["kind"] == "general"}
    assert general["UD_French-GSD.dev"]["split"] == "dev"
    assert general["UD_English-EWT.test"]["language"] == "en"
    assert general["UD_French-Sequoia.train"]["split"] == "train"


def test_rescan_reuses_counts_and_notices_changes(db, shared_data, tmp_path):
    data = tmp_path / "data"
    (data / "corpus").mkdir(parents=True)
    shutil.copy(shared_data / "corpus" / "mantra_gsc.jsonl.gz", data / "corpus")
    first = catalogue.scan(db, [data])
    assert first[0]["n_docs"] == 250
    stamp = first[0]["updated_at"]
    assert catalogue.scan(db, [data])[0]["updated_at"] == stamp  # unchanged file: not re-read
    shutil.copy(shared_data / "corpus" / "pxcorpus.jsonl.gz", data / "corpus" / "mantra_gsc.jsonl.gz")
    assert catalogue.scan(db, [data])[0]["n_docs"] == 77
    (data / "corpus" / "mantra_gsc.jsonl.gz").unlink()
    assert catalogue.scan(db, [data]) == []


def test_bad_file_is_listed_with_its_error_and_others_stay_usable(db, shared_data, tmp_path):
    data = tmp_path / "data"
    (data / "corpus").mkdir(parents=True)
    shutil.copy(shared_data / "corpus" / "pxcorpus.jsonl.gz", data / "corpus")
    raw = (shared_data / "corpus" / "mantra_gsc.jsonl.gz").read_bytes()
    (data / "corpus" / "cut.jsonl.gz").write_bytes(raw[:3000])
    rows = {r["name"]: r for r in catalogue.scan(db, [data])}
    assert rows["cut"]["status"] == "error" and "truncated" in rows["cut"]["error"]
    assert rows["pxcorpus"]["status"] == "ok" and rows["pxcorpus"]["n_docs"] == 77
    assert len(catalogue.load_documents(rows["pxcorpus"])) == 77


def test_upload_validates_then_catalogues(db, tmp_path):
    good = tmp_path / "notes.jsonl"
    good.write_text('{"text": "Patient de 54 ans, hypertension artérielle traitée."}\n', "utf-8")
    rows = catalogue.import_upload(db, tmp_path / "uploads", good, "notes cliniques", "CC BY 4.0", True,
                                   "clinical_note")
    assert rows[0]["name"] == "notes_cliniques" and rows[0]["origin"] == "upload"
    assert rows[0]["license"] == "CC BY 4.0" and rows[0]["commercial_use"] == 1
    docs = catalogue.load_documents(catalogue.get_source(db, "notes_cliniques"))
    assert docs[0]["license"] == "CC BY 4.0" and docs[0]["commercial_use"] is True

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"texte": "faute"}\n', "utf-8")
    with pytest.raises(CorpusInputError, match="bad.jsonl line 2"):
        catalogue.import_upload(db, tmp_path / "uploads", bad, "bad", "", False, "")
    binary = tmp_path / "photo.jsonl"
    binary.write_bytes(b"\0\1\2\3" * 100)
    with pytest.raises(CorpusInputError, match="binary file"):
        catalogue.import_upload(db, tmp_path / "uploads", binary, "photo", "", False, "")
    assert [r["name"] for r in catalogue.list_sources(db)] == ["notes_cliniques"]  # nothing stored for bad ones
    assert not (tmp_path / "uploads" / "bad").exists()


def test_multi_source_file_is_split_by_source_column(db, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = [{"text": f"Texte médical numéro {i} sur la santé.", "source": s, "license": lic,
             "commercial_use": c} for i, (s, lic, c) in enumerate([("A", "CC BY 4.0", True)] * 3 +
                                                                  [("B", "research only", False)] * 2)]
    pq.write_table(pa.Table.from_pylist(recs), tmp_path / "parcomed.parquet")
    rows = {r["name"]: r for r in catalogue.register_path(db, tmp_path / "parcomed.parquet", "domain", "hub")}
    assert rows["A"]["n_docs"] == 3 and rows["A"]["commercial_use"] == 1
    assert rows["B"]["n_docs"] == 2 and rows["B"]["commercial_use"] == 0
    assert len(catalogue.load_documents(rows["B"])) == 2


def test_hub_offline_gives_clear_message(db, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailableError, match="HealthDataHub/PARCOMED.*offline mode"):
        import_hub_dataset(db, tmp_path, "HealthDataHub/PARCOMED")
    with pytest.raises(CorpusInputError, match="not a Hub dataset id"):
        import_hub_dataset(db, tmp_path, "../../etc/passwd")


def test_hub_unreachable_network_gives_clear_message(db, tmp_path, monkeypatch):
    """With offline mode off, the real datasets.load_dataset call runs and fails: no network here."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "3")
    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "3")
    with pytest.raises(CorpusInputError, match="Cannot load 'HealthDataHub/PARCOMED'|Could not load"):
        import_hub_dataset(db, tmp_path, "HealthDataHub/PARCOMED")
    assert catalogue.list_sources(db) == []
