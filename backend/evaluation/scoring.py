"""The scoring functions of the task files (assets/benchmarks/utils.py), importable from the project: the
drill-down and the tests use exactly the code lm-eval runs (that file stays self-contained because lm-eval loads it
by path, from the command line too)."""
from __future__ import annotations

import importlib.util
from functools import lru_cache

from backend.evaluation.tasks import UTILS


@lru_cache(maxsize=1)
def task_utils():
    spec = importlib.util.spec_from_file_location("frbio_lm_eval_task_utils", UTILS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_letters(text: str) -> list[str]:
    return task_utils().parse_letters(text)


def exact_match(gold, predicted) -> float:
    return task_utils().exact_match(gold, predicted)


def hamming_score(gold, predicted) -> float:
    return task_utils().hamming_score(gold, predicted)
