"""A shared server with logins (`--auth`): each person logs in through Gradio's login page; bob cannot cancel
alice's job from the Jobs tab (the jobs layer refuses and the panel says why, the job runs on), alice can."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from frbio_core import registry, users
from jobs import store
from tests.e2e.conftest import pick_job
from tests.jobkinds import MODULE  # noqa: F401  (registers test_sleep in this process, for store.submit)


@pytest.fixture
def log_in(browser: Browser, auth_app_server):
    """`log_in(name)`: a page in a fresh browser context (its own cookies) logged in as `name` through Gradio's
    login form (`password=`: try that one instead, and stay on the form); every context is closed at teardown."""
    contexts = []

    def log_in(name: str, password: str | None = None) -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        contexts.append(context)
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.goto(auth_app_server.url)
        page.get_by_label(re.compile("username", re.I)).fill(name)
        page.get_by_label(re.compile("password", re.I)).fill(password or auth_app_server.users[name])
        page.get_by_role("button", name=re.compile("^log ?in$", re.I)).click()
        if password is None:
            expect(page.get_by_role("tab", name="Jobs")).to_be_visible(timeout=60_000)
        return page

    yield log_in
    for context in contexts:
        context.close()


def cancel_from_jobs_tab(page: Page, job_id: str) -> None:
    pick_job(page, job_id)
    page.locator("#job-cancel-all").click()


def wait_status(db, job_id: str, status: str, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while (row := store.get(db, job_id))["status"] != status and time.monotonic() < deadline:
        time.sleep(0.3)
    assert row["status"] == status, row
    return row


def test_only_the_owner_cancels_a_job_from_the_browser(auth_app_server, log_in):
    db = registry.connect(auth_app_server.home / "frbio.db")
    job = store.submit(db, auth_app_server.home, "test_sleep", {"seconds": 600}, owner="alice")
    wait_status(db, job, "running")              # the app's scheduler launched it

    stranger = log_in("bob", password="alice-password")
    expect(stranger.get_by_text(re.compile("incorrect credentials", re.I))).to_be_visible(timeout=30_000)
    expect(stranger.get_by_role("tab", name="Jobs")).to_have_count(0)

    bob = log_in("bob")
    cancel_from_jobs_tab(bob, job)
    msg = bob.locator("#job-msg-all")
    expect(msg).to_contain_text(f"you cannot cancel job {job}: it belongs to alice", timeout=30_000)
    expect(msg).to_contain_text("only its owner or an admin can cancel it")
    expect(bob.locator("#job-log-all textarea")).to_have_value(re.compile("shown to its owner and admins"))
    time.sleep(1.0)
    assert store.get(db, job)["status"] == "running"        # untouched

    alice = log_in("alice")
    cancel_from_jobs_tab(alice, job)
    expect(alice.locator("#job-msg-all")).to_contain_text(f"Cancelled {job}.", timeout=30_000)
    row = wait_status(db, job, "cancelled", timeout=10)
    assert row["exit_reason"] == "cancelled by alice"
    expect(alice.locator("#job-status-all")).to_contain_text("cancelled", timeout=30_000)

    assert {r["actor"] for r in users.list_audit(db, action="login")} == {"alice", "bob"}
    assert [r["target"] for r in users.list_audit(db, action="login_failed")] == ["bob"]
    assert [(r["actor"], r["action"]) for r in reversed(users.list_audit(db, target=job))] == [
        ("alice", "launch"), ("bob", "refused"), ("alice", "cancel")]
    refused = users.list_audit(db, action="refused", target=job)[0]["detail"]
    assert refused["attempted"] == "cancel" and refused["owner"] == "alice" and refused["address"] == "127.0.0.1"
