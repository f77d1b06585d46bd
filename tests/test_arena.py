"""Blind A/B: a round's answers are anonymous, the names are revealed only after the vote, the vote is stored with the
prompt, models, answers and settings, pairs are drawn at random, and win rates add up on hand-made votes."""
from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from backend.generation import arena
from backend.generation.arena import ArenaError
from backend.generation.config import GenerateConfig, parse_generate_config
from backend.generation.models_cache import ModelCache
from backend.models.importing import make_tiny_model
from frbio_core import translations
from frbio_core.registry import connect
from tests.data_helpers import home_with_tiny_models

PROMPT = "Expliquez simplement ce qu'est une hypertension artérielle."


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("arena_home")
    home_with_tiny_models(home, ["tiny-a", "tiny-b", "tiny-c"])
    return home


@pytest.fixture
def db(home):
    return connect(home / "frbio.db")


def test_round_trip_names_only_after_the_vote(db):
    cfg = parse_generate_config({"max_new_tokens": 12, "seed": 5}, preset="creative")  # random models: sample
    round_id = arena.new_round(db, ["tiny-a", "tiny-b"], PROMPT, cfg, owner="dr.martin", rng=random.Random(1))
    with pytest.raises(ArenaError, match="not ready yet"):
        arena.vote(db, round_id, "a", owner="dr.martin")
    updates = list(arena.stream_answers(db, ModelCache(), round_id))
    assert len(updates) > 3 and all(isinstance(t, str) for pair in updates for t in pair)
    answer_a, answer_b = updates[-1]
    assert answer_a and answer_b and answer_a != answer_b

    shown = arena.public_round(db, round_id)
    assert shown == {"id": round_id, "prompt": PROMPT, "answer_a": answer_a, "answer_b": answer_b, "voted": False}
    assert not any("tiny" in str(v) for v in shown.values())  # nothing names a model before the vote
    with pytest.raises(ArenaError, match="only after the vote"):
        arena.reveal(db, round_id)
    with pytest.raises(ArenaError, match="someone else"):
        arena.vote(db, round_id, "b", owner="someone.else")
    with pytest.raises(ArenaError, match="Unknown vote"):
        arena.vote(db, round_id, "maybe", owner="dr.martin")

    revealed = arena.vote(db, round_id, "b", owner="dr.martin")
    assert {revealed["model_a"], revealed["model_b"]} == {"tiny-a", "tiny-b"}
    assert revealed["vote"] == "b" and revealed["vote_label"] == "B est meilleure"
    row = db["votes"].get(round_id)
    assert row["prompt"] == PROMPT and row["owner"] == "dr.martin" and row["vote"] == "b" and row["voted_at"]
    assert (row["answer_a"], row["answer_b"]) == (answer_a, answer_b)
    assert json.loads(row["settings"])["seed"] == 5 and json.loads(row["settings"])["max_new_tokens"] == 12
    assert arena.reveal(db, round_id)["model_b"] == row["model_b"]
    with pytest.raises(ArenaError, match="already has a vote"):
        arena.vote(db, round_id, "a", owner="dr.martin")

    # the vote counts for the model that was behind B
    rates = arena.win_rates(db, [row["model_a"], row["model_b"]])
    winner = row["model_b"]
    [pair] = rates
    assert pair["votes"] == 1 and pair["wins" if winner == pair["model_1"] else "losses"] == 1


def test_pairs_are_drawn_at_random_in_random_order(db):
    rng = random.Random(0)
    seen = Counter(arena.pick_pair(["tiny-a", "tiny-b", "tiny-c"], rng) for _ in range(300))
    assert len(seen) == 6  # every ordered pair of the 3 models
    assert min(seen.values()) > 25
    two = Counter(arena.pick_pair(["tiny-a", "tiny-b"], rng) for _ in range(100))
    assert set(two) == {("tiny-a", "tiny-b"), ("tiny-b", "tiny-a")}
    with pytest.raises(ArenaError, match="at least two different models"):
        arena.pick_pair(["tiny-a", "tiny-a"])
    with pytest.raises(ArenaError, match="question is empty"):
        arena.new_round(db, ["tiny-a", "tiny-b"], " ")


def test_a_failed_answer_cancels_the_round_without_naming_the_model(db, home):
    broken = make_tiny_model(home, name="tiny-broken", seed=7, tokenizer_from=None, db=db)
    (Path(broken["path"]) / "model.safetensors").write_bytes(b"garbage")
    round_id = arena.new_round(db, ["tiny-a", "tiny-broken"], PROMPT, GenerateConfig(max_new_tokens=4))
    with pytest.raises(ArenaError) as exc:
        list(arena.stream_answers(db, ModelCache(), round_id))
    assert "round cancelled" in str(exc.value) and "tiny-broken" not in str(exc.value)
    translations.load("backend")
    french = translations.translated(exc.value, "fr")    # the clinician reads it in French, still anonymous
    assert french.startswith("La réponse ") and "Ce tour est annulé" in french and "tiny-broken" not in french
    with pytest.raises(ArenaError, match="not found"):
        arena.public_round(db, round_id)


def test_win_rates_on_hand_made_votes(tmp_path):
    db = connect(tmp_path / "frbio.db")
    votes = [("base", "dapt", "b"), ("dapt", "base", "a"), ("dapt", "base", "b"), ("base", "dapt", "tie"),
             ("base", "dapt", "both_bad"), ("merged", "base", "a"), ("base", "merged", "a"), ("merged", "dapt", "tie")]
    for a, b, v in votes:
        db["votes"].insert({"prompt": "p", "model_a": a, "model_b": b, "answer_a": "x", "answer_b": "y",
                            "settings": "{}", "vote": v, "owner": "t", "created_at": 0, "voted_at": 1})
    db["votes"].insert({"prompt": "p", "model_a": "base", "model_b": "dapt", "vote": None})  # not voted: ignored
    rates = {(r["model_1"], r["model_2"]): r for r in arena.win_rates(db)}
    assert rates[("base", "dapt")] == {"model_1": "base", "model_2": "dapt", "wins": 1, "ties": 1, "losses": 2,
                                       "both_bad": 1, "votes": 5, "win_rate": 0.375}
    assert rates[("base", "merged")] == {"model_1": "base", "model_2": "merged", "wins": 1, "ties": 0, "losses": 1,
                                         "both_bad": 0, "votes": 2, "win_rate": 0.5}
    assert rates[("dapt", "merged")]["ties"] == 1 and rates[("dapt", "merged")]["win_rate"] == 0.5
    assert list(rates) == [("base", "dapt"), ("base", "merged"), ("dapt", "merged")]
    assert [(r["model_1"], r["model_2"]) for r in arena.win_rates(db, ["base", "dapt"])] == [("base", "dapt")]


def test_a_vote_keeps_its_reasons_and_every_vote_exports(db, tmp_path):
    import csv

    from frbio_core import users

    round_id = arena.new_round(db, ["tiny-a", "tiny-c"], "Que faire en cas de fièvre chez l'enfant ?",
                               {"max_new_tokens": 6}, owner="dr.leroy", rng=random.Random(3))
    list(arena.stream_answers(db, ModelCache(), round_id))
    with pytest.raises(ArenaError, match="Unknown criterion 'speed'"):
        arena.vote(db, round_id, "a", owner="dr.leroy", criteria=["speed"])
    with pytest.raises(ArenaError, match="Comment too long"):
        arena.vote(db, round_id, "a", owner="dr.leroy", comment="x" * 3000)
    revealed = arena.vote(db, round_id, "tie", owner="dr.leroy", criteria=["safety", "french"], dangerous_b=True,
                          comment="  B propose de l'aspirine.  ")
    assert revealed["criteria"] == ["safety", "french"] and revealed["dangerous_b"] and not revealed["dangerous_a"]
    assert revealed["comment"] == "B propose de l'aspirine."
    assert users.list_audit(db, action="arena_vote", target=str(round_id))[0]["actor"] == "dr.leroy"

    out = arena.export_votes(db, tmp_path, stem="votes")
    rows = list(csv.DictReader(open(out["csv"], encoding="utf-8")))
    lines = [json.loads(line) for line in open(out["jsonl"], encoding="utf-8")]
    assert len(rows) == len(lines) == out["votes"] == len(arena.voted_rounds(db))
    mine = next(r for r in lines if r["id"] == round_id)
    assert mine["criteria"] == ["safety", "french"] and mine["dangerous_b"] is True and mine["owner"] == "dr.leroy"
    assert mine["answer_a"] == revealed["answer_a"] and mine["settings"]["max_new_tokens"] == 6
    assert next(r for r in rows if r["id"] == str(round_id))["criteria"] == "safety;french"
    assert list(rows[0]) == arena.EXPORT_FIELDS


def test_ratings_from_the_command_line(home, db):
    import os
    import subprocess
    import sys

    from frbio_core.settings import PROJECT_ROOT

    assert arena.voted_rounds(db)                                     # votes of the tests above
    out = subprocess.run([sys.executable, "-m", "backend", "--home", str(home), "arena", "ratings", "--json",
                          "--rounds", "50"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                         env={k: v for k, v in os.environ.items() if not k.startswith("FRBIO_")})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["votes"] == len(arena.voted_rounds(db)) and len(data["ratings"]) >= 2
    assert all(r["low"] <= r["rating"] <= r["high"] and "dangerous_rate" in r for r in data["ratings"])
