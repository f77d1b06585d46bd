"""Security of the app as launched: logins are required beyond 127.0.0.1 (the app refuses to start without an
account, unless the loudly named insecure flag is given), the login check is the users table, no folder is served
by path, downloads come from artefact folders only (no traversal, no symlink out), uploads are capped, analytics off."""
import os
import subprocess
import sys

import pytest

import app
from frbio_core import registry, users
from frbio_core.settings import PROJECT_ROOT, Settings
from backend.studio import Studio
from frbio_ui import downloads


def settings(tmp_path, **kw) -> Settings:
    return Settings(home=str(tmp_path / "home"), import_default_model=False, **kw)


def test_auth_is_required_beyond_loopback_and_checks_the_users_table(tmp_path, capsys):
    local = settings(tmp_path)
    db = registry.connect(local.db_path)
    assert app.auth_kwargs(local, db) == {}                               # 127.0.0.1: single-user
    public = settings(tmp_path, host="0.0.0.0")
    with pytest.raises(SystemExit, match="refusing to start on 0.0.0.0 without login: no enabled account"):
        app.auth_kwargs(public, db)
    with pytest.raises(SystemExit, match="with --auth"):
        app.auth_kwargs(settings(tmp_path, auth=True), db)
    insecure = settings(tmp_path, host="0.0.0.0", insecure_no_auth_on_public_address=True)
    assert app.auth_kwargs(insecure, db) == {}
    assert "WITHOUT LOGIN" in capsys.readouterr().err

    users.add_user(db, "alice", "long enough")
    check = app.auth_kwargs(public, db)["auth"]
    assert check("alice", "long enough") and not check("alice", "wrong") and not check("mallory", "long enough")
    users.set_disabled(db, "alice")
    assert not check("alice", "long enough")
    with pytest.raises(SystemExit, match="no enabled account"):            # only a disabled account: refused
        app.auth_kwargs(public, db)


def test_the_app_process_refuses_a_public_address_without_accounts(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRBIO_")}
    out = subprocess.run([sys.executable, "app.py", "--host", "0.0.0.0", "--port", "1", "--home",
                          str(tmp_path / "home"), "--no-import-default-model"], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "refusing to start on 0.0.0.0 without login" in out.stderr
    assert "users add NAME --admin" in out.stderr


def test_launch_serves_no_folder_by_path_blocks_the_registry_and_caps_uploads(tmp_path):
    from frbio_ui.app_ui import launch_kwargs

    studio = Studio(settings(tmp_path, max_upload_mb=3, language="fr"))
    kw = launch_kwargs(studio)
    assert kw["allowed_paths"] == [] and str(studio.settings.db_path) in kw["blocked_paths"]
    assert kw["max_file_size"] == "3mb" and kw["enable_monitoring"] is False
    assert '"fr"' in kw["js"]                                              # the clinician demo default
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_downloads_come_from_artefact_folders_only(tmp_path):
    home = tmp_path / "home"
    (home / "snapshots" / "snap-1").mkdir(parents=True)
    card = home / "snapshots" / "snap-1" / "README.md"
    card.write_text("a dataset card")
    (home / "frbio.db").write_text("secret registry")
    (home / "uploads").mkdir()
    (home / "uploads" / "notes.jsonl").write_text("private")
    (home / "snapshots" / "snap-1" / "escape").symlink_to(home / "frbio.db")
    copies = downloads.offer(home, [card])
    assert open(copies[0]).read() == "a dataset card" and not copies[0].startswith(str(home))
    for bad in (home / "frbio.db", home / "snapshots" / "snap-1" / ".." / ".." / "frbio.db",
                home / "snapshots" / "snap-1" / "escape", home / "uploads" / "notes.jsonl", "/etc/passwd",
                home / "snapshots" / "snap-1", home / "snapshots" / "missing.parquet"):
        with pytest.raises(downloads.DownloadError):
            downloads.offer(home, [bad])
