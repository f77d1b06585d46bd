"""Before/after cleaning previews: changed documents first, with removed and inserted text marked."""
from frbio_core import registry
from backend.corpus import catalogue
from backend.corpus.cleaning import CleaningConfig
from backend.corpus.preview import diff_segments, preview_cleaning


def test_diff_segments_mark_removed_and_added_text():
    segs = diff_segments("d\x92une   fièvre", "d'une fièvre")
    assert ("".join(t for t, op in segs if op != "+")) == "d\x92une   fièvre"
    assert ("".join(t for t, op in segs if op != "-")) == "d'une fièvre"
    assert any(op == "-" and "\x92" in t for t, op in segs)


def test_preview_on_real_source_prefers_changed_documents(tmp_path, shared_data):
    db = registry.connect(tmp_path / "frbio.db")
    catalogue.scan(db, [shared_data])
    items = preview_cleaning(db, "Cerimes", CleaningConfig(), n=3)
    assert len(items) == 3
    assert all(it["before"] != it["after"] for it in items)  # Cerimes is full of PDF debris
    assert all(any(op == "-" for _, op in it["segments"]) for it in items)
    untouched = preview_cleaning(db, "Cerimes", CleaningConfig(**{r: False for r in (
        "nfc", "control_chars", "urls_html", "apostrophes", "char_whitelist", "long_words", "whitespace",
        "short_docs")}), n=2)
    assert all(it["before"] == it["after"] and not it["dropped"] for it in untouched)
