"""Benchmark: the paired statistics of a large comparison — 10 models against a reference on 5 benchmarks of 622
items each (4 scored right/wrong, 1 graded), 10,000 resamples — OURS against a BASELINE, in the same run.

OURS      backend.evaluation.paired.compare_many per benchmark (one resample matrix of item counts, or of signs,
          shared by the 9 models; a resample is a matrix product) then Holm across the 45 comparisons.
BASELINE  the straightforward way, pair by pair with scipy: `scipy.stats.bootstrap(paired=True,
          method="percentile")` for the interval, `binomtest` on the discordant pairs (McNemar) or
          `permutation_test(permutation_type="samples")` for the p-value, then statsmodels' Holm.

Runs interleaved (ours, baseline, ours, …, `--rounds`, median reported) in this process, on the same seeded data;
the p-values of both are compared (McNemar exactly, permutation within Monte-Carlo error).

    .venv/bin/python bench/stats.py [--rounds 3] [--resamples 10000]

Writes bench/results/stats.json and the table in bench/README.md.
"""
from __future__ import annotations

import os
import statistics
import time

import numpy as np

import harness

RESULTS = harness.BENCH / "results" / "stats.json"
MODELS, BENCHMARKS, ITEMS = 10, 5, 622


def data(seed: int = 0) -> list[tuple[str, np.ndarray, dict[str, np.ndarray]]]:
    rng = np.random.default_rng(seed)
    out = []
    for b in range(BENCHMARKS):
        graded = b == BENCHMARKS - 1
        ref = rng.random(ITEMS) if graded else (rng.random(ITEMS) < 0.45).astype(float)
        others = {}
        for m in range(1, MODELS):
            if graded:
                others[f"m{m}"] = np.clip(ref + rng.normal(0.01 * m, 0.2, ITEMS), 0, 1)
            else:
                flip = rng.random(ITEMS) < 0.1 + 0.01 * m
                others[f"m{m}"] = np.where(flip, 1 - ref, ref)
        out.append((f"bench{b}", ref, others))
    return out


def ours(sets, resamples: int) -> list:
    from backend.evaluation.paired import compare_many, holm

    results = []
    for name, ref, others in sets:
        results += compare_many(name, "score", ref, others, resamples=resamples, seed=1)
    return [r.p_holm for r in holm(results)]


def baseline(sets, resamples: int) -> list:
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    p_values = []
    for name, ref, others in sets:
        binary = set(np.unique(ref)) <= {0.0, 1.0}
        for model, scores in others.items():
            stats.bootstrap((scores, ref), lambda a, b, axis=-1: np.mean(a - b, axis=axis), paired=True,
                            n_resamples=resamples, method="percentile", rng=1)
            if binary:
                b_, c_ = int(np.sum((scores == 1) & (ref == 0))), int(np.sum((scores == 0) & (ref == 1)))
                p_values.append(stats.binomtest(b_, b_ + c_, 0.5).pvalue if b_ + c_ else 1.0)
            else:
                p_values.append(stats.permutation_test((scores - ref,), np.mean, permutation_type="samples",
                                                       n_resamples=resamples, rng=2).pvalue)
    return list(multipletests(p_values, method="holm")[1])


def main() -> int:
    parser = harness.bench_parser(__doc__, RESULTS, child=False)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--resamples", type=int, default=10_000)
    args = parser.parse_args()
    sets = data()
    runs: dict[str, list[float]] = {"ours": [], "baseline": []}
    answers = {}
    load_before = os.getloadavg()
    for _, variant in harness.run_order(("ours", "baseline"), args.rounds):
        start = time.perf_counter()
        answers[variant] = (ours if variant == "ours" else baseline)(sets, args.resamples)
        runs[variant].append(time.perf_counter() - start)
        print(f"{variant}: {runs[variant][-1]:.2f} s", flush=True)
    a, b = np.array(answers["ours"]), np.array(answers["baseline"])
    report = {"machine": harness.machine_info("cpu", "cpus", "memory_gb", "python", "date", packages=("numpy", "scipy", "statsmodels")), "load_before": load_before,
              "load_after": os.getloadavg(), "models": MODELS, "benchmarks": BENCHMARKS, "items": ITEMS,
              "comparisons": (MODELS - 1) * BENCHMARKS, "resamples": args.resamples, "rounds": args.rounds,
              "seconds": {k: [round(x, 3) for x in v] for k, v in runs.items()},
              "median_s": {k: round(statistics.median(v), 3) for k, v in runs.items()},
              "max_abs_diff_p_holm": float(np.max(np.abs(a - b))),
              "max_abs_diff_p_holm_mcnemar": float(np.max(np.abs(a[:36] - b[:36])))}
    speed = report["median_s"]["baseline"] / report["median_s"]["ours"]
    table = harness.markdown_table(
        ["variant", "median wall (s)", "runs (s)", "comparisons", "resamples"],
        [[v, f"{report['median_s'][v]:.2f}", ", ".join(f"{x:.2f}" for x in report["seconds"][v]),
          report["comparisons"], args.resamples] for v in ("ours", "baseline")])
    table += (f"\n\nOurs is {speed:.0f}× faster (target: under 2 s). Holm-corrected p-values: identical for McNemar "
              f"(max |Δ| {report['max_abs_diff_p_holm_mcnemar']:.1e}), within Monte-Carlo error for the permutation "
              f"test (max |Δ| {report['max_abs_diff_p_holm']:.3f}). Load average before/after: "
              f"{load_before[0]:.2f} / {report['load_after'][0]:.2f}.")
    return harness.publish(report, args.out, RESULTS, "stats", table)


if __name__ == "__main__":
    raise SystemExit(main())
