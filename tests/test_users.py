"""Accounts, logins and the audit log (frbio_core.users) and their command line (`python -m backend users|audit|backup`):
passwords are stored salted and hashed, never in clear; a disabled account cannot log in; only owners and admins
manage a job; every account change and login lands in the audit log; the backup is a consistent copy."""
import json
import sqlite3
import subprocess
import sys

import pytest

from frbio_core import users
from frbio_core.settings import PROJECT_ROOT


def test_passwords_are_salted_scrypt_hashes_checked_by_authenticate(db):
    users.add_user(db, "alice", "correct horse", admin=True)
    users.add_user(db, "bob", "correct horse")
    stored = dict(db.execute("SELECT name, password_hash FROM users").fetchall())
    assert all(h.startswith("scrypt$") and "correct horse" not in h for h in stored.values())
    assert stored["alice"] != stored["bob"]                      # same password, different salt
    assert users.authenticate(db, "alice", "correct horse")
    assert not users.authenticate(db, "alice", "Correct horse")
    assert not users.authenticate(db, "nobody", "correct horse")
    assert not users.verify_password("x", "not-a-hash")
    assert "password_hash" not in users.get_user(db, "alice") and "password_hash" not in users.list_users(db)[0]


def test_disabled_accounts_cannot_log_in_and_bad_requests_are_refused(db):
    users.add_user(db, "carol", "long enough")
    users.set_disabled(db, "carol")
    assert not users.authenticate(db, "carol", "long enough")
    users.set_disabled(db, "carol", False)
    assert users.authenticate(db, "carol", "long enough")
    for call, message in ((lambda: users.add_user(db, "carol", "another one"), "already exists"),
                          (lambda: users.add_user(db, "dave", "short"), "at least 8 characters"),
                          (lambda: users.add_user(db, "../etc", "long enough"), "not a valid user name"),
                          (lambda: users.set_admin(db, "nobody"), "unknown user"),
                          (lambda: users.add_user(db, "erin", "long enough", language="de"), "language")):
        with pytest.raises(users.UserError, match=message):
            call()


def test_owners_and_admins_manage_others_do_not(db):
    assert users.can_manage(db, "anyone", "alice")              # no accounts yet: single-user install
    users.add_user(db, "alice", "long enough")
    users.add_user(db, "bob", "long enough")
    users.add_user(db, "root", "long enough", admin=True)
    assert users.can_manage(db, "alice", "alice") and users.can_manage(db, "root", "alice")
    assert users.can_manage(db, None, "alice")                   # the command line on the server
    assert not users.can_manage(db, "bob", "alice") and not users.can_manage(db, "bob", None)
    with pytest.raises(users.PermissionDenied, match="belongs to alice"):
        users.require_can_manage(db, "bob", "alice", "cancel", "job job-000001")
    users.set_disabled(db, "root")
    assert not users.can_manage(db, "root", "alice")             # a disabled admin is no admin


def test_audit_log_records_account_changes_and_logins(db):
    users.add_user(db, "alice", "long enough", actor="root")
    users.set_admin(db, "alice", actor="root")
    users.authenticate(db, "alice", "wrong password")
    users.authenticate(db, "alice", "long enough")
    rows = users.list_audit(db)
    assert [r["action"] for r in rows] == ["login", "login_failed", "user_admin", "user_add"]
    assert rows[2]["actor"] == "root" and rows[2]["detail"] == {"is_admin": 1}
    assert users.list_audit(db, action="login_failed")[0]["target"] == "alice"
    assert all("long enough" not in json.dumps(r) for r in rows)


def cli(home, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "backend", "--home", str(home), *args], cwd=PROJECT_ROOT,
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_cli_adds_lists_disables_and_backs_up(tmp_path):
    home = tmp_path / "home"
    out = cli(home, "users", "add", "alice", "--admin", "--password-stdin", "--json", stdin="s3cret-enough\n")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["is_admin"] == 1
    out = cli(home, "users", "add", "bob", "--password-stdin", stdin="short\n")
    assert out.returncode == 2 and out.stderr.strip() == "error: a password needs at least 8 characters"
    out = cli(home, "users", "add", "bob", stdin="")             # no terminal: never a password in argv
    assert out.returncode == 2 and "--password-stdin" in out.stderr
    assert cli(home, "users", "disable", "alice").returncode == 0
    listed = json.loads(cli(home, "users", "list", "--json").stdout)
    assert [(u["name"], u["disabled"]) for u in listed] == [("alice", 1)]
    audit = json.loads(cli(home, "audit", "--json").stdout)
    assert [a["action"] for a in audit] == ["user_disable", "user_add"]

    out = cli(home, "backup", str(tmp_path / "backups") + "/", "--json")
    assert out.returncode == 0, out.stderr
    copy = sqlite3.connect(json.loads(out.stdout)["path"])
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT name FROM users").fetchall() == [("alice",)]
