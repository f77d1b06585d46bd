"""Clinician ratings (issue 14): the Bradley–Terry fit is the maximum-likelihood logistic regression scikit-learn
finds on the same pairs (ties as half a win each); its 95 % bootstrap intervals cover the true strengths of votes
simulated from known ones about 95 % of the time; rater agreement is Cohen's κ (scikit-learn) for two raters and
Fleiss' κ (statsmodels) for more, and absent without overlap."""
from __future__ import annotations

import numpy as np
import pytest

from backend.generation import ratings


def simulate(strengths: dict[str, float], n: int, rng: np.random.Generator, tie_rate: float = 0.1) -> list[dict]:
    models = list(strengths)
    votes = []
    for k in range(n):
        a, b = rng.choice(models, 2, replace=False)
        p = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
        u = rng.random()
        vote = "tie" if u < tie_rate else ("a" if rng.random() < p else "b")
        votes.append({"model_a": a, "model_b": b, "vote": vote, "prompt": f"q{k}", "owner": "dr-x"})
    return votes


def test_the_fit_is_scikit_learns_logistic_regression_on_the_pairs():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    votes = simulate({"base": 0.0, "dapt": -0.3, "merged": 0.4, "other": 0.1}, 300, rng, tie_rate=0.15)
    models = sorted({v["model_a"] for v in votes} | {v["model_b"] for v in votes})
    i, j, y = ratings._design(votes, models)
    ours = ratings.fit(i, j, y, len(models))
    X = np.zeros((len(votes), len(models)))
    X[np.arange(len(votes)), i] += 1
    X[np.arange(len(votes)), j] -= 1
    rows = np.vstack([X, X])                                        # each vote twice: a win for A, a win for B,
    labels = np.concatenate([np.ones(len(y)), np.zeros(len(y))])    # weighted by how much each side won
    weights = np.concatenate([y, 1 - y])
    model = LogisticRegression(C=1 / ratings.L2, fit_intercept=False, tol=1e-12, max_iter=10_000)
    model.fit(rows, labels, sample_weight=weights)
    theirs = model.coef_[0] - model.coef_[0].mean()
    assert np.max(np.abs(ours - theirs)) < 1e-4
    board = {r["model"]: r for r in ratings.leaderboard(votes, rounds=200)}
    assert board["merged"]["rating"] > board["dapt"]["rating"]
    assert all(r["low"] <= r["rating"] <= r["high"] for r in board.values())
    assert sum(r["votes"] for r in board.values()) == 2 * len(votes)


def test_intervals_cover_known_strengths_about_95_percent_of_the_time():
    truth = {"a": 0.5, "b": 0.0, "c": -0.2, "d": -0.3}
    centred = np.array(list(truth.values())) - np.mean(list(truth.values()))
    expected = dict(zip(truth, ratings.to_elo(centred)))
    rng = np.random.default_rng(1)
    covered = total = 0
    for _ in range(40):
        board = ratings.leaderboard(simulate(truth, 300, rng), rounds=150, seed=int(rng.integers(1 << 31)))
        for r in board:
            covered += r["low"] <= expected[r["model"]] <= r["high"]
            total += 1
    assert 0.88 <= covered / total <= 0.99, covered / total


def test_dangerous_answers_are_counted_per_model():
    votes = [{"model_a": "x", "model_b": "y", "vote": "a", "dangerous_b": 1, "prompt": "p"},
             {"model_a": "y", "model_b": "x", "vote": "both_bad", "dangerous_a": 1, "dangerous_b": 1, "prompt": "p"}]
    board = {r["model"]: r for r in ratings.leaderboard(votes, rounds=20)}
    assert (board["y"]["dangerous"], board["y"]["dangerous_rate"]) == (2, 1.0)
    assert (board["x"]["dangerous"], board["x"]["wins"], board["x"]["ties"]) == (1, 1, 1)


def test_agreement_cohen_for_two_raters_fleiss_for_more_none_without_overlap():
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import fleiss_kappa

    def votes_of(rater, answers):   # the same five prompts and pair; shown in either order
        return [{"prompt": f"q{k}", "model_a": "m1" if k % 2 else "m2", "model_b": "m2" if k % 2 else "m1",
                 "vote": v if k % 2 else {"a": "b", "b": "a"}.get(v, v), "owner": rater, "voted_at": k}
                for k, v in enumerate(answers)]
    alice, bob = ["a", "a", "b", "tie", "a"], ["a", "b", "b", "tie", "a"]
    two = ratings.agreement(votes_of("alice", alice) + votes_of("bob", bob))
    assert two["method"] == "Cohen's kappa" and two["items"] == 5
    assert two["kappa"] == pytest.approx(cohen_kappa_score(alice, bob), abs=1e-4)
    carol = ["a", "a", "b", "b", "a"]
    three = ratings.agreement(votes_of("alice", alice) + votes_of("bob", bob) + votes_of("carol", carol))
    table = [[sum(r[k] == c for r in (alice, bob, carol)) for c in ("a", "b", "tie", "both_bad")] for k in range(5)]
    assert three["method"] == "Fleiss' kappa" and three["kappa"] == pytest.approx(fleiss_kappa(table), abs=1e-4)
    assert ratings.agreement(votes_of("alice", alice)) is None
