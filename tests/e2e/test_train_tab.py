"""The Train tab: estimate before launch, launch a tiny DAPT run from the browser, watch its curve grow, see it
finish, and a clear refusal for an impossible config."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from backend import registry
from backend.corpus import catalogue, snapshot
from backend.corpus.recipe import Recipe
from backend.models.importing import make_tiny_model


def prepare(app_server) -> str:
    """A snapshot and a tiny model in the app's home (as a researcher would have from the other tabs)."""
    db = registry.connect(app_server.home / "frbio.db")
    catalogue.scan(db, [app_server.data])
    snap = snapshot.build_snapshot(db, app_server.home, Recipe(sources=["mantra_gsc", "pxcorpus"]))
    make_tiny_model(app_server.home, name="tiny-e2e", seed=1, db=db)
    return snap["snapshot_id"]


def choose(page: Page, label: str, value: str) -> None:
    box = page.get_by_role("combobox", name=re.compile(rf"^{label}"))
    box.fill(value)
    box.press("Enter")


def set_number(page: Page, label: str, value: int) -> None:
    field = page.get_by_role("spinbutton", name=re.compile(rf"^{label}")).first
    field.fill(str(value))
    field.press("Tab")


def test_launch_tiny_run_and_watch_its_curve(app_server, page: Page):
    snap_id = prepare(app_server)
    page.goto(app_server.url)
    page.get_by_role("tab", name="Train").click()
    choose(page, "Base model", "tiny-e2e")
    choose(page, "Corpus snapshot", snap_id)
    for label, value in (("Training steps", 40), ("Micro-batch size", 4), ("Block size", 64),
                         ("Evaluate perplexity every", 10), ("Checkpoint every", 20)):
        set_number(page, label, value)

    page.get_by_role("button", name="Estimate memory and time").click()
    expect(page.locator("#train-estimate")).to_contain_text("fits", timeout=60_000)
    page.get_by_role("button", name="Show command").click()
    expect(page.get_by_text("python -m backend train")).to_be_visible(timeout=30_000)

    page.locator("#train-launch").click()
    expect(page.locator("#train-msg")).to_contain_text("queued as", timeout=30_000)
    job_id = re.search(r"job-\d+", page.locator("#train-msg").inner_text()).group(0)
    status = page.locator("#job-status-train")
    expect(status).to_contain_text(job_id, timeout=30_000)
    curves = page.locator("#job-curves-train")
    expect(curves).to_contain_text("train loss", timeout=120_000)  # the plot appears once metrics arrive
    expect(status).to_contain_text("succeeded", timeout=240_000)
    expect(curves).to_contain_text("domain perplexity")
    page.get_by_role("tab", name="Models").click()
    page.get_by_role("button", name="Refresh").first.click()
    expect(page.locator("#models-table")).to_contain_text("dapt", timeout=30_000)


def test_impossible_config_is_refused_before_launch(app_server, page: Page):
    snap_id = prepare(app_server)
    page.goto(app_server.url)
    page.get_by_role("tab", name="Train").click()
    choose(page, "Base model", "tiny-e2e")
    choose(page, "Corpus snapshot", snap_id)
    set_number(page, "Block size", 4096)  # the tiny model's context is 512
    page.locator("#train-launch").click()
    expect(page.locator("#train-msg")).to_contain_text("block_size", timeout=30_000)
    expect(page.locator("#train-msg")).to_contain_text("context length")
