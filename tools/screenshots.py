"""Retake the interface screenshots of the README and docs/, in French and in English.

    .venv/bin/python tools/screenshots.py --home /path/to/a/home/with/a/study [--data ../shared/data]

Starts `app.py` on the home (read only: nothing is launched), opens each tab with `?lang=fr` then `?lang=en` in
Chromium (Playwright, /usr/bin/chromium), waits until its tables and charts are drawn, and writes
assets/screenshots/<tab>_<lang>.png (a 256-colour palette: sharp, a third of the size). The Reproduce tab shows the
home's latest study; the others what the home holds. Not part of the test suite: a home with a finished study takes
hours to make (`python -m backend reproduce`)."""
from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "screenshots"
# tab id → (its place in the tab bar, what shows it is drawn)
TABS = {"reproduce": (0, "#rep-stages"), "corpus": (1, "#sources-table"), "train": (2, "#train-launch"),
        "merge": (3, "#merge-preview"), "models": (4, "#models-table"), "compare": (5, "#cmp-run"),
        "generate": (6, "#gen-go")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(home: Path, data: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRBIO_")}
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port), "--home", str(home),
                             "--data", str(data)], cwd=ROOT, env=env, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"app.py exited ({proc.returncode}): see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"app.py not serving after 300 s: see {log}")


def save(png: bytes, path: Path) -> None:
    from PIL import Image

    Image.open(io.BytesIO(png)).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)


def shoot(url: str, tabs: list[str], languages: list[str]) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for lang in languages:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale=f"{lang}-FR"
                                    if lang == "fr" else "en-GB")
            page.goto(f"{url}?lang={lang}")
            for tab in tabs:
                place, ready = TABS[tab]
                page.get_by_role("tab").nth(place).click()
                expect(page.locator(ready)).to_be_visible(timeout=60_000)
                page.wait_for_timeout(2500)     # tables filled and charts drawn by the tab's load handlers
                page.mouse.move(0, 0)
                path = OUT / f"{tab}_tab_{lang}.png"
                save(page.screenshot(full_page=True, animations="disabled"), path)
                written.append(path)
            page.close()
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--tabs", nargs="*", choices=sorted(TABS), default=list(TABS))
    parser.add_argument("--languages", nargs="*", choices=["fr", "en"], default=["fr", "en"])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = Path("/tmp") / f"frbio-screenshots-{port}.log"
    proc = start_app(args.home, args.data, port, log)
    try:
        for path in shoot(f"http://127.0.0.1:{port}/", args.tabs, args.languages):
            print(f"{path.relative_to(ROOT)}  {path.stat().st_size / 1000:.0f} kB")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
