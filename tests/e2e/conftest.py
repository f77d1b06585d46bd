"""Browser tests: the real app (`python app.py`) in a subprocess, driven by Playwright through Debian's chromium.

Every test gets its own server with a fresh home (default model already in place, so startup takes seconds) and a
small data folder of symlinks into the shared corpus (three small commercial sources, one research-only source,
two general-domain files), so a snapshot builds in seconds.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("FRBIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CORPUS = ["mantra_gsc", "pxcorpus", "ScopeSanteQualite",  # commercial (CC BY 4.0, Etalab)
          "WMT-18-Medline"]                               # research only (CC BY-NC)
GENERAL = ["UD_French-ParisStories.train", "UD_French-Sequoia.dev"]
STARTUP_TIMEOUT_S = 120


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell in teardown whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@dataclass
class AppServer:
    url: str
    home: Path
    data: Path
    log: Path
    users: dict[str, str] = field(default_factory=dict)   # name → password, when logins are on


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _small_data_folder(shared: Path, root: Path) -> Path:
    for sub, stems in (("corpus", CORPUS), ("general", GENERAL)):
        (root / sub).mkdir(parents=True)
        (root / sub / "sources.json").symlink_to(shared / sub / "sources.json")
        for stem in stems:
            (root / sub / f"{stem}.jsonl.gz").symlink_to(shared / sub / f"{stem}.jsonl.gz")
    return root


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app.py exited with code {proc.returncode} before serving:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.3)
    pytest.fail(f"app.py not serving {url} after {STARTUP_TIMEOUT_S} s:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


@contextlib.contextmanager
def running_app(request, home: Path, data: Path, tmp_path: Path, args: Sequence[str] = (),
                env: dict[str, str] | None = None) -> Iterator[AppServer]:
    """`python app.py` on a free port over `home` and `data` (plus `args` and FRBIO_* variables in `env`), stopped
    on exit; its log is printed when the test failed."""
    port = _free_port()
    log = tmp_path / "app.log"
    base = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "GRADIO_TEMP_DIR": str(tmp_path / "gradio_tmp"), "PYTHONUNBUFFERED": "1"}
    base = {k: v for k, v in base.items() if not k.startswith("FRBIO_")}  # flags and `env` are the whole configuration
    cmd = [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port), "--home", str(home),
           "--data", str(data), *args]  # the default model is already in the home: start-up only registers it
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env={**base, **(env or {})}, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, proc, log)
        yield AppServer(url=url, home=home, data=data, log=log)
    finally:
        _stop(proc)
        failed = any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
        if failed:
            print(f"\n----- app log ({log}) -----\n{log.read_text(errors='replace')}")


@pytest.fixture
def app_server(request, make_home, shared_data, tmp_path) -> AppServer:
    """A running FrBio Studio on a free port; yields its URL, home, data folder and log file."""
    with running_app(request, make_home(tmp_path / "home"), _small_data_folder(shared_data, tmp_path / "data"),
                     tmp_path) as server:
        yield server


@pytest.fixture
def auth_app_server(request, make_home, shared_data, tmp_path) -> AppServer:
    """As `app_server`, with logins on (`--auth`) and two ordinary accounts, alice and bob (passwords in
    `.users`); the test job kinds (tests.jobkinds) are known to the app and its workers."""
    from frbio_core import registry, users
    from tests.jobkinds import MODULE

    home = make_home(tmp_path / "home")
    db = registry.connect(home / "frbio.db")
    accounts = {"alice": "alice-password", "bob": "bob-password"}
    for name, password in accounts.items():
        users.add_user(db, name, password)
    db.conn.close()
    with running_app(request, home, _small_data_folder(shared_data, tmp_path / "data"), tmp_path, args=["--auth"],
                     env={"FRBIO_JOB_KIND_MODULES": MODULE}) as server:
        server.users = accounts
        yield server


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-test.txt")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium (never `playwright install` here)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page, 1400x1000, English UI. Actions and `expect` wait up to 30 s for the state
    they need (a busy machine, or the suite's two workers side by side, can take more than Playwright's 5 s)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


# --- acting on the page: wait for the state an action relies on, never for a time --------------------------------
#
# Gradio shows the components of a tab or an accordion when it is opened, and one animation frame later sets them
# again from its own state: a value typed in between is lost (on a busy machine frames come late and that window
# widens), and an action clicked next runs on the old value. Gradio reads a box's value when an action is clicked,
# so a value the box shows once that reset is past is the value the action gets.

NEXT_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done())))"


def frames_drawn(page) -> None:
    """Wait until the page has drawn two more animation frames (what gradio waits for before the reset above)."""
    page.evaluate(NEXT_FRAMES)


def reveal(page, trigger, shown) -> None:
    """Click `trigger` (a tab, an accordion's header) and wait until gradio has finished showing what it opens:
    `shown` (a component inside) visible and the frame after which gradio resets the shown values drawn."""
    from playwright.sync_api import expect

    trigger.click()
    expect(shown).to_be_visible()
    frames_drawn(page)


def open_tab(page, name: str, shown) -> None:
    """`reveal` the tab called `name`, `shown` being a component inside it."""
    reveal(page, page.get_by_role("tab", name=name), shown)


def commit(page, field, value) -> None:
    """Type `value` into the text or number box `field` and leave it (blur, as Tab or a click elsewhere does, without
    focusing anything else), then wait until the app holds it: the box shows it, and still does once two more frames
    are drawn (nothing set it back)."""
    from playwright.sync_api import expect

    text = str(value)
    field.fill(text)
    field.blur()
    expect(field).to_have_value(text)
    frames_drawn(page)
    expect(field).to_have_value(text)


def number_box(page, label: str):
    """The (first) number box whose label starts with `label`."""
    return page.get_by_role("spinbutton", name=re.compile(rf"^{re.escape(label)}")).first


def set_number(page, label: str, value) -> None:
    """`commit` `value` to the `number_box` labelled `label`."""
    commit(page, number_box(page, label), value)


def choose_option(page, box, value: str) -> None:
    """Pick `value` in the dropdown whose text box is `box` by typing it and pressing Enter, once it is among the
    choices (they may be refreshed on page load), then wait until the box shows it."""
    from playwright.sync_api import expect

    box.fill(value)
    choices = page.locator(f'[id="{box.get_attribute("aria-controls")}"]')   # this dropdown's list of choices
    expect(choices.get_by_role("option", name=value, exact=True)).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value(value)
    frames_drawn(page)
    expect(box).to_have_value(value)


def start_smallest_study(page, server) -> str:
    """On the Reproduce tab: the `smallest` budget, a tiny random model (SmolLM2's tokenizer, registered as `tiny`)
    to specialise, Start; returns the study's id once the page says it started."""
    from playwright.sync_api import expect

    from backend.default_model import DEFAULT_MODEL_NAME
    from backend.models.importing import make_tiny_model
    from frbio_core import registry

    make_tiny_model(server.home, "tiny", seed=0, tokenizer_from=server.home / "models" / DEFAULT_MODEL_NAME,
                    db=registry.connect(server.home / "frbio.db"))
    page.goto(server.url)
    expect(page.get_by_role("tab", name="Reproduce the paper")).to_have_attribute("aria-selected", "true")
    page.get_by_label("smallest").check()
    expect(page.locator("#rep-budget")).to_contain_text("smoke test", timeout=30_000)
    expect(page.locator("#rep-budget")).to_contain_text("4 steps × 2 blocks × 64 tokens")
    base = page.get_by_label("Model to specialise")
    base.fill("tiny")
    base.press("Enter")
    expect(page.locator("#rep-budget")).to_contain_text("DAPT of tiny", timeout=30_000)
    page.locator("#rep-start").click()
    expect(page.locator("#rep-start-msg")).to_contain_text("started", timeout=30_000)
    return re.search(r"job-\d+", page.locator("#rep-start-msg").inner_text()).group(0)


def pick_job(page, job_id: str) -> None:
    """Open the Jobs tab and select `job_id` in its job list (its status line then shows it)."""
    from playwright.sync_api import expect

    open_tab(page, "Jobs", page.locator("#jobs-table-all"))
    expect(page.locator("#jobs-table-all")).to_contain_text(job_id, timeout=30_000)
    pick = page.locator("#job-pick-all input")
    pick.fill(job_id)
    pick.press("Enter")
    expect(page.locator("#job-status-all")).to_contain_text(job_id, timeout=30_000)
