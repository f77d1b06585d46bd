"""The paired statistics agree with the reference implementations (issue 14): exact McNemar with statsmodels'
`mcnemar(exact=True)` and scipy's `binomtest`, the sign-flip test with scipy's `permutation_test` (exactly when every
flip is enumerated, within Monte-Carlo error otherwise), the bootstrap interval with scipy's `bootstrap` (paired,
percentile) within Monte-Carlo error, Holm with statsmodels; on random and on hand-made data, ties and all-equal
cases included. The verdicts follow the corrected p-values."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from backend.evaluation import paired


def table(x, y):
    return [[int(np.sum((x == 1) & (y == 1))), int(np.sum((x == 1) & (y == 0)))],
            [int(np.sum((x == 0) & (y == 1))), int(np.sum((x == 0) & (y == 0)))]]


@pytest.mark.parametrize("case", ["random", "few discordant", "all equal", "all discordant one way", "tie"])
def test_mcnemar_agrees_with_statsmodels_and_scipy(case):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, 622).astype(float)
    y = {"random": rng.integers(0, 2, 622).astype(float),
         "few discordant": np.where(np.arange(622) < 3, 1 - x, x),
         "all equal": x.copy(),
         "all discordant one way": np.where(x == 1, 0.0, x),
         "tie": np.where(np.arange(622) < 10, 1 - x, x)}[case]
    ours = paired.mcnemar_p(x, y)
    ref = mcnemar(table(x, y), exact=True).pvalue
    assert abs(ours - ref) < 1e-9
    b, c = table(x, y)[0][1], table(x, y)[1][0]
    if b + c:
        assert abs(ours - stats.binomtest(b, b + c, 0.5).pvalue) < 1e-9


@pytest.mark.parametrize("n", [8, 12])
def test_sign_flip_is_scipys_exact_permutation_test_on_small_samples(n):
    rng = np.random.default_rng(n)
    ref = rng.random(n)
    model = ref + rng.normal(0.1, 0.2, n)
    ours = paired.compare_many("t", "hamming", ref, {"m": model}, resamples=10_000)[0]
    scipy_p = stats.permutation_test((model - ref,), np.mean, permutation_type="samples", n_resamples=10_000,
                                     alternative="two-sided").pvalue
    assert ours.test == "permutation" and abs(ours.p - scipy_p) < 1e-9


def test_sign_flip_and_bootstrap_agree_within_monte_carlo_error_on_large_samples():
    rng = np.random.default_rng(7)
    ref = rng.random(622)
    models = {"a": ref + rng.normal(0.02, 0.3, 622), "b": ref + rng.normal(0.0, 0.3, 622)}
    ours = {r.model: r for r in paired.compare_many("t", "hamming", ref, models, resamples=10_000, seed=1)}
    for name, scores in models.items():
        d = scores - ref
        p = stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=10_000,
                                   alternative="two-sided", rng=2).pvalue
        q = min(p / 2, 0.5)                                      # p = 2 × the smaller tail, q
        se = 2 * np.sqrt(q * (1 - q) / 10_000) + 1e-4            # of one estimate; two independent ones differ
        assert abs(ours[name].p - p) < 5 * se * np.sqrt(2)       # by √2 × that (5 standard errors)
        ci = stats.bootstrap((scores, ref), lambda a, b, axis=-1: np.mean(a - b, axis=axis), paired=True,
                             n_resamples=10_000, method="percentile", rng=3).confidence_interval
        width = ci.high - ci.low
        assert abs(ours[name].low - ci.low) < 0.05 * width and abs(ours[name].high - ci.high) < 0.05 * width
        assert ours[name].delta == pytest.approx(float(np.mean(d)), abs=1e-12)


def test_binary_scores_use_mcnemar_and_an_interval_around_the_difference():
    rng = np.random.default_rng(11)
    ref = (rng.random(400) < 0.5).astype(float)
    better = np.where(rng.random(400) < 0.25, 1.0, ref)          # fixes a quarter of the items
    (r,) = paired.compare_many("t", "acc", ref, {"m": better})
    assert r.test == "mcnemar" and r.p == pytest.approx(mcnemar(table(better, ref), exact=True).pvalue, abs=1e-9)
    assert r.low < r.delta < r.high and r.low > 0


def test_holm_is_statsmodels_and_verdicts_follow_the_corrected_p():
    rng = np.random.default_rng(5)
    ref = (rng.random(300) < 0.4).astype(float)
    models = {"same": ref.copy(), "better": np.maximum(ref, (rng.random(300) < 0.3).astype(float)),
              "noise": np.where(rng.random(300) < 0.04, 1 - ref, ref)}
    results = paired.holm(paired.compare_many("t", "acc", ref, models))
    expected = multipletests([r.p for r in results], method="holm")[1]
    assert [r.p_holm for r in results] == pytest.approx(list(expected), abs=1e-12)
    by = {r.model: r for r in results}
    assert by["better"].direction == "better" and by["better"].verdict("fr") == "meilleur"
    assert by["same"].direction == "same" and by["same"].p == 1.0
    assert by["same"].verdict().startswith("no difference detectable with 300 items (smallest detectable ≈ ")
    assert by["same"].verdict("fr").startswith("pas de différence détectable avec 300 items")
    assert 0 < by["same"].mde < 0.2


def test_lower_is_better_turns_the_verdict():
    rng = np.random.default_rng(9)
    ref = rng.random(200) + 2.0                                   # log-perplexity per block
    lower = ref - 0.2 + rng.normal(0, 0.05, 200)
    (r,) = paired.holm(paired.compare_many("ppl", "domain_ppl", ref, {"m": lower}, lower_is_better=True))
    assert r.delta < 0 and r.direction == "better"


def test_perplexity_blocks_are_token_weighted_and_delta_is_in_perplexity():
    rng = np.random.default_rng(13)
    tokens = np.array([63.0] * 40 + [17.0])                      # the last block of a stream is shorter
    ref = rng.normal(3.0, 0.3, 41)                               # each block's mean NLL (log-perplexity)
    model = ref - 0.1 + rng.normal(0, 0.05, 41)
    (r,) = paired.holm(paired.compare_many("perplexity", "domain_ppl", ref, {"m": model}, lower_is_better=True,
                                           weights=tokens, transform=np.exp))
    ppl = lambda nll: float(np.exp(np.sum(tokens * nll) / tokens.sum()))   # noqa: E731 — as the evaluation does
    assert r.delta == pytest.approx(ppl(model) - ppl(ref), rel=1e-12) and r.direction == "better"
    ci = stats.bootstrap((model, ref, tokens), lambda a, b, w, axis=-1: np.exp(np.sum(w * a, axis=axis) /
                         np.sum(w, axis=axis)) - np.exp(np.sum(w * b, axis=axis) / np.sum(w, axis=axis)),
                         paired=True, n_resamples=10_000, method="percentile", rng=4).confidence_interval
    width = ci.high - ci.low
    assert abs(r.low - ci.low) < 0.05 * width and abs(r.high - ci.high) < 0.05 * width
    d = tokens * (model - ref) / tokens.mean()                   # the weighted sign-flip test is scipy's on w·d
    scipy_p = stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=10_000,
                                     alternative="two-sided", rng=5).pvalue
    assert r.p <= 2e-4 and scipy_p <= 2e-4
