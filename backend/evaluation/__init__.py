"""Evaluation: benchmarks as lm-eval tasks, one folder each (assets/benchmarks/<task>/), domain and general perplexity,
a result cache keyed by (model weights hash, task, settings), comparisons across models and their reports."""
