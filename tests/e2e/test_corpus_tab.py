"""The Corpus tab as a user sees it: the source catalogue with licence badges, building a snapshot with the default
recipe (commercial sources only), finding it in the snapshot list with its dataset card, checking it against the
benchmarks (contamination: the result in the tab and in the card), and a clear error for a bad upload.

FRBIO_SCREENSHOTS=1 also saves a full-page screenshot of the tab after the build to assets/screenshots/ (for the
README); without it nothing in the tree is written.
"""
from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import commit, open_tab, reveal

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = PROJECT_ROOT / "assets" / "screenshots" / "corpus_tab.png"
COMMERCIAL = ["mantra_gsc", "pxcorpus", "ScopeSanteQualite"]  # the data folder of the app_server fixture
RESEARCH_ONLY = "WMT-18-Medline"
BUILD_TIMEOUT_MS = 180_000


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    open_tab(page, "Corpus", page.locator("#sources-table"))
    expect(page.locator("#sources-table")).to_contain_text(RESEARCH_ONLY, timeout=60_000)
    # the page-load estimate has run: the app is fully wired
    expect(page.locator("#estimate")).to_contain_text("Commercial use allowed", timeout=60_000)


def table_row(page: Page, table_id: str, first_cell: str):
    """The row of a gr.Dataframe (an ARIA grid of virtual rows) holding a cell with exactly this text."""
    return page.locator(f"#{table_id} [role=row]").filter(has=page.get_by_role("gridcell", name=first_cell,
                                                                                exact=True))


def source_row(page: Page, name: str):
    return table_row(page, "sources-table", name)


def test_sources_table_shows_licences(app_server, page):
    open_app(page, app_server.url)
    table = page.locator("#sources-table")
    files = sorted(app_server.data.glob("*/*.jsonl.gz"))  # 4 domain sources, 2 general-domain files
    assert len(files) == 6
    for f in files:
        expect(table).to_contain_text(f.name.removesuffix(".jsonl.gz"))
    expect(source_row(page, RESEARCH_ONLY)).to_contain_text("research only")
    expect(source_row(page, RESEARCH_ONLY)).to_contain_text("CC BY-NC")
    for name in COMMERCIAL:
        expect(source_row(page, name)).to_contain_text("commercial")
        expect(source_row(page, name)).not_to_contain_text("research only")


def test_build_snapshot_then_see_it_listed_with_its_card(app_server, page, shared_data):
    (app_server.data / "bench").symlink_to(shared_data / "bench", target_is_directory=True)
    open_app(page, app_server.url)
    # default recipe: commercial only; the research-only source is not counted in the estimate
    expect(page.locator("#estimate")).not_to_contain_text("NON-COMMERCIAL")

    page.locator("#build-button").click()
    msg = page.locator("#build-msg")
    expect(msg).to_contain_text(re.compile(r"✅|❌"), timeout=BUILD_TIMEOUT_MS)
    text = msg.inner_text()
    assert "✅" in text and "Built" in text, text
    assert "Commercial use allowed" in text, text
    snap_id = re.search(r"snap-[0-9a-f]{12}", text).group(0)

    # the snapshot is on disk, with only commercial sources in its manifest
    manifest = json.loads((app_server.home / "snapshots" / snap_id / "manifest.json").read_text())
    assert manifest["commercial_use"] is True
    assert sorted(manifest["splits"]["train"]) == sorted(COMMERCIAL)

    # ... and listed, marked commercial
    row = table_row(page, "snapshots-table", snap_id)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("commercial")
    expect(row).not_to_contain_text("NON-COMMERCIAL")
    for name in COMMERCIAL:
        expect(row).to_contain_text(name)
    expect(row).not_to_contain_text(RESEARCH_ONLY)

    # the build selected it: its dataset card is shown
    card = page.locator("#snapshot-card")
    expect(card).to_contain_text(snap_id, timeout=30_000)
    if os.environ.get("FRBIO_SCREENSHOTS") == "1":
        save_screenshot(page)  # build message, snapshot list and card in one picture

    # a returning user (page reloaded) still finds it in the list, selects it, and gets the card
    open_app(page, app_server.url)
    expect(table_row(page, "snapshots-table", snap_id)).to_contain_text("commercial")
    select_snapshot(page, snap_id)
    expect(card).to_contain_text(snap_id, timeout=30_000)
    expect(card).to_contain_text("Sources and licences")
    expect(card).to_contain_text("Commercial use allowed")
    for name in COMMERCIAL:
        expect(card).to_contain_text(name)
    expect(card).not_to_contain_text(RESEARCH_ONLY)

    # the contamination check: one line per benchmark in the tab, its section in the card, the manifest updated
    page.locator("#contamination-button").click()
    result = page.locator("#contamination-msg")
    expect(result).to_contain_text("written to the snapshot's card", timeout=120_000)
    for title in ("FrenchMedMCQA (single answer)", "SIB-200 French", "PubMedQA"):
        expect(result).to_contain_text(re.compile(rf"\d+ of \d+ {re.escape(title)}"))
    expect(card).to_contain_text("Benchmark contamination")
    check = json.loads((app_server.home / "snapshots" / snap_id / "manifest.json").read_text())["contamination"]
    assert {b["task"] for b in check["benchmarks"]} >= {"frbio_frenchmedmcqa_single", "frbio_pubmedqa", "frbio_sib200_fr"}
    assert all(b["items"] > 0 for b in check["benchmarks"])


def select_snapshot(page: Page, snap_id: str) -> None:
    """Pick `snap_id` in the "Snapshots" dropdown, as a user would."""
    dropdown = page.get_by_label("Snapshots", exact=True)
    dropdown.click()
    page.get_by_role("option", name=snap_id).click()
    expect(dropdown).to_have_value(snap_id)


def save_screenshot(page: Page) -> None:
    page.mouse.move(0, 0)  # no hover effects
    expect(page.locator(".js-plotly-plot")).to_have_count(3)  # estimate, lengths and tokens charts drawn
    page.wait_for_timeout(1000)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(full_page=True, animations="disabled")
    # a 256-colour palette keeps a UI screenshot sharp at a third of the size (README asset, < 500 KB)
    from PIL import Image

    Image.open(io.BytesIO(png)).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(
        SCREENSHOT, optimize=True)
    assert SCREENSHOT.stat().st_size < 500_000, f"{SCREENSHOT} is {SCREENSHOT.stat().st_size:,} bytes"


def test_bad_upload_names_file_and_line_and_changes_nothing(app_server, page, tmp_path):
    bad = tmp_path / "notes_cliniques.jsonl"
    bad.write_text('{"id": "n1", "text": "Patient de 54 ans, dyspnée d\'effort."}\n'
                   '{"id": "n2", "body": "pas de champ texte"}\n', encoding="utf-8")
    open_app(page, app_server.url)
    table = page.locator("#sources-table")
    before = table.inner_text()

    name = page.locator("#upload-name").get_by_role("textbox")
    reveal(page, page.get_by_text("Add a source (upload)"), name)
    page.locator("#upload-file input[type=file]").set_input_files(str(bad))
    expect(page.locator("#upload-file")).to_contain_text("notes_cliniques")
    commit(page, name, "notes")
    page.locator("#upload-button").click()

    msg = page.locator("#sources-msg")
    expect(msg).to_contain_text("❌", timeout=30_000)
    expect(msg).to_contain_text("notes_cliniques.jsonl line 2")
    expect(msg).to_contain_text("no 'text' field")
    assert table.inner_text() == before
    assert not (app_server.home / "uploads" / "notes").exists()
