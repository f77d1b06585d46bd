"""The Models tab: the registered default model with its facts, importing a local folder, a clear error for a bad
folder, and a Hub download refused offline with a clear message."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from backend.models.importing import make_tiny_model
from tests.e2e.conftest import commit, open_tab, reveal


def open_models(page: Page, url: str) -> None:
    page.goto(url)
    open_tab(page, "Models", page.locator("#models-table"))
    expect(page.locator("#models-table")).to_contain_text("smollm2-135m-instruct", timeout=60_000)


def test_default_model_listed_and_local_import(app_server, page: Page, tmp_path):
    open_models(page, app_server.url)
    table = page.locator("#models-table")
    expect(table).to_contain_text("LlamaForCausalLM")
    expect(table).to_contain_text("134.5 M")
    expect(table).to_contain_text("apache-2.0")
    expect(table).to_contain_text("49,152")                       # its vocabulary, not a tokenizer class name
    expect(table).not_to_contain_text("TokenizersBackend")

    outside = tmp_path / "elsewhere"
    tiny = make_tiny_model(outside, name="tiny-demo", seed=3, tokenizer_from=None)
    path = page.locator("#import-path textarea, #import-path input").first
    reveal(page, page.get_by_text("Import a local Hugging Face folder"), path)
    commit(page, path, tiny["path"])
    page.locator("#import-button").click()
    expect(page.locator("#models-msg")).to_contain_text("Registered", timeout=30_000)
    expect(table).to_contain_text("tiny-demo")

    commit(page, path, tmp_path / "no-such-model")
    page.locator("#import-button").click()
    expect(page.locator("#models-msg")).to_contain_text("❌", timeout=30_000)
    expect(page.locator("#models-msg")).to_contain_text("no-such-model")


def test_hub_download_offline_is_refused_clearly(app_server, page: Page):
    open_models(page, app_server.url)
    repo = page.get_by_role("textbox", name=re.compile(r"^Hub model id"))
    reveal(page, page.get_by_text("Download from the Hugging Face Hub"), repo)
    commit(page, repo, "Qwen/Qwen3-0.6B-Base")
    page.locator("#download-button").click()
    expect(page.locator("#models-msg")).to_contain_text("offline mode is on", timeout=30_000)
