"""The Train tab: estimate before launch, launch a tiny DAPT run keeping a checkpoint from the browser, watch its
curve grow, see it finish, evaluate its trajectory and read the chart, and a clear refusal for an impossible
config."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from frbio_core import registry
from backend.corpus import catalogue, snapshot
from backend.corpus.recipe import Recipe
from backend.models.importing import make_tiny_model
from tests.e2e.conftest import choose_option, number_box, open_tab, reveal, set_number


def prepare(app_server) -> str:
    """A snapshot and a tiny model in the app's home (as a researcher would have from the other tabs)."""
    db = registry.connect(app_server.home / "frbio.db")
    catalogue.scan(db, [app_server.data])
    snap = snapshot.build_snapshot(db, app_server.home, Recipe(sources=["mantra_gsc", "pxcorpus"]))
    make_tiny_model(app_server.home, name="tiny-e2e", seed=1, db=db)
    return snap["snapshot_id"]


def combobox(page: Page, label: str):
    return page.get_by_role("combobox", name=re.compile(rf"^{label}"))


@pytest.fixture
def train_tab(app_server, page: Page, shared_data) -> str:
    """The Train tab open on a prepared home, the tiny model and the snapshot chosen; returns the snapshot's id."""
    (app_server.data / "bench").symlink_to(shared_data / "bench", target_is_directory=True)
    snap_id = prepare(app_server)
    page.goto(app_server.url)
    open_tab(page, "Train", combobox(page, "Base model"))
    choose_option(page, combobox(page, "Base model"), "tiny-e2e")
    choose_option(page, combobox(page, "Corpus snapshot"), snap_id)
    return snap_id


def test_launch_tiny_run_and_watch_its_curve(page: Page, train_tab):
    # the fields most people change first; the rest in labelled sections, LoRA's only while LoRA is chosen
    lora = page.locator("#group-TrainConfig-lora")
    expect(lora).to_be_hidden()
    for title in ("Optimisation", "Evaluation and checkpoints", "Precision and speed", "Several GPUs"):
        expect(page.get_by_text(title, exact=True)).to_be_visible()
    page.get_by_label("lora", exact=True).check()
    expect(lora).to_be_visible()
    page.get_by_label("full", exact=True).check()
    expect(lora).to_be_hidden()
    for label, value in (("Training steps", 40), ("Micro-batch size", 4), ("Block size", 64)):
        set_number(page, label, value)
    reveal(page, page.get_by_text("Evaluation and checkpoints", exact=True),
           number_box(page, "Evaluate perplexity every"))
    for label, value in (("Evaluate perplexity every", 10), ("Checkpoint every", 20),
                         ("Keep a checkpoint as a model every", 20)):
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
    refresh = page.get_by_role("button", name="Refresh").first
    open_tab(page, "Models", refresh)
    refresh.click()
    expect(page.locator("#models-table")).to_contain_text("dapt", timeout=30_000)
    expect(page.locator("#models-table")).to_contain_text(f"{job_id}-step20")
    expect(page.locator("#models-table")).to_contain_text("checkpoint · step 20")

    # the run's trajectory: base, the checkpoint kept at step 20, the trained model at 40
    open_tab(page, "Train", page.locator("#train-launch"))
    page.locator("#traj-accordion").get_by_text("Trajectory").click()
    expect(page.locator("#traj-follow")).to_be_visible()
    expect(page.locator("#traj-table")).to_be_hidden()      # no empty table with placeholder headers yet
    set_number(page, "Items per benchmark (empty: all)", 4)
    page.locator("#traj-evaluate").click()
    expect(page.locator("#traj-msg")).to_contain_text(re.compile("queued as|nothing to run"), timeout=30_000)
    table = page.locator("#traj-table")
    expect(table).to_contain_text("step 20", timeout=300_000)
    expect(table).to_contain_text("FrenchMedMCQA")
    expect(table).not_to_contain_text("pending")
    expect(page.locator("#traj-chart")).to_contain_text("training step")
    expect(page.locator("#traj-tradeoff")).to_contain_text("step 40")
    page.locator("#traj-show").click()
    expect(page.locator("#traj-msg")).to_contain_text("3 points (steps 0, 20, 40)", timeout=30_000)


def test_impossible_config_is_refused_before_launch(page: Page, train_tab):
    set_number(page, "Block size", 4096)  # the tiny model's context is 512
    page.locator("#train-launch").click()
    expect(page.locator("#train-msg")).to_contain_text("block_size", timeout=30_000)
    expect(page.locator("#train-msg")).to_contain_text("context length")
