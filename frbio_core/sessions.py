"""Logins and sessions on the web: throttled guessing, and sessions that follow their account.

- Throttle: after FREE_FAILURES failed logins within WINDOW_S for an account, or from one client address, each
  further attempt must wait a delay that doubles with every failure (1 s, 2 s, 4 s, … up to MAX_DELAY_S) after the
  last one; an attempt inside the delay is refused without checking the password. Every attempt is audited with
  the address ('login', 'login_failed', 'login_throttled'). Nothing sleeps: the server stays responsive.
- Sessions: `SessionTokens` replaces gradio's token table (token → user name). Every lookup, i.e. every request of
  a logged-in browser, checks the account: a session of a disabled or deleted account, one opened before its
  password changed (users.sessions_valid_after), or one idle longer than `idle_s` is over at once.
"""
from __future__ import annotations

import threading
import time

from frbio_core import users

FREE_FAILURES = 3
WINDOW_S = 15 * 60
MAX_DELAY_S = 300.0


def _failures(db, name: str, address: str | None, since: float) -> tuple[int, float]:
    """(failed attempts, time of the last one) for the account or the address since `since`."""
    clauses, params = ["target = ?"], [name or ""]
    if address:
        clauses.append("json_extract(detail, '$.address') = ?")
        params.append(address)
    row = db.execute(f"SELECT COUNT(*), MAX(at) FROM audit WHERE action = 'login_failed' AND at >= ? AND "
                     f"({' OR '.join(clauses)})", [since, *params]).fetchone()
    return int(row[0] or 0), float(row[1] or 0.0)


def wait_before_next(db, name: str, address: str | None, now: float | None = None) -> float:
    """Seconds before the next attempt for this account or address may be checked (0: now)."""
    now = time.time() if now is None else now
    failures, last = _failures(db, name, address, now - WINDOW_S)
    if failures < FREE_FAILURES:
        return 0.0
    delay = min(MAX_DELAY_S, 2.0 ** (failures - FREE_FAILURES))
    return max(0.0, last + delay - now)


def login(db, name: str, password: str, address: str | None = None) -> bool:
    """Whether `name`/`password` may log in now (throttled as above); audited with `address`."""
    with users.acting_from(address or users.CLIENT_ADDRESS.get()):
        wait = wait_before_next(db, name, users.CLIENT_ADDRESS.get())
        if wait > 0:
            users.audit(db, None, "login_throttled", name or "(no name)", retry_after_s=round(wait, 1))
            return False
        return users.authenticate(db, name, password)


class SessionTokens(dict):
    """gradio's `app.tokens` (token → user name), checking the account at every `get` — what gradio calls to know
    who a request comes from (see the module doc). Item access and `in` stay plain (gradio's logout uses them)."""

    def __init__(self, db_path, idle_s: float, clock=time.time):
        super().__init__()
        self.db_path, self.idle_s, self.clock = db_path, idle_s, clock
        self._issued: dict[str, float] = {}
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    def _db(self):
        from frbio_core import registry

        if getattr(self._local, "db", None) is None:
            self._local.db = registry.connect(self.db_path)
        return self._local.db

    def __setitem__(self, token: str, user: str) -> None:
        with self._lock:
            now = self.clock()
            self._issued[token] = self._seen[token] = now
            super().__setitem__(token, user)

    def __delitem__(self, token: str) -> None:
        with self._lock:
            self._issued.pop(token, None)
            self._seen.pop(token, None)
            super().__delitem__(token)

    def _valid(self, token: str, user: str) -> bool:
        row = users.find_user(self._db(), user)
        now = self.clock()
        if row is None or row["disabled"] or self._issued.get(token, 0.0) <= (row.get("sessions_valid_after") or 0):
            return False
        return now - self._seen.get(token, now) <= self.idle_s

    def get(self, token, default=None):
        user = super().get(token) if token is not None else None
        if user is None:
            return default
        if not self._valid(token, user):
            with self._lock:
                if super().get(token) == user:
                    self._issued.pop(token, None)
                    self._seen.pop(token, None)
                    super().__delitem__(token)
            return default
        self._seen[token] = self.clock()
        return user
