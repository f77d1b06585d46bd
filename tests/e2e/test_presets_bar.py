"""Saved presets in the browser: the Train form saved as a preset, the page reloaded, the preset loaded back into
the form, and the same preset run from the command line with `--preset`; then the form compared with the run it
came from, the changed field highlighted."""
from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from frbio_core import registry
from jobs import store
from tests.e2e.conftest import choose_option, number_box, open_tab, reveal, set_number
from tests.e2e.test_train_tab import combobox, train_tab  # noqa: F401  (the fixture)
from tests.test_cli import run_cli


def open_presets(page: Page) -> None:
    reveal(page, page.locator("#presets-train").get_by_text("Presets", exact=True),
           page.locator("#preset-name-train textarea, #preset-name-train input").first)


def test_a_preset_saved_in_the_train_tab_reloads_runs_from_the_cli_and_compares_with_its_run(
        page: Page, train_tab, app_server):
    for label, value in (("Training steps", 3), ("Block size", 48), ("Micro-batch size", 2)):
        set_number(page, label, value)
    open_presets(page)
    page.locator("#preset-name-train textarea, #preset-name-train input").first.fill("quick look")
    page.locator("#preset-save-train").click()
    expect(page.locator("#preset-msg-train")).to_contain_text("Saved preset 'quick look'")

    page.reload()          # a new page: the form back to its defaults, the preset still there
    open_tab(page, "Train", combobox(page, "Base model"))
    expect(number_box(page, "Training steps")).not_to_have_value("3")
    open_presets(page)
    choose_option(page, page.locator("#preset-pick-train input"), "quick look")
    page.locator("#presets-train").get_by_role("button", name="Load", exact=True).click()
    expect(page.locator("#preset-msg-train")).to_contain_text("Loaded preset 'quick look'")
    expect(number_box(page, "Training steps")).to_have_value("3")
    expect(number_box(page, "Block size")).to_have_value("48")
    expect(combobox(page, "Base model")).to_have_value("tiny-e2e")

    # the same preset from the command line (the app's scheduler runs it)
    out = run_cli("train", "--preset", "quick look", "--wait", "--json", home=app_server.home, data=app_server.data)
    assert out.returncode == 0, out.stderr[-2000:]
    db = registry.connect(app_server.home / "frbio.db")
    run = store.list_jobs(db, kind="train")[0]
    assert run["status"] == "succeeded" and json.loads(out.stdout)["id"] == run["id"]
    assert (run["config"]["max_steps"], run["config"]["block_size"], run["config"]["base_model"]) == (3, 48, "tiny-e2e")

    # start from that run, change one field, compare: that field alone, highlighted
    page.reload()
    open_tab(page, "Train", combobox(page, "Base model"))
    open_presets(page)
    choose_option(page, page.locator("#preset-run-train input"), run["id"])
    page.locator("#presets-train").get_by_role("button", name="Use this run's settings").click()
    expect(number_box(page, "Training steps")).to_have_value("3")
    set_number(page, "Training steps", 5)
    page.locator("#preset-compare-train").click()
    changed = page.locator("#preset-diff-train tr.preset-changed")
    expect(changed).to_have_count(1)
    expect(changed.locator("code")).to_have_text("max_steps")
    expect(changed.locator("mark")).to_have_text("5")
    expect(changed.locator("del")).to_have_text("3")


def test_a_merge_preset_reloads_its_models_and_the_chosen_methods_parameters(app_server, page: Page):
    from tests.e2e.test_merge_tab import choose, open_merge_tab, prepare, set_slider

    prepare(app_server)
    open_merge_tab(page, app_server.url)
    choose(page, "merge-base", "tiny-base")
    choose(page, "merge-dapt", "tiny-other")
    t_box = page.locator('input[aria-label="number input for t (0 = base model, 1 = DAPT model)"]:visible').first
    set_slider(page, "t (0 = base model, 1 = DAPT model)", 0.3)
    name_box = page.locator("#preset-name-merge textarea, #preset-name-merge input").first
    reveal(page, page.locator("#presets-merge").get_by_text("Presets", exact=True), name_box)
    name_box.fill("gentle")
    page.locator("#preset-save-merge").click()
    expect(page.locator("#preset-msg-merge")).to_contain_text("Saved preset 'gentle'")

    page.reload()          # the form back to its defaults; the preset fills the models, the method and its t
    open_merge_tab(page, app_server.url)
    expect(t_box).to_have_value("0.5")
    reveal(page, page.locator("#presets-merge").get_by_text("Presets", exact=True), name_box)
    choose_option(page, page.locator("#preset-pick-merge input"), "gentle")
    page.locator("#presets-merge").get_by_role("button", name="Load", exact=True).click()
    expect(page.locator("#preset-msg-merge")).to_contain_text("Loaded preset 'gentle'")
    expect(t_box).to_have_value("0.3")
    expect(page.locator("#merge-base input").first).to_have_value("tiny-base")
    expect(page.locator("#merge-dapt input").first).to_have_value("tiny-other")
