"""Accounts (the `users` table) and the audit log (the `audit` table).

Passwords are stored as `scrypt$N$r$p$<salt>$<hash>` (hashlib.scrypt, 16 random bytes of salt, base64); checking one
costs the same whether the account exists or not, and compares in constant time. Who may manage what:
`can_manage(db, actor, owner)` — the owner, an admin, or a trusted local caller (actor None: the CLI run by whoever
has shell access to frbio_home, who could edit the database anyway). While no account exists (a single-user install
on 127.0.0.1) everyone may manage everything; ownership is enforced from the first account on.
"""
from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any

from frbio_core import registry
from frbio_core.errors import PermissionDenied, UserError  # noqa: F401  (users.UserError, users.PermissionDenied)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1     # ~16 MiB and ~50 ms per check
MIN_PASSWORD = 8
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
LANGUAGES = ("fr", "en")
PUBLIC_FIELDS = ("name", "is_admin", "disabled", "language", "created_at", "sessions_valid_after")


# ---------------------------------------------------------------------------------------------------- passwords

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored` (constant-time comparison; False for a malformed hash)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


_DUMMY = hash_password("not a password", salt=b"\0" * 16)   # checked for unknown names: same cost either way


# ------------------------------------------------------------------------------------------------------- writes

_write = registry.execute
_rows = registry.rows


# ------------------------------------------------------------------------------------------------------ accounts

RESERVED = ("local",)   # the owner of what a single-user install (no account) makes


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if name.lower() in RESERVED:
        raise UserError(f"'{name}' is reserved (the owner of what a single-user install makes); choose another name")
    if not NAME_RE.match(name):
        raise UserError(f"'{name}' is not a valid user name (letters, digits, '.', '_', '-', '@'; at most 64 "
                        "characters, starting with a letter or digit)")
    return name


def _check_password(password: str | None) -> str:
    if not password or len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise UserError("a password has at most 1024 characters")
    return password


def find_user(db, name: str | None) -> dict | None:
    """The account without its password hash, or None."""
    if not name:
        return None
    rows = _rows(db, f"SELECT {', '.join(PUBLIC_FIELDS)} FROM users WHERE name = ?", [name])
    return rows[0] if rows else None


def get_user(db, name: str) -> dict:
    row = find_user(db, name)
    if row is None:
        raise UserError(f"unknown user '{name}'")
    return row


def list_users(db) -> list[dict]:
    return _rows(db, f"SELECT {', '.join(PUBLIC_FIELDS)} FROM users ORDER BY name")


def any_users(db) -> bool:
    return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def add_user(db, name: str, password: str, *, admin: bool = False, language: str | None = None,
             actor: str | None = None) -> dict:
    name, password = _check_name(name), _check_password(password)
    if language is not None and language not in LANGUAGES:
        raise UserError(f"language: '{language}' is not one of {', '.join(LANGUAGES)}")
    cursor = _write(db, "INSERT OR IGNORE INTO users (name, password_hash, is_admin, disabled, language, created_at) "
                        "VALUES (?, ?, ?, 0, ?, ?)", [name, hash_password(password), int(admin), language, time.time()])
    if cursor.rowcount == 0:
        raise UserError(f"user '{name}' already exists")
    audit(db, actor, "user_add", name, admin=bool(admin))
    return get_user(db, name)


def _set(db, name: str, action: str, actor: str | None, **fields: Any) -> dict:
    get_user(db, name)
    _write(db, "UPDATE users SET " + ", ".join(f"{k} = ?" for k in fields) + " WHERE name = ?",
           [*fields.values(), name])
    audit(db, actor, action, name, **{k: v for k, v in fields.items() if k != "password_hash"})
    return get_user(db, name)


def set_disabled(db, name: str, disabled: bool = True, actor: str | None = None) -> dict:
    """A disabled account cannot log in, and its open sessions end at their next request; its jobs, models and
    snapshots stay (an admin can still manage them)."""
    extra = {"sessions_valid_after": time.time()} if disabled else {}
    return _set(db, name, "user_disable" if disabled else "user_enable", actor, disabled=int(disabled), **extra)


def set_admin(db, name: str, admin: bool = True, actor: str | None = None) -> dict:
    return _set(db, name, "user_admin" if admin else "user_unadmin", actor, is_admin=int(admin))


def set_password(db, name: str, password: str, actor: str | None = None) -> dict:
    """A new password; every session opened with the old one ends at its next request."""
    return _set(db, name, "user_password", actor, password_hash=hash_password(_check_password(password)),
                sessions_valid_after=time.time())


def set_language(db, name: str, language: str | None, actor: str | None = None) -> dict:
    if language is not None and language not in LANGUAGES:
        raise UserError(f"language: '{language}' is not one of {', '.join(LANGUAGES)}")
    return _set(db, name, "user_language", actor, language=language)


def authenticate(db, name: str, password: str) -> bool:
    """Whether `name`/`password` may log in (an enabled account with that password). Audited either way (with the
    client's address when the web layer set it). Throttling is frbio_core.sessions'."""
    row = db.execute("SELECT password_hash, disabled FROM users WHERE name = ?", [name or ""]).fetchone()
    ok = verify_password(password or "", row[0] if row else _DUMMY)
    ok = bool(row) and ok and not row[1]
    audit(db, name if row else None, "login" if ok else "login_failed", name if row else "(unknown user)")
    return ok


def is_admin(db, name: str | None) -> bool:
    row = db.execute("SELECT is_admin, disabled FROM users WHERE name = ?", [name or ""]).fetchone()
    return bool(row and row[0] and not row[1])


# --------------------------------------------------------------------------------------------------- permissions

# Who may do an action: anyone who reached the app ("read": it changes nothing), anyone logged in ("user"), the
# owner of what it changes or an admin ("owner"), an admin ("admin"). A trusted local caller (actor None: the
# command line run by whoever has shell access to frbio_home) counts as an admin; while no account exists (a
# single-user install on 127.0.0.1) everyone may do everything.
RULES = ("read", "user", "owner", "admin")


def allowed(db, actor: str | None, rule: str, owner: str | None = None) -> bool:
    """Whether `actor` may do something under `rule` (see above). Once accounts exist, only an enabled account
    (or the trusted local caller) may change anything: a disabled account's `--as` or session is refused."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}")
    if rule == "read" or actor is None or not any_users(db):
        return True
    account = find_user(db, actor)
    if account is None or account["disabled"]:
        return False
    if rule == "user" or account["is_admin"]:
        return True
    return rule == "owner" and owner is not None and actor == owner


def require(db, actor: str | None, rule: str, action: str, what: str = "", owner: str | None = None,
            target: str | None = None) -> None:
    """PermissionDenied worded for the person (and an audit row 'refused' with the account, the action, the target
    (`target`, else `what`) and, from the web, the address) unless `actor` may `action` `what` under `rule`."""
    if allowed(db, actor, rule, owner):
        return
    audit(db, actor, "refused", target or what or None, attempted=action, rule=rule, owner=owner)
    account = find_user(db, actor)
    if account is None or account["disabled"]:
        raise PermissionDenied(f"'{actor}' is not an enabled account here: it cannot {action}")
    if rule == "admin":
        raise PermissionDenied(f"only an admin can {action}" + (f" ({what})" if what else ""))
    raise PermissionDenied(f"you cannot {action} {what}: it belongs to {owner or 'nobody (a command-line job)'};"
                           f" only its owner or an admin can {action} it")


def can_manage(db, actor: str | None, owner: str | None) -> bool:
    """Whether `actor` may cancel, resume, delete or replace something owned by `owner`."""
    return allowed(db, actor, "owner", owner)


def require_can_manage(db, actor: str | None, owner: str | None, action: str, what: str,
                       target: str | None = None) -> None:
    """PermissionDenied, worded for the user, when `actor` may not `action` `what` (e.g. 'cancel', 'job job-000003');
    the refusal is audited (under `target`, e.g. the job id)."""
    require(db, actor, "owner", action, what, owner, target)


def require_admin(db, actor: str | None, action: str, what: str = "") -> None:
    """Admins only (a trusted local caller, actor None, counts as one); the refusal is audited."""
    require(db, actor, "admin", action, what)


# ---------------------------------------------------------------------------------------------------------- audit

CLIENT_ADDRESS: contextvars.ContextVar[str | None] = contextvars.ContextVar("frbio_client_address", default=None)


@contextlib.contextmanager
def acting_from(address: str | None):
    """Within the block, audit rows record `address` (the web client's) as where the request came from."""
    token = CLIENT_ADDRESS.set(address)
    try:
        yield
    finally:
        CLIENT_ADDRESS.reset(token)


def audit(db, actor: str | None, action: str, target: str | None = None, **detail: Any) -> None:
    """One row in the audit log: who did what to which job, model, snapshot or account (and, from the web, the
    client's address)."""
    if CLIENT_ADDRESS.get() and "address" not in detail:
        detail["address"] = CLIENT_ADDRESS.get()
    _write(db, "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
           [time.time(), actor, action, target,
            json.dumps(detail, ensure_ascii=False, default=str) if detail else None])


def list_audit(db, limit: int = 100, actor: str | None = None, action: str | None = None,
               target: str | None = None) -> list[dict]:
    """Audit rows, newest first; filters combine."""
    where, params = [], []
    for column, value in (("actor", actor), ("action", action), ("target", target)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = "SELECT * FROM audit" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC"
    rows = _rows(db, sql + (f" LIMIT {int(limit)}" if limit else ""), params)
    for row in rows:
        if row["detail"]:
            try:
                row["detail"] = json.loads(row["detail"])
            except ValueError:
                pass
    return rows
