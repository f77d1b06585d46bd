"""Reading a built snapshot (backend.corpus.viewer, search_index, doc_view; `corpus show`): a snapshot built from a
small fixture source written here (filler notes, a note with a web address on its own line, a rare word, a document
with an exact copy and a near copy) and a real one (mantra_gsc), as a user reads it: pages of one source, a search,
a document before and after cleaning, the cluster of a removed duplicate; and a snapshot built before duplicates
were recorded."""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from backend.corpus import catalogue, doc_view, search_index, snapshot, viewer
from backend.corpus.readers import CorpusInputError
from backend.corpus.recipe import Recipe
from tests.data_helpers import home_with_catalogue

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCE = "viewer_fixture"
URL = "https://www.exemple-sante.fr/consultations/cardiologie?patient=42&page=3"
RARE = "phéochromocytome"
VOCABULARY = ("patient hypertension artérielle traitement dose surveillance biologique insuffisance rénale "
              "cardiaque diabète insuline glycémie examen clinique douleur thoracique fièvre infection antibiotique "
              "prescription médecin généraliste hôpital service urgence consultation bilan imagerie scanner "
              "radiographie échographie poumon foie rein cœur sang analyse résultat normal anormal suivi mois "
              "semaine jour contrôle tension pouls respiration toux fatigue poids taille âge femme homme enfant "
              "allergie vaccin rappel grossesse accouchement chirurgie anesthésie cicatrice pansement plaie").split()
ORIGINAL = ("Le comité recommande une surveillance rapprochée de la fonction rénale chez les patients âgés traités "
            "par inhibiteur de l'enzyme de conversion, avec un dosage de la créatinine et de la kaliémie une semaine "
            "après chaque augmentation de dose puis tous les trois mois, une adaptation de la posologie selon le "
            "débit de filtration glomérulaire estimé et une information claire du patient sur les signes d'alerte "
            "qui doivent conduire à consulter sans attendre le prochain rendez-vous prévu")


def fixture_records() -> list[dict]:
    rng = random.Random(7)
    base = {"source": SOURCE, "license": "CC BY 4.0", "commercial_use": True, "document_type": "clinical_note"}
    records = [{**base, "id": f"note-{i:03d}", "text": " ".join(rng.choice(VOCABULARY) for _ in range(60)) + "."}
               for i in range(45)]
    records.append({**base, "id": "boilerplate", "text": (
        "Compte rendu de consultation de cardiologie. Le patient décrit une dyspnée d'effort depuis trois mois.\n"
        f"Plus d'informations : {URL}\n"
        "Traitement par bêtabloquant poursuivi, contrôle dans six mois.")})
    records.append({**base, "id": "rare", "text": f"Bilan d'un {RARE} découvert sur une hypertension paroxystique "
                                                  "avec céphalées, sueurs et palpitations."})
    records.append({**base, "id": "original", "text": ORIGINAL})
    records.append({**base, "id": "exact-copy", "text": ORIGINAL})
    records.append({**base, "id": "near-copy", "text": ORIGINAL.replace("prévu", "fixé")})
    return records


@pytest.fixture(scope="module")
def built(shared_data, tmp_path_factory, default_model_home):
    """(db, home, snapshot folder, build summary) of a snapshot of the fixture source and mantra_gsc."""
    root = tmp_path_factory.mktemp("viewer")
    home, db = home_with_catalogue(shared_data, root, default_model_home, ["mantra_gsc"], ["UD_French-Sequoia.dev"],
                                   scan=False)
    with open(root / "data" / "corpus" / f"{SOURCE}.jsonl", "w", encoding="utf-8") as f:
        for record in fixture_records():
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    catalogue.scan(db, [root / "data"])
    result = snapshot.build_snapshot(db, home, Recipe(name="viewer-test", sources=[SOURCE, "mantra_gsc"],
                                                      validation_fraction=0.1))
    folder, _ = viewer.find_snapshot(db, "viewer-test")
    return db, home, folder, result


def ids_in_file(folder: Path, split: str, source: str) -> list[str]:
    table = pq.read_table(viewer.split_files(folder)[split], columns=["id", "source"]).to_pylist()
    return [r["id"] for r in table if r["source"] == source]


def test_pages_hold_the_chosen_source_documents_in_snapshot_order(built):
    _, _, folder, _ = built
    expected = ids_in_file(folder, "train", SOURCE)
    assert len(expected) > 2 * viewer.PAGE_SIZE      # three pages
    seen = []
    first = viewer.page(folder, "train", SOURCE, 1)
    assert first["total"] == len(expected) and first["pages"] == 3
    for number in range(1, first["pages"] + 1):
        shown = viewer.page(folder, "train", SOURCE, number)
        assert shown["page"] == number
        assert len(shown["documents"]) == min(viewer.PAGE_SIZE, len(expected) - len(seen))
        assert {d["source"] for d in shown["documents"]} == {SOURCE}
        seen += [d["id"] for d in shown["documents"]]
    assert seen == expected                               # every document once, in the file's order
    mantra = viewer.page(folder, "train", "mantra_gsc", 2)
    assert [d["id"] for d in mantra["documents"]] == ids_in_file(folder, "train", "mantra_gsc")[20:40]
    assert viewer.page(folder, "train", SOURCE, 99)["page"] == 3          # past the end: the last page
    assert dict(viewer.sources(folder, "train"))[SOURCE] == len(expected)
    pages = viewer.page(folder, "validation")["pages"]               # every source: the whole split, in order
    everything = [d for n in range(1, pages + 1) for d in viewer.page(folder, "validation", None, n)["documents"]]
    assert [d["id"] for d in everything] == pq.read_table(folder / "validation.parquet").column("id").to_pylist()
    assert {d["source"] for d in everything} == {SOURCE, "mantra_gsc"}


def test_search_finds_a_word_without_its_accents_and_not_an_absent_one(built):
    _, _, folder, _ = built
    split, row = viewer.find_document(folder, "rare")
    found = viewer.search(folder, "pheochromocytome", split)          # typed without accents
    assert [d["id"] for d in found["documents"]] == ["rare"] and found["total"] == 1
    assert RARE in found["documents"][0]["excerpt"]
    assert found["index"]["documents"] > 0                             # built by this first search, in the folder
    assert (folder / search_index.INDEX_FILE).is_file()
    assert viewer.search(folder, "zyxwvutsr", split)["total"] == 0
    again = viewer.search(folder, "PHÉOCHROMO*", split, SOURCE)        # a prefix, any case; the index is reused
    assert [d["id"] for d in again["documents"]] == ["rare"] and again["index"] is None
    assert viewer.search(folder, RARE, split, "mantra_gsc")["total"] == 0  # not in the other source
    phrase = viewer.search(folder, '"dyspnée d\'effort"', viewer.find_document(folder, "boilerplate")[0])
    assert "boilerplate" in [d["id"] for d in phrase["documents"]]
    # what a user types is never FTS5 syntax: operators and stray quotes are words or nothing
    assert viewer.search(folder, 'NEAR( "hypertension OR -', split)["total"] >= 0
    with pytest.raises(CorpusInputError, match="type a word"):
        viewer.search(folder, " *** ", split)


def test_search_index_follows_a_changed_file(built, tmp_path):
    _, _, folder, _ = built
    copy = shutil.copytree(folder, tmp_path / "copy")
    split, _ = viewer.find_document(copy, "rare")
    assert viewer.search(copy, RARE, split)["total"] == 1
    table = pq.read_table(copy / snapshot.SPLIT_FILES[split])
    keep = [i for i, doc_id in enumerate(table.column("id").to_pylist()) if doc_id != "rare"]
    pq.write_table(table.take(keep), copy / snapshot.SPLIT_FILES[split])
    redone = viewer.search(copy, RARE, split)
    assert redone["total"] == 0 and redone["index"] is not None


def test_before_after_cleaning_marks_the_removed_web_address(built):
    from frbio_ui.corpus_viewer import diff_html

    db, _, folder, _ = built
    split, row = viewer.find_document(folder, "boilerplate")
    view = doc_view.cleaning_view(db, folder, viewer.read_manifest(folder), split, row)
    assert view["state"] == "ok" and view["reproduced"] is True
    removed = "".join(text for text, op in view["segments"] if op == "-")
    kept = "".join(text for text, op in view["segments"] if op == "=")
    assert URL in removed and URL not in kept
    assert "Plus d'informations :" in kept and "bêtabloquant poursuivi" in kept
    struck = re.findall(r"<del class='rm'>([^<]*)</del>", diff_html(view))
    assert any(URL.replace("&", "&amp;") in text for text in struck)
    assert URL not in viewer.document(folder, split, row)["text"]
    untouched = doc_view.cleaning_view(db, folder, viewer.read_manifest(folder), *viewer.find_document(folder, "rare"))
    assert untouched["removed_chars"] == 0 and [op for _, op in untouched["segments"]] == ["="]


def test_before_after_says_when_the_source_file_changed_or_is_gone(built, tmp_path):
    db, _, folder, _ = built
    manifest = viewer.read_manifest(folder)
    split, row = viewer.find_document(folder, "boilerplate")
    entry = next(i for i in manifest["inputs"] if i["source"] == SOURCE)
    moved = json.loads(json.dumps(manifest))
    changed = tmp_path / f"{SOURCE}.jsonl"
    changed.write_text(Path(entry["path"]).read_text("utf-8") + json.dumps({"id": "late", "text": "ajout"}) + "\n")
    for i in moved["inputs"]:
        if i["source"] == SOURCE:
            i["path"] = str(changed)
    view = doc_view.cleaning_view(None, folder, moved, split, row)
    assert view["state"] == "changed" and URL in "".join(t for t, op in view["segments"] if op == "-")
    changed.unlink()
    gone = doc_view.cleaning_view(None, folder, moved, split, row)
    assert gone["state"] == "missing" and gone["reproduced"] is None and "Plus d'informations" in gone["text"]


def test_dropped_duplicates_show_their_cluster(built):
    _, _, folder, result = built
    assert result["exact_duplicates_removed"] >= 1 and result["near_duplicates_removed"] >= 1
    removed = viewer.page(folder, viewer.DUPLICATES_SPLIT, SOURCE)
    assert {"exact-copy", "near-copy"} <= {d["id"] for d in removed["documents"]}
    split, row = viewer.find_document(folder, "near-copy", split=viewer.DUPLICATES_SPLIT)
    cluster = doc_view.duplicate_cluster(folder, split, row)
    assert cluster["recorded"] and cluster["role"] == "dropped"
    assert (cluster["kept"]["source"], cluster["kept"]["id"]) == (SOURCE, "original")
    assert cluster["kept"]["where"] == [viewer.find_document(folder, "original")]   # where the user finds it
    members = {m["id"]: m for m in cluster["members"]}
    assert set(members) == {"exact-copy", "near-copy"}
    assert members["exact-copy"]["kind"] == "exact" and members["near-copy"]["kind"] == "near"
    assert 0.8 <= members["near-copy"]["similarity"] < 1
    kept = doc_view.duplicate_cluster(folder, *viewer.find_document(folder, "original"))
    assert kept["role"] == "kept" and kept["total"] == 2
    lone = doc_view.duplicate_cluster(folder, *viewer.find_document(folder, "rare"))
    assert lone["role"] == "unique" and lone["members"] == []
    # the removed near copy still has its own before/after view (its raw text is in the source file)
    view = doc_view.cleaning_view(None, folder, viewer.read_manifest(folder), split, row)
    assert view["reproduced"] is True and view["id"] == "near-copy"


def test_a_snapshot_built_before_duplicates_were_recorded_says_so(built, tmp_path):
    from frbio_ui.corpus_viewer import cluster_html

    _, _, folder, _ = built
    old = shutil.copytree(folder, tmp_path / "old")
    (old / snapshot.DUPLICATES_FILE).unlink()
    assert viewer.DUPLICATES_SPLIT not in viewer.split_files(old)
    cluster = doc_view.duplicate_cluster(old, *viewer.find_document(old, "original"))
    assert cluster == {"recorded": False}
    assert "not recorded for this snapshot" in cluster_html(cluster, "en")
    assert "pas été enregistrés pour cet instantané" in cluster_html(cluster, "fr")
    assert viewer.page(old, "train", SOURCE)["total"] == len(ids_in_file(old, "train", SOURCE))


def test_long_repetitive_document_diff_is_exact():
    rng = random.Random(3)
    words = [rng.choice(VOCABULARY + ["l’hôpital", "<b>", "www.exemple.fr/x"]) for _ in range(40_000)]
    before = " ".join(words)
    from backend.corpus.cleaning import clean_text

    after = clean_text(before)
    segments = doc_view.diff_segments(before, after)
    assert "".join(t for t, op in segments if op != "+") == before
    assert "".join(t for t, op in segments if op != "-") == after
    assert {t.strip() for t, op in segments if op == "-"} >= {"’", "<b>", "www.exemple.fr/x"}


def test_cli_show_pages_searches_and_opens_a_document(built):
    db, home, folder, result = built
    env = {**os.environ, "FRBIO_HOME": str(home)}

    def show(*args):
        out = subprocess.run([sys.executable, "-m", "backend", "corpus", "show", result["snapshot_id"], *args],
                             cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return out.stdout

    page = json.loads(show("--source", SOURCE, "--page", "2", "--json"))
    assert [d["id"] for d in page["documents"]] == ids_in_file(folder, "train", SOURCE)[20:40]
    split, _ = viewer.find_document(folder, "rare")
    assert "rare" in show("--split", split, "--search", "pheochromocytome")
    text = show("--doc", "boilerplate")
    assert f"[- {URL}-]" in text and "duplicates: none removed" in text
    assert "kept original" in show("--doc", "near-copy")
