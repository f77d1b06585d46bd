"""Cleaning rules on crafted text and on the real corpus quirks; switches, report and parallel determinism."""
from __future__ import annotations

import re
import unicodedata

import pydantic
import pytest

from backend.corpus.cleaning import ALLOWED_SYMBOLS, RULES, CleaningConfig, clean_documents, clean_text
from tests.data_helpers import corpus_documents

COMMERCIAL = ["Cerimes", "WIKIPEDIA", "CNEDiMTS", "Quaero", "ECDC", "ScopeSanteQualite", "FRASIMED", "mantra_gsc",
              "pxcorpus"]


def only(**changes) -> CleaningConfig:
    return CleaningConfig(**changes)


def off(*rules: str) -> CleaningConfig:
    return CleaningConfig(**{rule: False for rule in rules})


def bad_controls(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\t"]


@pytest.fixture(scope="module")
def commercial(shared_data) -> list[dict]:
    return [d for source in COMMERCIAL for d in corpus_documents(shared_data, source)]


@pytest.fixture(scope="module")
def cleaned(commercial):
    return clean_documents(commercial, CleaningConfig(), workers=2)


def cleaned_texts(cleaned, source: str) -> list[str]:
    return [d["text"] for d in cleaned[0] if d["source"] == source]


# ---------------------------------------------------------------- configuration

def test_rules_are_the_papers_steps_in_order_and_each_has_a_switch_with_help():
    assert [name for name, _ in RULES] == ["nfc", "control_chars", "urls_html", "apostrophes", "char_whitelist",
                                           "long_words", "whitespace", "short_docs"]
    fields = CleaningConfig.model_fields
    for name, label in RULES:
        assert label and fields[name].annotation is bool and fields[name].default is True
    for name, field in fields.items():
        assert field.description and len(field.description) > 20, name


def test_config_is_frozen_strict_and_bounded():
    cfg = CleaningConfig()
    assert (cfg.max_word_length, cfg.min_letter_words, cfg.near_threshold, cfg.ngram, cfg.num_perm) == (35, 3, 0.8, 5,
                                                                                                       128)
    with pytest.raises(pydantic.ValidationError):
        cfg.nfc = False
    for bad in ({"max_word_length": 4}, {"max_word_length": 1001}, {"min_letter_words": -1},
                {"near_threshold": 0}, {"near_threshold": 1.01}, {"ngram": 21}, {"num_perm": 8},
                {"num_perm": 2048}, {"typo_rule": True}):
        with pytest.raises(pydantic.ValidationError):
            CleaningConfig(**bad)
    assert CleaningConfig(near_threshold=1.0, ngram=1, num_perm=16).near_threshold == 1.0


# ---------------------------------------------------------------- each rule on crafted text, and switched off

def test_nfc_composes_accents():
    text = "L'e\u0301cole de me\u0301decine accueille des e\u0301tudiants."
    assert clean_text(text) == "L'école de médecine accueille des étudiants."
    assert "e\u0301" in clean_text(text, off("nfc"))


def test_control_chars_removed_and_windows_1252_bytes_restored():
    text = "Le patient\x01 a reçu\x03 un traitement d\x92une semaine\u200e avec\ufeff suivi \uf0a7 régulier\r\nFin"
    assert clean_text(text) == "Le patient a reçu un traitement d'une semaine avec suivi régulier\nFin"
    assert clean_text("Le c\x9cur bat \x96 tachycardie \x85", only(apostrophes=False)) == "Le cœur bat – tachycardie …"
    kept = clean_text(text, off("control_chars", "char_whitelist"))
    assert "\x01" in kept and "\u200e" in kept and "\uf0a7" in kept
    # without the rule, the whitelist still deletes the byte, gluing the words: what the restoration avoids
    assert "dune" in clean_text(text, off("control_chars"))


def test_urls_and_html_removed_entities_unescaped_but_medical_comparisons_kept():
    text = ("Voir https://www.has-sante.fr/jcms/c_123 et www.orpha.net, ou (http://ex.org/a?b=1). "
            "<b>Gras</b> et<br/>ligne &amp; &eacute;t&eacute; &bogus; <p class=\"x\">fin</p> "
            "taux <5 mm et >10 ; <Licence de la firme><Code spécialité>")
    out = clean_text(text)
    assert not re.search(r"https?://|www\.|<b>|<br|<p|&amp;|&eacute;|&bogus;", out)
    assert "Voir et , ou ()." in out and "Gras et ligne & été fin" in out
    assert "taux <5 mm et >10" in out and "<Licence de la firme><Code spécialité>" in out
    assert "www.orpha.net" in clean_text(text, off("urls_html"))


def test_apostrophe_variants_become_plain():
    text = "Dans l’hôpital, d‘un côté, dʼune part, l`aorte et l´artère"
    assert clean_text(text) == "Dans l'hôpital, d'un côté, d'une part, l'aorte et l'artère"
    assert clean_text(text, off("apostrophes")) == text  # the whitelist keeps the variants


def test_char_whitelist_keeps_letters_digits_and_medical_symbols_removes_the_rest():
    text = "Fièvre 39,5 °C ✔ 😀 ● ─── 5 µg/mL ≤ 5 % « ok » 12 € ; α-amylase, инсулин, 𝑥² ± 2 → stable"
    out = clean_text(text)
    assert out == "Fièvre 39,5 °C 5 µg/mL ≤ 5 % « ok » 12 € ; α-amylase, инсулин, 𝑥² ± 2 → stable"
    assert "😀" in clean_text(text, off("char_whitelist"))
    for ch in ". , ; : ! ? ' \" « » ( ) [ ] - – — / % ° + = < > * & # € $ £ § µ × ± ≤ ≥ …".split():
        assert ch in ALLOWED_SYMBOLS
        assert clean_text(f"un deux trois {ch} quatre") == f"un deux trois {ch} quatre"


def test_long_words_removed_from_max_word_length_characters():
    text = "mot " + "x" * 34 + " suivi " + "y" * 35 + " fin"
    assert clean_text(text) == "mot " + "x" * 34 + " suivi fin"
    assert clean_text(text, only(max_word_length=10)) == "mot suivi fin"
    assert "y" * 35 in clean_text(text, off("long_words"))


def test_whitespace_collapsed_lines_stripped_paragraphs_kept():
    text = "  Ligne  un\t\tdeux\u00a0trois \n\n\n\n   Ligne deux  \nLigne trois\n\nLigne quatre \u2003 \n"
    assert clean_text(text) == "Ligne un deux trois\n\nLigne deux\nLigne trois\n\nLigne quatre"
    assert "  " in clean_text(text, off("whitespace"))


def test_short_docs_dropped_below_min_letter_words():
    assert clean_text("Hémodialyse") is None
    assert clean_text("12 34 ; 56 : 78") is None
    assert clean_text("Voir https://example.org <br>") is None  # nothing left once the URL is gone
    assert clean_text("Insuffisance rénale chronique") == "Insuffisance rénale chronique"
    assert clean_text("Hémodialyse", off("short_docs")) == "Hémodialyse"
    assert clean_text("Hémodialyse", only(min_letter_words=0)) == "Hémodialyse"
    assert clean_text("Insuffisance rénale chronique", only(min_letter_words=4)) is None
    assert clean_text("Envisagez d'être enceinte.") == "Envisagez d'être enceinte."  # punctuation is no obstacle
    assert clean_text("10 mg/kg, 3 x/j.") is None


def test_all_rules_off_leaves_text_untouched():
    text = "  l’e\u0301cole\x01 😀 www.x.fr  " + "z" * 50
    assert clean_text(text, off(*[name for name, _ in RULES])) == text


# ---------------------------------------------------------------- the real corpus quirks

def test_cerimes_pdf_control_characters_removed(shared_data, cleaned):
    raw_docs = corpus_documents(shared_data, "Cerimes")
    assert sum(len(bad_controls(d["text"])) for d in raw_docs) > 15_000  # the quirk is there
    texts = cleaned_texts(cleaned, "Cerimes")
    assert len(texts) == len(raw_docs)
    assert not any(bad_controls(t) for t in texts)
    # Windows-1252 apostrophes restored rather than deleted: "d\x92une" becomes "d'une", not "dune"
    with_byte = [d for d in raw_docs if "d\x92une" in d["text"]]
    assert with_byte
    by_id = {d["id"]: d["text"] for d in cleaned[0]}
    assert all("d'une" in by_id[d["id"]] for d in with_byte)


def test_cerimes_controls_remain_when_switched_off(shared_data):
    docs = [d for d in corpus_documents(shared_data, "Cerimes") if bad_controls(d["text"])][:300]
    kept, _ = clean_documents(docs, off("control_chars", "char_whitelist"), workers=1)
    assert sum(len(bad_controls(d["text"])) for d in kept) > 1000


def test_cas_controls_removed(shared_data):
    docs = corpus_documents(shared_data, "cas")
    assert any(bad_controls(d["text"]) for d in docs)
    kept, _ = clean_documents(docs, CleaningConfig(), workers=1)
    assert not any(bad_controls(d["text"]) for d in kept)


def test_frasimed_private_use_characters_removed(shared_data, cleaned):
    def private(text):
        return [ch for ch in text if unicodedata.category(ch) == "Co"]
    docs = corpus_documents(shared_data, "FRASIMED")
    assert any(private(d["text"]) for d in docs)
    assert not any(private(t) for t in cleaned_texts(cleaned, "FRASIMED"))
    kept, _ = clean_documents(docs, off("control_chars", "char_whitelist"), workers=1)
    assert any(private(d["text"]) for d in kept)


def test_wikipedia_left_to_right_marks_removed(shared_data, cleaned):
    docs = corpus_documents(shared_data, "WIKIPEDIA")
    assert sum(d["text"].count("\u200e") for d in docs) > 100
    assert not any("\u200e" in t for t in cleaned_texts(cleaned, "WIKIPEDIA"))
    kept, _ = clean_documents(docs, off("control_chars", "char_whitelist"), workers=1)
    assert sum(d["text"].count("\u200e") for d in kept) > 100


def test_corpus_wide_properties_after_cleaning(commercial, cleaned):
    texts = [d["text"] for d in cleaned[0]]
    url = re.compile(r"https?://\S|www\.\w")
    assert any(url.search(d["text"]) for d in commercial) and not any(url.search(t) for t in texts)
    assert sum(d["text"].count("’") for d in commercial) > 50_000 and not any("’" in t for t in texts)
    assert sum(d["text"].count("●") for d in commercial) > 10_000 and not any("●" in t for t in texts)
    assert max(len(w) for d in commercial for w in d["text"].split()) >= 35
    assert max(len(w) for t in texts for w in t.split()) < 35
    assert not any("  " in t or "\n\n\n" in t or t != t.strip() or "\t" in t for t in texts)
    assert all(sum(w.strip(".,;:!?()").replace("'", "").replace("-", "").isalpha() for w in t.split()) >= 3
               for t in texts)


# ---------------------------------------------------------------- the report

def test_report_counts_add_up(commercial, cleaned):
    kept, report = cleaned
    rules = report["rules"]
    assert list(rules) == [name for name, _ in RULES]
    assert report["docs_in"] == len(commercial) and report["docs_out"] == len(kept)
    assert report["docs_in"] - report["docs_out"] == sum(r["docs_removed"] for r in rules.values()) > 0
    assert report["words_in"] == sum(len(d["text"].split()) for d in commercial)
    assert report["words_out"] == sum(len(d["text"].split()) for d in kept)
    assert report["words_in"] - report["words_out"] == sum(r["words_removed"] for r in rules.values())
    for name, rule in rules.items():
        for key in ("docs_changed", "docs_removed", "words_removed"):
            assert rule[key] == sum(s[key] for s in rule["by_source"].values()), (name, key)
        assert rule["docs_removed"] <= rule["docs_changed"]
    # the quirks show up where they are
    assert rules["control_chars"]["by_source"]["Cerimes"]["docs_changed"] > 500
    assert rules["control_chars"]["by_source"]["WIKIPEDIA"]["docs_changed"] > 0
    assert rules["apostrophes"]["docs_changed"] > 1000 and rules["apostrophes"]["words_removed"] == 0
    assert rules["short_docs"]["docs_removed"] == rules["short_docs"]["docs_changed"] > 0


def test_report_examples_show_the_change_from_several_sources(cleaned):
    rules = cleaned[1]["rules"]
    for name, rule in rules.items():
        assert len(rule["examples"]) == min(3, rule["docs_changed"]), name
        for ex in rule["examples"]:
            assert set(ex) >= {"source", "id", "before", "after"} and ex["before"] != ex["after"]
            assert len(ex["before"]) <= 200 and ex["before"][:ex["offset"]] == ex["after"][:ex["offset"]]
    assert len({ex["source"] for ex in rules["apostrophes"]["examples"]}) == 3
    assert any("d'une" in ex["after"] or "\u200e" in ex["before"] or "\x01" in ex["before"]
               for ex in rules["control_chars"]["examples"])
    assert all(ex["after"] == "" for ex in rules["short_docs"]["examples"])


def test_parallel_equals_in_process_and_clean_text(commercial, cleaned):
    calls = []
    serial, serial_report = clean_documents(commercial, CleaningConfig(), workers=1,
                                            progress=lambda f, m: calls.append(f))
    assert [d["text"] for d in serial] == [d["text"] for d in cleaned[0]]
    assert serial_report == cleaned[1]
    assert calls and calls[-1] == 1.0 and calls == sorted(calls)
    for doc in commercial[::500]:
        expected = clean_text(doc["text"])
        assert expected == next((d["text"] for d in serial if d["id"] == doc["id"]), None)
    # documents come back as copies with their metadata
    assert set(serial[0]) == set(commercial[0]) and serial[0] is not commercial[0]


def test_cleaning_twice_changes_nothing(cleaned):
    for doc in cleaned[0][::40]:
        assert clean_text(doc["text"]) == doc["text"], doc["id"]
