"""A broken registry and a full disk at the command line and at start-up (issue 13, rows 11 and 13): one clear line
and exit status 2, never a traceback; nothing half-written is left (no `.part` upload); a mistyped --home says so
instead of creating an empty registry. The disk is a small tmpfs filled for real (as root; skipped otherwise)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import backend.kinds  # noqa: F401  (registers the job kinds, for store.submit)
from frbio_core import registry, users
from frbio_core.settings import PROJECT_ROOT
from jobs import store
from tests.data_helpers import mount_tmpfs

ENV = {k: v for k, v in os.environ.items() if not k.startswith("FRBIO_")}


def cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend", "--home", str(home), *args], cwd=PROJECT_ROOT, env=ENV,
                          input=stdin, capture_output=True, text=True, timeout=300)


def one_clear_line(out: subprocess.CompletedProcess, *words: str) -> bool:
    lines = out.stderr.strip().splitlines()
    return (out.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in
            out.stderr and all(w in lines[0] for w in words))


def test_a_corrupt_registry_and_a_mistyped_home_get_one_line(tmp_path, figures):
    home = tmp_path / "home"
    home.mkdir()
    (home / "frbio.db").write_bytes(b"this is not an SQLite database, whatever happened to it" * 100)
    outs = {cmd: cli(home, *cmd.split()) for cmd in ("jobs list", "jobs show job-000001", "models list")}
    outs["users add"] = cli(home, "users", "add", "carol", "--password-stdin", stdin="long enough\n")
    start = subprocess.run([sys.executable, "app.py", "--home", str(home), "--port", "1", "--no-import-default-model"],
                           cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    clear = {cmd: one_clear_line(out, "cannot be used", "backup") for cmd, out in outs.items()}
    start_clear = start.returncode != 0 and "Traceback" not in start.stderr and "cannot be used" in start.stderr
    figures("corrupt registry: jobs list/show, models list, users add, app start", f"{sum(clear.values())}/4 one "
            f"line, start {'one line' if start_clear else 'TRACEBACK'}", "one line each", all(clear.values()) and
            start_clear)
    assert all(clear.values()), {c: o.stderr for c, o in outs.items()}
    assert start_clear, start.stderr

    typo = tmp_path / "hmoe"
    for cmd in ("jobs list", "models list", "users list"):
        out = cli(typo, *cmd.split())
        assert one_clear_line(out, f"no FrBio Studio registry in {typo}", "check --home"), out.stderr
    assert not typo.exists()


def fill(path: Path, leave: int) -> None:
    """A ballast file that leaves about `leave` bytes free on its file system (to the last byte for 0)."""
    with open(path, "wb") as f:
        try:
            while (free := shutil.disk_usage(path.parent).free) > leave:
                f.write(b"\0" * min(65536, max(4096, free - leave)))
                f.flush()
        except OSError:
            pass


@pytest.fixture
def small_disk(tmp_path):
    home = tmp_path / "home"
    if not mount_tmpfs(home, 8):
        pytest.skip("mounting a tmpfs needs root")
    yield home
    subprocess.run(["umount", "-l", str(home)], capture_output=True)


def test_a_full_disk_gets_one_line_and_leaves_no_partial_upload(small_disk, tmp_path, figures):
    home = small_disk
    db = registry.connect(home / "frbio.db")
    users.add_user(db, "alice", "long enough")
    job = store.submit(db, home, "model_download", {"repo_id": "alice/model"}, owner="alice")
    corpus = tmp_path / "notes.jsonl"       # bigger than what is left
    corpus.write_text("".join(json.dumps({"text": f"Compte rendu {i} : patient stable, pas de fièvre."}) + "\n"
                              for i in range(40_000)), "utf-8")
    db.conn.close()
    fill(home / "ballast-1", leave=256 * 1024)     # room for the registry, not for the upload
    outs = {"corpus add": cli(home, "corpus", "add", str(corpus), "--name", "notes")}
    fill(home / "ballast-2", leave=0)              # then not a byte
    outs |= {"users add": cli(home, "users", "add", "carol", "--password-stdin", stdin="long enough\n"),
             "jobs list": cli(home, "jobs", "list"), "jobs show": cli(home, "jobs", "show", job)}
    clean = {cmd: out.returncode in (0, 2) and "Traceback" not in out.stderr and
             (out.returncode == 0 or len(out.stderr.strip().splitlines()) == 1) for cmd, out in outs.items()}
    leftovers = [str(p.relative_to(home)) for p in home.rglob("*") if p.name.endswith(".part") or ".part-" in p.name]
    for ballast in home.glob("ballast-*"):
        ballast.unlink()
    check = registry.connect(home / "frbio.db")
    integrity = check.execute("PRAGMA integrity_check").fetchone()[0]
    kept = [u["name"] for u in users.list_users(check)]
    figures("full disk: users add, jobs list/show, corpus add", f"{sum(clean.values())}/4 clean (exit "
            f"{','.join(str(o.returncode) for o in outs.values())}), .part left {len(leftovers)}, integrity "
            f"{integrity}", "one line or success, 0, ok", all(clean.values()) and not leftovers and integrity == "ok")
    assert all(clean.values()), {c: (o.returncode, o.stderr[-600:]) for c, o in outs.items()}
    assert outs["corpus add"].returncode == 2 and "could not store the upload" in outs["corpus add"].stderr
    assert not leftovers and integrity == "ok" and "alice" in kept
