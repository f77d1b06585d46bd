"""Evaluation: benchmarks as lm-eval tasks kept as YAML data (assets/lm_eval_tasks), domain and general perplexity,
a result cache keyed by (model weights hash, task, settings), comparisons across models and their reports."""
