"""Ratings from the blind A/B votes, as Chatbot Arena computes them now: a Bradley–Terry model fitted by maximum
likelihood (a logistic regression on the pairs: P(A beats B) = σ(β_A − β_B); a tie, and a 'both bad' vote, count as
half a win for each), shown on an Elo-like scale (400 · log10(e) · β + 1000, the mean model at 1000), with 95 %
intervals from a bootstrap over votes (seeded). A very weak L2 penalty (λ = 1e-4 on β, the same as scikit-learn's
LogisticRegression with C = 1e4) keeps a model that won every vote finite.

Also rater agreement: for prompts rated by two or more people (the same prompt and the same pair of models, their
votes read from the first model's side), Cohen's κ when two raters overlap, Fleiss' κ otherwise (statsmodels).

tests/test_ratings.py checks the fit against scikit-learn's LogisticRegression on the same pairs and the intervals'
coverage on votes simulated from known strengths.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

SCALE, BASE, INIT = 400.0, 10.0, 1000.0
L2 = 1e-4
BOOTSTRAP = 1000
SEED = 0


def _design(votes: list[dict], models: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pairs as index arrays i, j, outcome y = 1 A won, 0 B won, 0.5 tie or both bad)."""
    index = {m: k for k, m in enumerate(models)}
    i = np.array([index[v["model_a"]] for v in votes], dtype=np.int64)
    j = np.array([index[v["model_b"]] for v in votes], dtype=np.int64)
    y = np.array([{"a": 1.0, "b": 0.0}.get(v["vote"], 0.5) for v in votes])
    return i, j, y


def fit(i: np.ndarray, j: np.ndarray, y: np.ndarray, n_models: int, weights: np.ndarray | None = None) -> np.ndarray:
    """β (natural-log strengths, mean 0) maximising Σ w·[y log σ(β_i − β_j) + (1 − y) log σ(β_j − β_i)] − λ/2 ‖β‖²,
    by Newton's method (the objective is strictly concave: a few steps reach machine precision; the bootstrap refits
    it a thousand times)."""
    from scipy.special import expit

    w = np.ones(len(y)) if weights is None else weights
    beta = np.zeros(n_models)
    for _ in range(100):
        z = beta[i] - beta[j]
        p = expit(z)
        g = w * (p - y)
        grad = np.bincount(i, g, n_models) - np.bincount(j, g, n_models) + L2 * beta
        h = w * p * (1 - p)
        hess = L2 * np.eye(n_models)
        np.add.at(hess, (i, i), h)
        np.add.at(hess, (j, j), h)
        np.add.at(hess, (i, j), -h)
        np.add.at(hess, (j, i), -h)
        step = np.clip(np.linalg.solve(hess, grad), -4.0, 4.0)   # no overshoot on lopsided votes
        beta -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    return beta - beta.mean()


def to_elo(beta: np.ndarray) -> np.ndarray:
    return SCALE / math.log(BASE) * beta + INIT


def leaderboard(votes: list[dict], rounds: int = BOOTSTRAP, seed: int = SEED) -> list[dict]:
    """Per model: rating, 95 % interval, votes, wins / ties / losses ('both bad' as a tie), its answers flagged
    dangerous and their rate; best first. `votes`: voted rounds (model_a, model_b, vote, dangerous_a/_b)."""
    votes = [v for v in votes if v.get("vote")]
    models = sorted({v["model_a"] for v in votes} | {v["model_b"] for v in votes})
    if len(models) < 2:
        return []
    i, j, y = _design(votes, models)
    rating = to_elo(fit(i, j, y, len(models)))
    rng = np.random.default_rng(seed)
    boots = np.empty((rounds, len(models)))
    for r in range(rounds):
        counts = np.bincount(rng.integers(0, len(votes), len(votes)), minlength=len(votes)).astype(float)
        boots[r] = to_elo(fit(i, j, y, len(models), counts))
    low, high = np.percentile(boots, [2.5, 97.5], axis=0)
    stats = {m: {"votes": 0, "wins": 0, "ties": 0, "losses": 0, "dangerous": 0} for m in models}
    for v in votes:
        for side, other in (("a", "b"), ("b", "a")):
            s = stats[v[f"model_{side}"]]
            s["votes"] += 1
            s["dangerous"] += int(bool(v.get(f"dangerous_{side}")))
            if v["vote"] == side:
                s["wins"] += 1
            elif v["vote"] == other:
                s["losses"] += 1
            else:
                s["ties"] += 1
    out = [{"model": m, "rating": round(float(rating[k]), 1), "low": round(float(low[k]), 1),
            "high": round(float(high[k]), 1), **stats[m],
            "dangerous_rate": round(stats[m]["dangerous"] / stats[m]["votes"], 4)} for k, m in enumerate(models)]
    return sorted(out, key=lambda r: -r["rating"])


def _side(v: dict) -> tuple[tuple, str]:
    """(the item: prompt and pair in name order, the vote read from the first model's side)."""
    first, second = sorted((v["model_a"], v["model_b"]))
    flip = {"a": "b", "b": "a"}
    vote = v["vote"] if v["model_a"] == first else flip.get(v["vote"], v["vote"])
    return (v["prompt"].strip(), first, second), vote


def agreement(votes: list[dict]) -> dict | None:
    """Cohen's κ (two raters) or Fleiss' κ (more) on the items rated by two or more people; None without overlap.
    An item rated twice by one person counts that person's last vote."""
    by_item: dict[tuple, dict[str, str]] = defaultdict(dict)
    for v in sorted((v for v in votes if v.get("vote")), key=lambda v: v.get("voted_at") or 0):
        item, vote = _side(v)
        by_item[item][v.get("owner") or "?"] = vote
    shared = {item: raters for item, raters in by_item.items() if len(raters) >= 2}
    if not shared:
        return None
    raters = sorted({r for rs in shared.values() for r in rs})
    categories = ["a", "b", "tie", "both_bad"]
    if len(raters) == 2:
        from sklearn.metrics import cohen_kappa_score

        x = [rs[raters[0]] for rs in shared.values()]
        y = [rs[raters[1]] for rs in shared.values()]
        kappa = float(cohen_kappa_score(x, y, labels=categories)) if len(set(x) | set(y)) > 1 else 1.0
        return {"method": "Cohen's kappa", "kappa": round(kappa, 4), "items": len(shared), "raters": raters}
    from statsmodels.stats.inter_rater import fleiss_kappa

    n = max(set(len(rs) for rs in shared.values()), key=lambda k: sum(len(rs) == k for rs in shared.values()))
    table = np.array([[sum(vote == c for vote in rs.values()) for c in categories]
                      for rs in shared.values() if len(rs) == n])
    kappa = float(fleiss_kappa(table)) if len(table) > 1 else float("nan")
    return {"method": "Fleiss' kappa", "kappa": round(kappa, 4), "items": len(table), "raters": raters,
            "raters_per_item": n}
