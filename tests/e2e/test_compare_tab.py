"""The Compare tab: pick two models and benchmarks, see the results table with the change from the reference, the
bars and the domain-vs-general perplexity chart, the per-item drill-down and the exported report. The evaluations
are computed beforehand through the backend (as earlier eval jobs would have), so the page shows them from the
cache at once."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from frbio_core import registry
from backend.corpus import catalogue, snapshot
from backend.corpus.recipe import Recipe
from backend.evaluation.config import EvalConfig
from backend.evaluation.runner import run_eval
from backend.models.importing import make_tiny_model
from frbio_core.settings import load_settings
from tests.e2e.conftest import number_box, open_tab, reveal, set_number

TASKS = ["frenchmedmcqa_single", "sib200_fr", "perplexity"]
SETTINGS = dict(limit=6, ppl_block_size=64, ppl_max_blocks=3, batch_size=6)


def prepare(app_server, shared_data) -> None:
    (app_server.data / "bench").symlink_to(shared_data / "bench", target_is_directory=True)
    db = registry.connect(app_server.home / "frbio.db")
    catalogue.scan(db, [app_server.data])
    snapshot.build_snapshot(db, app_server.home, Recipe(sources=["mantra_gsc"], validation_fraction=0.05))
    settings = load_settings(home=str(app_server.home), data=[str(app_server.data)])
    for seed, name in ((1, "tiny-base"), (2, "tiny-dapt")):
        make_tiny_model(app_server.home, name=name, seed=seed, db=db)
        run_eval(db, settings, EvalConfig(model=name, tasks=TASKS, **SETTINGS))


def pick_model(page: Page, name: str) -> None:
    box = page.locator("#cmp-models").get_by_role("combobox")
    box.click()
    box.fill(name)
    page.get_by_role("option", name=name, exact=True).click()   # waits for the choices refreshed on page load
    expect(page.locator("#cmp-models")).to_contain_text(name)


def test_pick_models_and_see_table_charts_items_and_report(app_server, shared_data, page: Page):
    prepare(app_server, shared_data)
    page.goto(app_server.url)
    open_tab(page, "Compare", page.locator("#cmp-models"))
    pick_model(page, "tiny-base")
    pick_model(page, "tiny-dapt")
    page.mouse.click(2, 2)                  # click away: the open list would cover the benchmarks below it
    expect(page.get_by_role("option", name="tiny-dapt", exact=True)).to_be_hidden()
    tasks = page.locator("#cmp-tasks")
    for title in ("FrenchMedMCQA (all items)", "PubMedQA (English medical)"):
        tasks.get_by_label(title, exact=True).uncheck()
    tasks.get_by_label("Perplexity (domain vs general)", exact=True).check()
    reveal(page, page.get_by_text("Evaluation settings"), number_box(page, "Items per benchmark"))
    set_number(page, "Items per benchmark", SETTINGS["limit"])
    for internal in ("Run", "While the run goes on, also evaluate each checkpoint as it is written"):
        expect(page.get_by_label(internal, exact=True)).to_have_count(0)   # fields marked ui: hidden
    set_number(page, "Perplexity block size", SETTINGS["ppl_block_size"])
    set_number(page, "Perplexity blocks per set", SETTINGS["ppl_max_blocks"])

    table = page.locator("#cmp-table")
    expect(table).to_be_hidden()                   # no empty table with placeholder headers before a comparison
    expect(page.locator("#cmp-verdicts")).to_be_hidden()
    page.locator("#cmp-run").click()
    expect(page.locator("#cmp-status")).to_contain_text("cache", timeout=60_000)   # nothing had to be launched
    expect(table).to_contain_text("SIB-200 French (general)")
    expect(table).to_contain_text("Δ tiny-dapt")
    expect(table).to_contain_text("domain_ppl")
    expect(table).to_contain_text("±")
    expect(table).not_to_contain_text("pending")
    verdicts = page.locator("#cmp-verdicts")             # 6 items cannot tell two tiny random models apart
    expect(verdicts).to_contain_text("Δ [95 % CI]")
    expect(verdicts).to_contain_text("p (Holm)")
    expect(verdicts).to_contain_text("no difference detectable with 6 items (smallest detectable ≈")
    expect(page.locator("#cmp-bars")).to_contain_text("tiny-dapt")      # grouped bars, one series per model
    expect(page.locator("#cmp-tradeoff")).to_contain_text("domain perplexity")

    page.get_by_text("Per-item answers").click()
    page.locator("#cmp-show-items").click()
    items = page.locator("#cmp-items")
    expect(items).to_contain_text("Parmi les propositions suivantes", timeout=30_000)
    expect(items).to_contain_text("tiny-dapt")

    page.get_by_text("Export", exact=True).click()
    page.locator("#cmp-export").click()
    expect(page.locator("#cmp-files")).to_contain_text(".html", timeout=30_000)
    expect(page.locator("#cmp-files")).to_contain_text(".csv")
    assert len(list((app_server.home / "reports").glob("compare-*.html"))) == 1

    # fewer items: not in the cache, so one eval job per model is launched and followed until the table fills
    tasks.get_by_label("FrenchMedMCQA (single answer)", exact=True).uncheck()
    set_number(page, "Items per benchmark", 3)
    page.locator("#cmp-run").click()
    status = page.locator("#cmp-status")
    expect(status).to_contain_text("job-", timeout=60_000)
    expect(table).to_contain_text("pending")
    expect(status).not_to_contain_text("queued", timeout=240_000)
    expect(status).not_to_contain_text("running", timeout=240_000)
    expect(status).to_contain_text("succeeded")
    expect(table).not_to_contain_text("pending", timeout=30_000)
    expect(table).not_to_contain_text("FrenchMedMCQA")
