"""Voting sessions (backend.generation.sessions): a session made from a prompt file and tiny models asks every prompt
of every pair; each voter takes the questions in order, anonymous until their vote, with their own progress; the
organiser (or an admin, nobody else) sees each voter's progress and the results from this session's votes only, and
closes it; every change leaves an audit row, every bad input one clear error, in the library and the command line."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from backend.generation import arena, sessions
from backend.generation.arena import ArenaError
from backend.generation.models_cache import ModelCache
from frbio_core import users
from frbio_core.errors import PermissionDenied
from frbio_core.settings import PROJECT_ROOT
from tests.data_helpers import home_with_tiny_models

PROMPTS = ["Qu'est-ce qu'une hypertension artérielle ?", "Que faire en cas de fièvre chez l'enfant ?"]
PASSWORD = "long enough"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("sessions_home")
    db = home_with_tiny_models(home, ["tiny-a", "tiny-b", "tiny-c"])
    for name, admin in (("alice", False), ("bob", False), ("carol", False), ("root", True)):
        users.add_user(db, name, PASSWORD, admin=admin)
    return home


@pytest.fixture
def db(home):
    from frbio_core.registry import connect

    return connect(home / "frbio.db")


@pytest.fixture(scope="module")
def cache():
    return ModelCache()


def prompt_file(tmp_path, lines, name="questions.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_prompt_files_in_every_format(tmp_path):
    assert sessions.read_prompt_file(prompt_file(tmp_path, ["# consignes", PROMPTS[0], "", "  " + PROMPTS[1]])) == \
        PROMPTS
    jsonl = prompt_file(tmp_path, [json.dumps({"prompt": PROMPTS[0]}), json.dumps({"text": PROMPTS[1]})], "q.jsonl")
    assert sessions.read_prompt_file(jsonl) == PROMPTS
    yaml_file = prompt_file(tmp_path, [f"- id: hta\n  text: \"{PROMPTS[0]}\"", f"- \"{PROMPTS[1]}\""], "q.yaml")
    assert sessions.read_prompt_file(yaml_file) == PROMPTS
    assert sessions.read_prompt_file(PROJECT_ROOT / "assets" / "prompts_fr.yaml")   # the presets work as a file
    with pytest.raises(ArenaError, match="line 2 is not valid JSON"):
        sessions.read_prompt_file(prompt_file(tmp_path, ['{"prompt": "a"}', "{oops"], "bad.jsonl"))
    with pytest.raises(ArenaError, match="not found"):
        sessions.read_prompt_file(tmp_path / "missing.txt")


def test_bad_input_gets_one_clear_error(db, tmp_path):
    empty = sessions.read_prompt_file(prompt_file(tmp_path, ["", "# rien"]))
    with pytest.raises(ArenaError, match="No question"):
        sessions.create_session(db, "vide", empty, ["tiny-a", "tiny-b"], owner="alice")
    with pytest.raises(ArenaError, match="Unknown model: 'nope'"):
        sessions.create_session(db, "inconnu", PROMPTS, ["tiny-a", "nope"], owner="alice")
    with pytest.raises(ArenaError, match="at least two different models"):
        sessions.create_session(db, "seul", PROMPTS, ["tiny-a", "tiny-a"], owner="alice")
    with pytest.raises(ArenaError, match="Give the session a name"):
        sessions.create_session(db, "  ", PROMPTS, ["tiny-a", "tiny-b"], owner="alice")
    with pytest.raises(PermissionDenied, match="not an enabled account"):
        sessions.create_session(db, "intrus", PROMPTS, ["tiny-a", "tiny-b"], owner="mallory")
    assert not {s["name"] for s in sessions.list_sessions(db)} & {"vide", "inconnu", "seul", "intrus"}
    with pytest.raises(ArenaError, match="not found"):
        sessions.next_question(db, ModelCache(), "no such session", "bob")


def test_a_session_from_vote_to_results(db, cache, tmp_path):
    prompts = sessions.read_prompt_file(prompt_file(tmp_path, PROMPTS))
    created = sessions.create_session(db, "Service de cardiologie", prompts, ["tiny-a", "tiny-b", "tiny-c"],
                                      owner="alice", settings={"max_new_tokens": 6})
    assert created["owner"] == "alice" and created["status"] == "open" and created["settings"]["do_sample"] is False
    with pytest.raises(ArenaError, match="already exists \\(created by alice\\)"):
        sessions.create_session(db, "Service de cardiologie", prompts, ["tiny-a", "tiny-b"], owner="bob")
    questions = db.execute("SELECT position, prompt, model_1, model_2, answer_1 FROM arena_questions WHERE "
                           "session_id = ? ORDER BY position", [created["id"]]).fetchall()
    assert [(q[1], q[2], q[3]) for q in questions] == [(p, a, b) for p in PROMPTS for a, b in
                                                       (("tiny-a", "tiny-b"), ("tiny-a", "tiny-c"),
                                                        ("tiny-b", "tiny-c"))]
    assert all(q[4] is None for q in questions)              # answers come when the first voter needs them

    rng = random.Random(4)
    first = sessions.next_question(db, cache, "Service de cardiologie", "bob", rng=rng)
    assert (first["position"], first["total"], first["answered"], first["done"]) == (1, 6, 0, False)
    assert first["answer_a"] and first["answer_b"] and first["prompt"] == PROMPTS[0]
    assert not any("tiny" in str(v) for k, v in first.items() if k != "session")     # anonymous before the vote
    again = sessions.next_question(db, cache, "Service de cardiologie", "bob", rng=rng)   # a reloaded page
    assert again["id"] == first["id"] and again["answer_a"] == first["answer_a"]
    with pytest.raises(ArenaError, match="only after the vote"):
        arena.reveal(db, first["id"])
    with pytest.raises(ArenaError, match="someone else"):       # carol cannot vote on bob's round
        sessions.session_vote(db, "Service de cardiologie", first["id"], "a", "carol")

    choices = ["a", "b", "tie", "both_bad", "a", "a"]
    for number, choice in enumerate(choices, 1):
        shown = sessions.next_question(db, cache, "Service de cardiologie", "bob", rng=rng)
        assert (shown["position"], shown["answered"]) == (number, number - 1)
        voted = sessions.session_vote(db, "Service de cardiologie", shown["id"], choice, "bob",
                                      criteria=["safety"], dangerous_b=number == 2, comment=f"q{number}")
        assert {voted["model_a"], voted["model_b"]} <= {"tiny-a", "tiny-b", "tiny-c"}
        assert (voted["answered"], voted["done"]) == (number, number == 6)
    assert sessions.next_question(db, cache, "Service de cardiologie", "bob")["done"] is True
    with pytest.raises(ArenaError, match="already has a vote"):
        sessions.session_vote(db, "Service de cardiologie", first["id"], "b", "bob")

    theirs = sessions.next_question(db, cache, "Service de cardiologie", "carol", rng=random.Random(0))
    mine = db["votes"].get(first["id"])
    assert theirs["position"] == 1 and {theirs["answer_a"], theirs["answer_b"]} == {mine["answer_a"],
                                                                                     mine["answer_b"]}
    sessions.session_vote(db, "Service de cardiologie", theirs["id"], "a", "carol")

    free = arena.new_round(db, ["tiny-a", "tiny-b"], "Hors session", {"max_new_tokens": 4}, owner="bob")
    list(arena.stream_answers(db, cache, free))
    arena.vote(db, free, "b", owner="bob")                   # a vote outside the session: not in its results

    with pytest.raises(PermissionDenied, match="belongs to alice"):
        sessions.session_report(db, "Service de cardiologie", actor="carol")
    refused = users.list_audit(db, limit=1, actor="carol", action="refused")[0]
    assert refused["target"] == "Service de cardiologie" and refused["detail"]["attempted"] == "see the results of"
    report = sessions.session_report(db, "Service de cardiologie", actor="alice", rounds=50)
    assert report == sessions.session_report(db, "Service de cardiologie", actor="root", rounds=50)   # an admin
    assert [(p["voter"], p["answered"], p["total"], p["done"]) for p in report["progress"]] == [
        ("bob", 6, 6, True), ("carol", 1, 6, False)]
    assert report["questions"] == report["prepared"] == 6 and report["votes"] == 7 and report["dangerous"] == 1
    rates = {(r["model_1"], r["model_2"]): r for r in report["win_rates"]}
    assert set(rates) == {("tiny-a", "tiny-b"), ("tiny-a", "tiny-c"), ("tiny-b", "tiny-c")}
    assert sum(r["votes"] for r in rates.values()) == 7 and rates[("tiny-a", "tiny-b")]["votes"] == 3
    assert report["win_rates"] == arena.win_rates(db, session_id=created["id"])
    assert sum(r["votes"] for r in arena.win_rates(db)) == 8         # the whole arena counts the free round too
    assert {r["model"] for r in report["ratings"]} == {"tiny-a", "tiny-b", "tiny-c"}

    with pytest.raises(PermissionDenied, match="only its owner or an admin can close"):
        sessions.close_session(db, "Service de cardiologie", actor="carol")
    assert sessions.get_session(db, "Service de cardiologie")["status"] == "open"
    assert sessions.close_session(db, "Service de cardiologie", actor="alice")["status"] == "closed"
    with pytest.raises(ArenaError, match="is closed"):
        sessions.next_question(db, cache, "Service de cardiologie", "carol")
    assert [s["name"] for s in sessions.list_sessions(db, actor="carol", managed=True)] == []
    assert "Service de cardiologie" in [s["name"] for s in sessions.list_sessions(db, actor="root", managed=True)]

    trail = [(r["actor"], r["action"]) for r in reversed(users.list_audit(db, limit=0, target="Service de "
                                                                                          "cardiologie"))]
    assert trail == [("alice", "arena_session_create"), ("carol", "refused"), ("carol", "refused"),
                     ("alice", "arena_session_close")]
    votes = [r for r in users.list_audit(db, limit=0, action="arena_vote")
             if (r["detail"] or {}).get("session") == "Service de cardiologie"]
    assert sorted(r["actor"] for r in votes) == ["bob"] * 6 + ["carol"]


def test_answers_prepared_up_front(db, cache):
    sessions.create_session(db, "d'avance", PROMPTS[:1], ["tiny-a", "tiny-c"], owner="alice",
                            settings={"max_new_tokens": 4})
    with pytest.raises(PermissionDenied):
        sessions.prepare_answers(db, cache, "d'avance", actor="bob")
    seen = []
    assert sessions.prepare_answers(db, cache, "d'avance", actor="alice", on_question=lambda *a: seen.append(a)) == 1
    assert seen == [(1, 1)] and sessions.prepare_answers(db, cache, "d'avance", actor="alice") == 0
    assert users.list_audit(db, limit=1, action="arena_session_prepare")[0]["actor"] == "alice"


def _cli(home, *args):
    return subprocess.run([sys.executable, "-m", "backend", "--home", str(home), "arena", "session", *map(str, args)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if not k.startswith("FRBIO_")})


def test_the_command_line(home, tmp_path):
    empty = prompt_file(tmp_path, [""], "empty.txt")
    out = _cli(home, "create", "cli", "--prompts", empty, "--models", "tiny-a", "tiny-b")
    assert out.returncode == 2 and out.stderr.strip().splitlines()[-1] == \
        "error: No question: the question file (or list) is empty."
    out = _cli(home, "create", "cli", "--prompts", prompt_file(tmp_path, PROMPTS), "--models", "tiny-a", "nope")
    assert out.returncode == 2 and out.stderr.strip().splitlines()[-1].startswith("error: Unknown model: 'nope'")
    out = _cli(home, "create", "cli", "--prompts", prompt_file(tmp_path, PROMPTS), "--models", "tiny-a,tiny-b",
               "--max-new-tokens", "4", "--prepare", "--as", "alice", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["questions"] == 2 and json.loads(out.stdout)["owner"] == "alice"
    out = _cli(home, "show", "cli", "--as", "bob")
    assert out.returncode == 2 and "only its owner or an admin" in out.stderr
    out = _cli(home, "show", "cli", "--as", "alice", "--rounds", "20", "--json")
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["prepared"] == 2 and shown["progress"] == [] and shown["session"]["models"] == ["tiny-a", "tiny-b"]
    out = _cli(home, "close", "cli", "--as", "alice")
    assert out.returncode == 0 and out.stdout.strip() == "closed cli"
