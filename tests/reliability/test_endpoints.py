"""Every endpoint the app registers, called over HTTP as an anonymous visitor, as a colleague who owns nothing
(bob) and as the owner (alice) — issue 13's enumeration: each has a declared rule (frbio_ui.guard); the anonymous
visitor is turned away; a `read` endpoint changes nothing, whoever calls it; an `owner` or `admin` endpoint called
by bob on alice's job or model changes nothing and leaves a 'refused' audit row with his name, the action, the
target and his address; alice's own call is not refused.

State is the registry (every table but the audit log) and every file under the home, hashed before and after each
call (tests/web_helpers.state_digest)."""
from __future__ import annotations

import pytest

from backend.generation.sessions import create_session
from backend.models.importing import make_tiny_model
from backend.studio import Studio
from frbio_core import users
from frbio_core.settings import Settings
from frbio_ui import guard
from jobs import store
from tests.web_helpers import Browser, LiveServer, state_digest

PASSWORD = "long enough"


@pytest.fixture(scope="module")
def served(tmp_path_factory, small_data):
    home = tmp_path_factory.mktemp("endpoints") / "home"
    studio = Studio(Settings(home=str(home), data=[str(small_data)], import_default_model=False))
    studio.scan_sources()
    for name, admin in (("alice", False), ("bob", False), ("root", True)):
        users.add_user(studio.db, name, PASSWORD, admin=admin)
    model = make_tiny_model(home, name="alice-model", tokenizer_from=None, db=studio.db, owner="alice")
    job = store.submit(studio.db, home, "model_download", {"repo_id": "alice/some-model"}, owner="alice")
    study = store.submit(studio.db, home, "study", {}, owner="alice")
    other = make_tiny_model(home, name="alice-model-2", seed=1, tokenizer_from=None, db=studio.db, owner="alice")
    session = create_session(studio.db, "alice-session", ["Qu'est-ce qu'une HTA ?"], [model["id"], other["id"]],
                             owner="alice", settings={"max_new_tokens": 2})
    with LiveServer(studio) as server:       # its scheduler is never started: alice's jobs stay queued
        yield {"studio": studio, "server": server, "targets": {"job": job, "model": model["id"], "study": study,
                                                               "arena_session": session["name"]}}


def inputs_for(dep: dict, components: dict, rule: dict | None, targets: dict) -> list:
    """The page's current values for the handler's inputs, with the input naming what it acts on set to alice's."""
    data = [components.get(i) for i in dep["inputs"]]
    if rule and rule["rule"] == "owner":
        data[rule["target"]] = targets[rule["kind"]]
    return data


def refused_count(db, actor: str) -> int:
    """Refusals under a rule (not e.g. a publish refused for want of a token)."""
    return sum("rule" in (r["detail"] or {}) for r in users.list_audit(db, limit=0, actor=actor, action="refused"))


def test_every_endpoint_has_a_rule_and_no_one_changes_what_they_may_not(served, figures):
    studio, server, targets = served["studio"], served["server"], served["targets"]
    alice, bob, anonymous = Browser(server.url), Browser(server.url), Browser(server.url)
    assert alice.login("alice", PASSWORD) == 200 and bob.login("bob", PASSWORD) == 200
    config = bob.config()
    components = {c["id"]: c.get("props", {}).get("value") for c in config["components"]}
    deps = [d for d in config["dependencies"] if d.get("backend_fn")]
    rules = {d["id"]: guard.rule_of(server.demo.fns[d["id"]].fn) for d in deps}
    internal = {d["id"] for d in deps if type(server.demo.fns[d["id"]].fn).__qualname__ == "method"
                and server.demo.fns[d["id"]].fn.__qualname__ == "Renderable.apply"}   # gradio's own re-render
    undeclared = [(d["id"], d.get("api_name")) for d in deps if rules[d["id"]] is None and d["id"] not in internal]
    assert undeclared == [], f"endpoints without a declared rule: {undeclared}"

    turned_away = sum(anonymous.call(d, inputs_for(d, components, rules[d["id"]], targets))[0] in (401, 403)
                      for d in deps)
    unauthorised, refused, refused_audited, problems = 0, 0, 0, []
    for dep in deps:
        rule = rules[dep["id"]] or {"rule": "read"}
        data = inputs_for(dep, components, rules[dep["id"]], targets)
        before, audited = state_digest(studio), refused_count(studio.db, "bob")
        status, output = bob.call(dep, data)
        changed = state_digest(studio) != before
        if rule["rule"] in ("owner", "admin"):
            refused += 1
            new = users.list_audit(studio.db, limit=1, actor="bob", action="refused")
            if refused_count(studio.db, "bob") > audited and new[0]["detail"].get("address") == "127.0.0.1":
                refused_audited += 1
            else:
                problems.append(f"{dep.get('api_name')}: bob's refused call left no audit row with his address")
        if changed and rule["rule"] != "user":
            unauthorised += 1
            problems.append(f"{dep.get('api_name')} ({rule['rule']}) changed the state when bob called it: {output}")
    for dep in deps:                        # the owner herself is not refused
        rule = rules[dep["id"]]
        if rule and rule["rule"] == "owner":
            audited = refused_count(studio.db, "alice")
            alice.call(dep, inputs_for(dep, components, rule, targets))
            if refused_count(studio.db, "alice") != audited:
                problems.append(f"{dep.get('api_name')}: alice was refused on her own {rule['kind']}")
    for b in (alice, bob, anonymous):
        b.close()

    figures("endpoints checked x roles", f"{len(deps)} x 3 (anonymous, non-owner, owner)", "every endpoint",
            not undeclared)
    figures("  ... anonymous calls turned away", f"{turned_away}/{len(deps)}", "all", turned_away == len(deps))
    figures("  ... unauthorised state changes", str(unauthorised), "0", unauthorised == 0)
    figures("  ... refused attempts audited", f"{refused_audited}/{refused}", "all",
            refused and refused_audited == refused)
    assert turned_away == len(deps)
    assert problems == [], "\n".join(problems)
