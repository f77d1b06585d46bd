"""The Generate tab: two registered models answer one prompt side by side, each pane filling with its own text and
ending with its status; Stop halts a long generation."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from backend.models.importing import make_tiny_model
from frbio_core.registry import connect
from tests.e2e.conftest import commit, open_tab, reveal


def test_two_panes_stream_then_stop(app_server, page: Page):
    db = connect(app_server.home / "frbio.db")
    make_tiny_model(app_server.home, name="tiny-base", seed=1, db=db)
    make_tiny_model(app_server.home, name="tiny-instruct", seed=2, db=db)
    page.goto(app_server.url)
    models = page.locator("#gen-models")
    open_tab(page, "Generate", models)
    expect(models).to_contain_text("tiny-instruct", timeout=30_000)  # choices refreshed on page load
    models.get_by_label("tiny-base").check()
    models.get_by_label("tiny-instruct").check()
    page.locator("#gen-prompt-preset input").click()
    page.get_by_role("option", name="Définition de l'AVC (texte à compléter)").click()
    expect(page.locator("#gen-prompt textarea")).to_have_value(re.compile("accident vasculaire cérébral"))
    max_new_tokens = page.get_by_label("Max new tokens")
    reveal(page, page.get_by_text("Generation settings"), max_new_tokens)
    commit(page, max_new_tokens, 24)
    page.locator("#gen-go").click()

    for i, name, fmt in ((0, "tiny-base", "raw completion"), (1, "tiny-instruct", "chat template")):
        pane = page.locator(f"#gen-pane-{i}")
        expect(pane).to_contain_text(f"{name} · {fmt} · ✅", timeout=60_000)
        expect(pane).to_contain_text("24 tokens")
        expect(pane.locator("textarea")).not_to_have_value("")
    texts = [page.locator(f"#gen-pane-{i} textarea").input_value() for i in (0, 1)]
    assert texts[0] != texts[1]
    expect(page.locator("#gen-loaded")).to_contain_text("tiny-instruct")

    # a long answer from the real default model, stopped early
    models.get_by_label("tiny-instruct").uncheck()
    models.get_by_label("smollm2-135m-instruct").check()
    commit(page, max_new_tokens, 2000)
    page.locator("#gen-go").click()
    expect(page.locator("#gen-pane-1")).to_contain_text("✍️", timeout=60_000)
    page.locator("#gen-stop").click()
    for i in (0, 1):
        expect(page.locator(f"#gen-pane-{i}")).to_contain_text(re.compile("stopped|✅"), timeout=30_000)
    expect(page.locator("#gen-pane-1")).to_contain_text("stopped")
    n = int(re.search(r"(\d+) tokens", page.locator("#gen-pane-1").inner_text()).group(1))
    assert n < 1000
