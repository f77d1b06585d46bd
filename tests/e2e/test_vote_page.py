"""The clinicians' voting room (/vote) on a tablet (820×1180, French): a voter logs in, takes a prepared session from
the first question to the thank-you page (anonymous answers, the names after each vote, large buttons, no horizontal
scroll), and the organiser then finds each voter's progress and the results in the Blind A/B tab."""
from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from backend.generation.sessions import create_session
from backend.models.importing import make_tiny_model
from frbio_core.registry import connect
from tests.e2e.conftest import choose_option, commit, open_tab, reveal

SESSION = "Urgences pédiatriques"
PROMPTS = ["Que faire en cas de fièvre chez un nourrisson de trois mois ?",
           "Quels signes d'une bronchiolite doivent faire consulter en urgence ?",
           "Comment expliquer une otite à des parents inquiets ?"]
TABLET = {"width": 820, "height": 1180}


def log_in(browser: Browser, server, name: str, path: str, viewport: dict, locale: str, shown: str) -> Page:
    """A fresh browser context logged in as `name` through gradio's login form at `path`, once `shown` is visible."""
    context = browser.new_context(viewport=viewport, locale=locale)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(server.url + path)
    page.get_by_label(re.compile("username|utilisateur", re.I)).fill(name)
    page.get_by_label(re.compile("password|mot de passe", re.I)).fill(server.users[name])
    page.get_by_role("button", name=re.compile("^(log ?in|connexion|se connecter)$", re.I)).click()
    expect(page.locator(shown)).to_be_visible(timeout=60_000)
    return page


def test_a_voter_takes_a_session_to_the_end_and_the_organiser_sees_the_results(auth_app_server, browser):
    home = auth_app_server.home
    db = connect(home / "frbio.db")
    for name, seed in (("tiny-a", 1), ("tiny-b", 2)):
        make_tiny_model(home, name=name, seed=seed, db=db, owner="alice")
    session = create_session(db, SESSION, PROMPTS, ["tiny-a", "tiny-b"], owner="alice",
                             settings={"max_new_tokens": 8})

    voter = log_in(browser, auth_app_server, "bob", "vote", TABLET, "fr-FR", "#vote-start")
    expect(voter.locator("#vote-notice")).to_contain_text("Ceci n'est pas un avis médical")
    expect(voter.locator("#vote-session input")).to_have_value(f"{SESSION} (3 questions)")   # the one open session
    voter.locator("#vote-start").click()
    page = voter.locator("#vote-page")
    for number, choice in enumerate(["a", "b", "tie"], 1):
        expect(voter.locator("#vote-progress")).to_have_text(f"Question {number} sur 3", timeout=60_000)
        expect(voter.locator("#vote-a")).to_be_enabled()
        expect(voter.locator("#vote-prompt")).to_contain_text(PROMPTS[number - 1])
        assert all(voter.locator(f"#vote-answer-{x} textarea").input_value() for x in "ab")
        assert "tiny-" not in page.inner_text()                           # anonymous until the vote
        if number == 1:                                                   # a tablet: nothing wider than the screen
            assert voter.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
            for key in ("a", "b", "tie", "both-bad"):
                box = voter.locator(f"#vote-{key}").bounding_box()
                assert box["height"] >= 56 and box["x"] >= 0 and box["x"] + box["width"] <= TABLET["width"], box
            voter.locator("#vote-criteria").get_by_label("Exactitude médicale").check()
            voter.locator("#vote-dangerous").get_by_label("Réponse B dangereuse").check()
            commit(voter, voter.locator("#vote-comment textarea"), "B oublie l'avis médical immédiat.")
        else:                                                             # a new question: the reasons start empty
            expect(voter.locator("#vote-criteria").get_by_label("Exactitude médicale")).not_to_be_checked()
            expect(voter.locator("#vote-comment textarea")).to_have_value("")
        voter.locator(f"#vote-{choice}").click()
        expect(voter.locator("#vote-reveal")).to_contain_text(
            {"a": "A est meilleure", "b": "B est meilleure", "tie": "Égalité"}[choice])
        expect(voter.locator("#vote-reveal")).to_contain_text("tiny-a")
        expect(voter.locator("#vote-reveal")).to_contain_text("tiny-b")
        expect(voter.locator("#vote-a")).to_be_disabled()
        expect(voter.locator("#vote-next")).to_contain_text("Terminer" if number == 3 else "Question suivante")
        voter.locator("#vote-next").click()
    thanks = voter.locator("#vote-thanks-text")
    expect(thanks).to_contain_text("Merci", timeout=30_000)
    expect(thanks).to_contain_text(f"aux 3 questions de la session « {SESSION} »")
    voter.locator("#vote-lang-en").click()                                # English through the language switch
    expect(thanks).to_contain_text("Thank you")
    expect(voter.locator("#vote-notice")).to_contain_text("This is not medical advice")

    rows = list(db["votes"].rows_where("session_id = ?", [session["id"]], order_by="question"))
    assert [(r["owner"], r["question"], r["vote"]) for r in rows] == [("bob", 1, "a"), ("bob", 2, "b"),
                                                                       ("bob", 3, "tie")]
    assert rows[0]["criteria"] == '["accuracy"]' and rows[0]["dangerous_b"] == 1
    assert rows[0]["comment"] == "B oublie l'avis médical immédiat."

    organiser = log_in(browser, auth_app_server, "alice", "", {"width": 1400, "height": 1000}, "fr-FR",
                       "#frbio-header")
    open_tab(organiser, "Évaluation à l'aveugle", organiser.locator("#arena-notice"))
    reveal(organiser, organiser.get_by_text("Sessions de vote (organisateur)"), organiser.locator("#sess-pick"))
    choose_option(organiser, organiser.locator("#sess-pick input"), f"{SESSION} (ouverte, 3 questions)")
    organiser.locator("#sess-show").click()
    expect(organiser.locator("#sess-summary")).to_contain_text("3 votes", timeout=30_000)
    progress = organiser.locator("#sess-progress")
    expect(progress).to_contain_text("bob")
    expect(progress).to_contain_text("oui")                               # bob answered every question
    wins = organiser.locator("#sess-wins")
    expect(wins).to_contain_text("tiny-a")
    expect(wins).to_contain_text("tiny-b")
    expect(organiser.locator("#sess-board")).to_contain_text("tiny-a")
