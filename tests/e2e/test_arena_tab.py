"""The blind A/B tab, in French in an English browser: two anonymous answers, a vote, the names revealed after it,
and the win table updated."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from backend.models.importing import make_tiny_model
from frbio_core.registry import connect
from tests.e2e.conftest import commit, open_tab


def test_blind_round_trip(app_server, page: Page):
    db = connect(app_server.home / "frbio.db")
    make_tiny_model(app_server.home, name="tiny-a", seed=1, db=db)
    make_tiny_model(app_server.home, name="tiny-b", seed=2, db=db)
    page.goto(f"{app_server.url}?lang=fr")  # the tab in French (it follows the interface's language)
    open_tab(page, "Évaluation à l'aveugle", page.locator("#arena-notice"))
    expect(page.locator("#arena-notice")).to_contain_text("Ceci n'est pas un avis médical")
    expect(page.locator("#arena-vote-a")).to_contain_text("A est meilleure")
    expect(page.locator("#arena-vote-a")).to_be_disabled()
    pool = page.locator("#arena-models")
    expect(pool).to_contain_text("tiny-b", timeout=30_000)
    pool.get_by_label("tiny-a").check()
    pool.get_by_label("tiny-b").check()
    commit(page, page.locator("#arena-prompt textarea"), "Quels conseils donner à une personne hypertendue ?")
    page.get_by_label("Échantillonnage libre").check()
    page.locator("#arena-start").click()

    expect(page.locator("#arena-vote-a")).to_be_enabled(timeout=60_000)
    answers = [page.locator(f"#arena-answer-{x} textarea").input_value() for x in "ab"]
    assert all(answers)
    for where in ("#arena-answer-a", "#arena-answer-b", "#arena-reveal", "#arena-msg"):
        expect(page.locator(where)).not_to_contain_text("tiny-")  # anonymous until the vote
    expect(page.locator("#arena-wins")).not_to_contain_text("tiny-a")

    page.locator("#arena-criteria").get_by_label("Exactitude médicale").check()
    page.locator("#arena-criteria").get_by_label("Clarté").check()
    page.locator("#arena-dangerous").get_by_label("Réponse B dangereuse").check()
    commit(page, page.locator("#arena-comment textarea"), "B conseille d'arrêter le traitement.")
    page.locator("#arena-vote-a").click()
    reveal = page.locator("#arena-reveal")
    expect(reveal).to_contain_text("A est meilleure", timeout=30_000)
    expect(reveal).to_contain_text("tiny-a")
    expect(reveal).to_contain_text("tiny-b")
    expect(page.locator("#arena-msg")).to_contain_text("Vote enregistré")
    expect(page.locator("#arena-vote-b")).to_be_disabled()
    wins = page.locator("#arena-wins")
    expect(wins).to_contain_text("tiny-a")
    expect(wins).to_contain_text("tiny-b")
    row = db["votes"].get(1)
    assert row["vote"] == "a" and row["prompt"].startswith("Quels conseils") and row["answer_a"] == answers[0]
    assert row["criteria"] == '["accuracy", "clarity"]' and (row["dangerous_a"], row["dangerous_b"]) == (0, 1)
    assert row["comment"] == "B conseille d'arrêter le traitement."
    board = page.locator("#arena-board")                  # the leaderboard: the winner first, B's answer flagged
    expect(board).to_contain_text("1 (100%)")
    text = board.inner_text()
    assert text.index(row["model_a"]) < text.index(row["model_b"]), text
    expect(page.locator("#arena-board-note")).to_contain_text("1 votes")
    page.locator("#arena-export").click()
    expect(page.locator("#arena-files")).to_contain_text(".jsonl", timeout=30_000)
    expect(page.locator("#arena-files")).to_contain_text(".csv")
    winner_is_first = sorted((row["model_a"], row["model_b"]))[0] == row["model_a"]
    expect(wins).to_contain_text("100%" if winner_is_first else "0%")
