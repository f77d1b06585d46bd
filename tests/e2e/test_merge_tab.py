"""The Merge tab: two tiny models registered in the app's home (different seeds, so their merges write different
gibberish), the compatibility message, a preview, then moving the SLERP slider changes the merged model's text;
saving runs a merge job that registers the merged model; an incompatible pair is refused with the mismatch named."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from frbio_core import registry
from backend.default_model import DEFAULT_MODEL_NAME
from backend.models.importing import make_tiny_model
from tests.e2e.conftest import choose_option, commit, open_tab, reveal
from tests.merge_models import tiny_models


def prepare(app_server) -> None:
    db = registry.connect(app_server.home / "frbio.db")
    tiny_models(app_server.home, db, tokenizer_from=app_server.home / "models" / DEFAULT_MODEL_NAME)
    make_tiny_model(app_server.home, name="tiny-narrow", seed=4, hidden=32, db=db)


def choose(page: Page, elem_id: str, value: str) -> None:
    choose_option(page, page.locator(f"#{elem_id} input").first, value)


def open_merge_tab(page: Page, url: str) -> None:
    page.goto(url)
    open_tab(page, "Merge", page.locator("#merge-base input").first)


def set_slider(page: Page, label: str, value: float) -> None:
    """Type the value in the slider's number box and leave it: gradio fires the slider's release event."""
    commit(page, page.locator(f'input[aria-label="number input for {label}"]:visible').first, value)


def test_moving_the_slider_changes_the_preview_generation(app_server, page: Page):
    prepare(app_server)
    open_merge_tab(page, app_server.url)
    choose(page, "merge-base", "tiny-base")
    choose(page, "merge-dapt", "tiny-other")
    expect(page.locator("#merge-compat")).to_contain_text("compatible: LlamaForCausalLM", timeout=30_000)

    page.locator("#merge-preview").click()
    timing = page.locator("#merge-timing")
    expect(timing).to_contain_text("weights ready in", timeout=90_000)
    merged = page.locator("#merge-out-merged textarea")
    base_text = page.locator("#merge-out-base textarea").input_value()
    other_text = page.locator("#merge-out-dapt textarea").input_value()
    assert base_text and other_text and base_text != other_text
    middle = merged.input_value()

    label = "t (0 = base model, 1 = DAPT model)"
    set_slider(page, label, 0)
    expect(merged).to_have_value(base_text, timeout=60_000)       # t = 0 is the base model
    set_slider(page, label, 1)
    expect(merged).to_have_value(other_text, timeout=60_000)      # t = 1 the other one
    assert middle not in (base_text, other_text)

    commit(page, page.locator("#merge-output-name").locator("textarea, input").first, "tiny-merged-e2e")
    page.locator("#merge-save").click()
    expect(page.locator("#merge-save-msg")).to_contain_text("queued as", timeout=30_000)
    expect(page.locator("#job-status-merge")).to_contain_text("succeeded", timeout=180_000)
    db = registry.connect(app_server.home / "frbio.db")
    row = db["models"].get("tiny-merged-e2e")
    assert row["kind"] == "merged" and "tiny-base" in row["parents"] and "tiny-other" in row["parents"]


def test_incompatible_models_are_refused_with_the_mismatch_named(app_server, page: Page):
    prepare(app_server)
    open_merge_tab(page, app_server.url)
    choose(page, "merge-base", "tiny-base")
    choose(page, "merge-dapt", "tiny-narrow")
    expect(page.locator("#merge-compat")).to_contain_text("hidden_size differs: 64 in the base tiny-base, 32 in the "
                                                          "DAPT model tiny-narrow", timeout=30_000)
    page.locator("#merge-preview").click()
    expect(page.locator("#merge-timing")).to_contain_text("hidden_size differs", timeout=30_000)
    page.locator("#merge-save").click()
    expect(page.locator("#merge-save-msg")).to_contain_text("hidden_size differs", timeout=30_000)


def test_sweep_chart_and_choosing_a_point_sets_the_slider(app_server, page: Page):
    from backend.corpus import catalogue, snapshot
    from backend.corpus.recipe import Recipe
    from tests.merge_models import perturbed_copy

    db = registry.connect(app_server.home / "frbio.db")
    catalogue.scan(db, [app_server.data])
    snap = snapshot.build_snapshot(db, app_server.home, Recipe(sources=["mantra_gsc", "pxcorpus"]))["snapshot_id"]
    models = tiny_models(app_server.home, db, tokenizer_from=app_server.home / "models" / DEFAULT_MODEL_NAME)
    perturbed_copy(app_server.home, db, models["other"], "tiny-dapt-trained", scale=0.5, snapshot_id=snap)
    open_merge_tab(page, app_server.url)
    choose(page, "merge-base", "tiny-other")
    choose(page, "merge-dapt", "tiny-dapt-trained")
    expect(page.locator("#merge-compat")).to_contain_text("compatible", timeout=30_000)

    grid = page.locator("#merge-grid textarea")
    reveal(page, page.get_by_text("t-sweep: domain vs general"), grid)
    commit(page, grid, "0, 0.5, 1")
    page.locator("#merge-sweep-run").click()
    expect(page.locator("#merge-sweep-msg")).to_contain_text("queued as", timeout=30_000)
    points = page.locator("#merge-sweep-points")
    expect(points).to_contain_text("t = 0.5 · domain", timeout=240_000)
    expect(page.locator("#merge-sweep-plot")).to_contain_text("Pareto", timeout=30_000)
    expect(page.locator("#merge-sweep-plot")).to_contain_text("base: tiny-other")

    points.get_by_text("t = 0 ·").click()
    number = page.locator('input[aria-label="number input for t (0 = base model, 1 = DAPT model)"]:visible').first
    expect(number).to_have_value("0", timeout=30_000)
    expect(page.locator("#merge-timing")).to_contain_text("weights ready in", timeout=90_000)
    merged = page.locator("#merge-out-merged textarea")
    expect(merged).to_have_value(page.locator("#merge-out-base textarea").input_value(), timeout=30_000)
