"""Reading a snapshot in the Corpus tab, as a user does: before any choice a plain line and no empty table; then a
snapshot chosen, its first page of 20 documents, a search typed without accents, a document of the results opened:
its text before and after cleaning, with the web address cleaning removed struck through, and its duplicate
cluster line. The snapshot (a small note file of this test and a real source) is built with the backend before the
page opens, as a build job would have left it.
"""
from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import choose_option, commit, open_tab, reveal

URL = "https://www.exemple-sante.fr/consultations/cardiologie?patient=42"
NOTES = [
    {"id": "note-boilerplate", "text": "Compte rendu de consultation. Dyspnée d'effort depuis trois mois.\n"
                                       f"Plus d'informations : {URL}\nTraitement par bêtabloquant poursuivi."},
    {"id": "note-rare", "text": "Bilan d'un phéochromocytome découvert sur une hypertension paroxystique, avec "
                                "céphalées, sueurs et palpitations."},
] + [{"id": f"note-{i:02d}", "text": f"Consultation numéro {i} de suivi : tension artérielle contrôlée, pas de "
                                     f"plainte fonctionnelle, poids stable à {60 + i} kilogrammes."} for i in range(30)]


def build_snapshot(server) -> tuple[str, str]:
    """The snapshot of the note file and mantra_gsc, built in the server's home: its id, and the split holding the
    note with a web address (one note of the file is held out for validation)."""
    from backend.corpus.recipe import Recipe
    from backend.corpus import viewer
    from backend.corpus.snapshot import build_snapshot as build
    from backend.studio import Studio
    from frbio_core.settings import Settings

    with open(server.data / "corpus" / "viewer_notes.jsonl", "w", encoding="utf-8") as f:
        for note in NOTES:
            f.write(json.dumps({**note, "license": "CC BY 4.0", "commercial_use": True}, ensure_ascii=False) + "\n")
    studio = Studio(Settings(home=str(server.home), data=[str(server.data)], import_default_model=False))
    studio.scan_sources()
    snap_id = build(studio.db, studio.home, Recipe(name="notes", sources=["viewer_notes", "mantra_gsc"]))["snapshot_id"]
    return snap_id, viewer.find_document(viewer.find_snapshot(studio.db, snap_id)[0], "note-boilerplate")[0]


def test_search_a_snapshot_and_open_a_document_before_and_after_cleaning(app_server, page: Page):
    snap_id, split = build_snapshot(app_server)
    page.goto(app_server.url)
    open_tab(page, "Corpus", page.locator("#sources-table"))
    status = page.locator("#viewer-status")
    reveal(page, page.get_by_text("Read a snapshot", exact=True), status)
    expect(status).to_contain_text("Choose a snapshot to read.")
    expect(page.locator("#viewer-table")).to_be_hidden()          # an empty state is a line, not an empty table

    choose_option(page, page.locator("#viewer-snapshot input"), f"notes ({snap_id})")
    expect(status).to_contain_text(re.compile(r"\d+ documents · page 1 / \d+"), timeout=30_000)
    table = page.locator("#viewer-table")
    expect(table).to_be_visible()
    if split != "train":
        choose_option(page, page.locator("#viewer-split input"), split)
        expect(status).to_contain_text(re.compile(r"\d+ documents · page 1 / 1"), timeout=30_000)

    commit(page, page.locator("#viewer-search input, #viewer-search textarea").first, "betabloquant")
    page.locator("#viewer-search-button").click()
    expect(status).to_contain_text("1 document matches « betabloquant »", timeout=60_000)
    row = table.get_by_role("gridcell", name="note-boilerplate", exact=True)
    expect(row).to_be_visible()
    expect(table).to_contain_text("bêtabloquant")

    row.click()
    title = page.locator("#viewer-doc-title")
    expect(title).to_contain_text("note-boilerplate", timeout=30_000)
    expect(title).to_contain_text(re.compile(rf"Characters removed by cleaning: {len(URL) + 1}\b"))  # and its space
    removed = page.locator("#viewer-diff del.rm")
    expect(removed.filter(has_text="exemple-sante.fr")).to_have_count(1)
    expect(page.locator("#viewer-diff")).to_contain_text("Plus d'informations :")
    expect(page.locator("#viewer-cluster")).to_contain_text("No duplicate of this document was removed.")
