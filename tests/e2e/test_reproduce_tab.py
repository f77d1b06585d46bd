"""The Reproduce tab, clicked through at the smallest budget: choosing the budget fills the size fields and states
the budget; Start runs the study's stages as real jobs (snapshot → DAPT → SLERP sweep → merges → evaluations →
report) on a tiny random model with SmolLM2's tokenizer; the page follows it to the end and shows every stage done,
the trade-off figure, the results table with the very numbers of the report, the findings, every artefact's id, and
offers the report for download."""
from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from frbio_core import registry
from tests.e2e.conftest import reveal, start_smallest_study

STUDY_TIMEOUT_MS = 600_000


def test_the_paper_study_runs_end_to_end_from_the_reproduce_tab(app_server, shared_data, page: Page):
    db = registry.connect(app_server.home / "frbio.db")
    (app_server.data / "bench").symlink_to(shared_data / "bench", target_is_directory=True)
    page.goto(app_server.url)
    expect(page.locator("#rep-budget")).to_contain_text("under one hour on 2 CPU cores")

    start_smallest_study(page, app_server)
    steps = page.get_by_label("DAPT steps")       # the budget filled the size fields with what runs
    reveal(page, page.get_by_text("Sizes (filled by the budget; change any)"), steps)
    expect(steps).to_have_value("4")
    status = page.locator("#rep-status")
    expect(status).to_contain_text("running", timeout=30_000)
    expect(page.locator("#rep-stages")).to_contain_text("dapt: job-", timeout=180_000)
    expect(status).to_contain_text("succeeded", timeout=STUDY_TIMEOUT_MS)

    from backend.study.state import list_studies
    from frbio_core.settings import Settings

    row = list_studies(db, Settings(home=str(app_server.home), data=[str(app_server.data)]))[0]
    assert row["status"] == "succeeded" and row["config"]["budget"] == "smallest"
    # what the form showed is what ran: the preset's sizes, the JSON item limits parsed back into a mapping
    assert row["config"]["max_steps"] == 4 and row["config"]["base_model"] == "tiny"
    assert row["config"]["eval_limits"] == {name: 5 for name in row["config"]["benchmarks"]}
    report = json.loads(Path(row["report_path"]).with_suffix(".json").read_text("utf-8"))
    stages = page.locator("#rep-stages")
    for title in ("Corpus snapshot", "DAPT of the base model", "SLERP sweep", "Merged models saved",
                  "Benchmarks and perplexities", "Report"):
        expect(stages).to_contain_text(title)
    expect(stages).not_to_contain_text("pending")
    expect(page.locator("#rep-tradeoff")).to_contain_text("SLERP sweep (t)", timeout=30_000)
    results = page.locator("#rep-results")
    for model in ("base", "DAPT", "SLERP t=0.5"):
        expect(results).to_contain_text(model, timeout=30_000)
    pubmedqa = next(r for r in report["results"] if r["role"] == "dapt" and r["task"] == "frbio_pubmedqa")
    expect(results).to_contain_text(f"{pubmedqa['value']:.3f}")
    expect(page.locator("#rep-findings")).to_contain_text("vs the base, perplexity")
    artefacts = page.locator("#rep-artefacts")
    a = row["artefacts"]
    for value in (a["snapshot"], a["dapt_model"], a["merged"]["t=0.5"], row["jobs"]["train"]["dapt"]):
        expect(artefacts).to_contain_text(value)

    page.locator("#rep-download").click()
    expect(page.locator("#rep-files")).to_contain_text(".html", timeout=30_000)
    expect(page.locator("#rep-files")).to_contain_text(".json")
