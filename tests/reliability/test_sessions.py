"""Sessions follow accounts, and guessing is slow (issue 13, rows 3, 5, 6), on the app as served over HTTP: a
session of an account that is disabled, or whose password changes, is over at its very next request; a session idle
longer than the operator's limit is over; password guesses are checked a few times, then each further try waits a
delay that doubles, per account and per address, every attempt audited with the address; a home with accounts asks
for a login even on 127.0.0.1, and the Unix account running the app never acts for anyone."""
from __future__ import annotations

import math
import time

import pytest

from backend.studio import Studio
from frbio_core import registry, sessions, users
from frbio_core.settings import Settings
from tests.web_helpers import Browser, LiveServer

PASSWORD = "long enough"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("sessions") / "home"
    studio = Studio(Settings(home=str(home), import_default_model=False))
    for name in ("alice", "bob", "carol"):
        users.add_user(studio.db, name, PASSWORD)
    with LiveServer(studio) as server:
        config = Browser(server.url)
        assert config.login("carol", PASSWORD) == 200
        deps = {d.get("api_name"): d for d in config.config()["dependencies"]}
        config.close()
        yield studio, server, deps["my_limits"]


def test_disabling_an_account_or_changing_its_password_ends_its_sessions_at_once(served, figures):
    studio, server, endpoint = served
    bob, alice = Browser(server.url), Browser(server.url)
    assert bob.login("bob", PASSWORD) == 200 and alice.login("alice", PASSWORD) == 200
    status, output = bob.call(endpoint, [])
    assert status == 200 and "bob" in str(output)
    users.set_disabled(studio.db, "bob", actor="root")
    after_disable = bob.call(endpoint, [])[0]                  # the very next request
    assert after_disable == 401
    assert bob.login("bob", PASSWORD) == 400                    # and no new one

    assert alice.call(endpoint, [])[0] == 200
    users.set_password(studio.db, "alice", "a new long one")
    after_password = alice.call(endpoint, [])[0]
    assert after_password == 401
    again = Browser(server.url)
    assert again.login("alice", "a new long one") == 200 and again.call(endpoint, [])[0] == 200
    for b in (bob, alice, again):
        b.close()
    figures("sessions revoked after disable / password change", f"HTTP {after_disable} / {after_password} at the "
            "next request", "within one request", after_disable == after_password == 401)


def test_a_session_idle_too_long_is_over(tmp_path):
    db = registry.connect(tmp_path / "frbio.db")
    users.add_user(db, "alice", PASSWORD)
    now = [time.time()]
    tokens = sessions.SessionTokens(tmp_path / "frbio.db", idle_s=600, clock=lambda: now[0])
    tokens["t1"] = "alice"
    now[0] += 599
    assert tokens.get("t1") == "alice"                          # used: the idle time starts again
    now[0] += 599
    assert tokens.get("t1") == "alice"
    now[0] += 601
    assert tokens.get("t1") is None and "t1" not in tokens


def test_password_guessing_is_throttled_per_account_and_address_and_audited(served, figures):
    studio, server, endpoint = served
    guesser = Browser(server.url)
    started = time.monotonic()
    tries = [guesser.login("carol", f"guess number {i}") for i in range(40)]
    elapsed = time.monotonic() - started
    assert set(tries) == {400}
    checked = users.list_audit(studio.db, limit=0, action="login_failed", target="carol")
    throttled = users.list_audit(studio.db, limit=0, action="login_throttled", target="carol")
    # a check only once the delay since the last failure passed: 1 s, 2 s, 4 s, … so a burst gets a handful
    bound = sessions.FREE_FAILURES + math.ceil(math.log2(elapsed + 2)) + 1
    assert len(checked) + len(throttled) == 40 and 1 <= len(checked) <= bound
    assert {r["detail"].get("address") for r in checked + throttled} == {"127.0.0.1"}
    last = max(r["at"] for r in checked)
    for name in ("carol", "alice"):      # per account, and per address: alice from the same address waits too
        assert sessions.wait_before_next(studio.db, name, "127.0.0.1", now=last + 0.5) > 0
    assert sessions.wait_before_next(studio.db, "alice", "10.0.0.9", now=last + 0.5) == 0
    assert sessions.wait_before_next(studio.db, "carol", "10.0.0.9", now=last + sessions.MAX_DELAY_S + 1) == 0
    figures("password guesses checked (40 tried in a burst)", f"{len(checked)} of 40 in {elapsed:.1f} s; then at "
            f"most {3600 / sessions.MAX_DELAY_S:.0f}/h (delay doubling to {sessions.MAX_DELAY_S:.0f} s; was ~42/s)",
            f"<= {bound}, all audited with the address", len(checked) <= bound)


def test_a_home_with_accounts_asks_for_a_login_even_on_loopback(tmp_path, capsys):
    import app
    from frbio_ui.session import LOCAL, current_user

    settings = Settings(home=str(tmp_path / "home"), import_default_model=False)    # 127.0.0.1, no --auth
    db = registry.connect(settings.db_path)
    assert app.auth_kwargs(settings, db) == {}                  # no account: a single-user install
    users.add_user(db, "alice", PASSWORD, admin=True)
    assert callable(app.auth_kwargs(settings, db)["auth"])
    assert "logins are on" in capsys.readouterr().err
    assert current_user(None) == LOCAL and not users.allowed(db, LOCAL, "owner", owner="alice")
    with pytest.raises(users.UserError, match="'local' is reserved"):
        users.add_user(db, LOCAL, PASSWORD)
