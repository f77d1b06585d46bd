"""A study is jobs with dependencies, and the three places that act on jobs act on it alike: started from the
Reproduce tab, it appears in the Jobs tab as its own job with its parts; cancelled from the Jobs tab, every part
stops and the Reproduce tab says so; resumed from the Reproduce tab, it runs again; and `python -m backend jobs`
resumes and cancels it too."""
from __future__ import annotations

import subprocess
import sys

from playwright.sync_api import expect

from frbio_core import registry
from jobs import store
from tests.data_helpers import wait_for
from tests.e2e.conftest import PROJECT_ROOT, pick_job, start_smallest_study


def study_parts(db, study_id: str) -> dict[str, dict]:
    return {row["label"]: row for row in store.children(db, study_id)}


def test_a_study_is_cancelled_and_resumed_from_the_jobs_tab_the_reproduce_tab_and_the_cli(app_server, page):
    db = registry.connect(app_server.home / "frbio.db")
    study = start_smallest_study(page, app_server)
    parts = study_parts(db, study)
    assert {"snapshot", "train", "sweep", "merge t=0.5", "merge best"} <= set(parts)
    assert store.get(db, study)["depends_on"] == [p["id"] for p in store.children(db, study)]

    # the Jobs tab lists the study and its parts, each saying what it is part of
    pick_job(page, study)
    table = page.locator("#jobs-table-all")
    expect(table).to_contain_text(f"{study} · snapshot")
    expect(table).to_contain_text(f"{study} · train")
    page.locator("#job-cancel-all").click()
    expect(page.locator("#job-msg-all")).to_contain_text(f"Cancelled {study}.", timeout=30_000)
    wait_for(lambda: all(p["status"] in store.FINAL for p in study_parts(db, study).values()), 30,
             "every part of the study stopped")
    statuses = {label: p["status"] for label, p in study_parts(db, study).items()}
    assert store.get(db, study)["status"] == "cancelled" and statuses["train"] == "cancelled", statuses
    assert set(statuses.values()) <= {"cancelled", "succeeded"}, statuses     # the snapshot may have finished

    # the Reproduce tab sees it cancelled, and resumes it
    page.get_by_role("tab", name="Reproduce the paper").click()
    expect(page.locator("#rep-status")).to_contain_text(study)          # still the one started here
    expect(page.locator("#rep-status")).to_contain_text("cancelled", timeout=30_000)
    page.locator("#rep-resume").click()
    expect(page.locator("#rep-start-msg")).to_contain_text("resumed", timeout=30_000)
    expect(page.locator("#rep-status")).to_contain_text("running", timeout=30_000)
    assert store.get(db, study)["status"] == "queued" and store.get(db, study)["attempt"] == 2

    # and the command line acts on the same job
    cli = [sys.executable, "-m", "backend", "--home", str(app_server.home), "jobs"]
    done = subprocess.run(cli + ["cancel", study], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    wait_for(lambda: all(p["status"] in store.FINAL for p in study_parts(db, study).values()), 30, "parts final")
    expect(page.locator("#rep-status")).to_contain_text("cancelled", timeout=30_000)
    done = subprocess.run(cli + ["resume", study, "--json"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and '"status": "queued"' in done.stdout, done.stderr
    page.locator("#rep-cancel").click()
    expect(page.locator("#rep-start-msg")).to_contain_text("cancelled (resumable)", timeout=30_000)
