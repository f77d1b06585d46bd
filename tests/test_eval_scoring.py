"""FrenchMedMCQA's multi-answer scores on hand-made cases: the letters read from a generated answer, the exact
match ratio (EMR) and the Hamming score, exactly as the lm-eval task computes them (assets/benchmarks/utils.py)."""
import pytest

from backend.evaluation.scoring import exact_match, hamming_score, parse_letters, task_utils


@pytest.mark.parametrize("text, letters", [
    (" A, C", ["A", "C"]),
    (" C et A", ["A", "C"]),
    (" (B)", ["B"]),
    (" A,B,E", ["A", "B", "E"]),
    (" A, A, C", ["A", "C"]),
    (" Acide ascorbique", []),          # the capital of a word is not an answer
    (" a, c", []),                      # nor lower-case letters ("a" is a French word)
    (" F, G", []),                      # only A–E exist
    ("", []),
    (" : : :", []),
])
def test_letters_read_from_a_generated_answer(text, letters):
    assert parse_letters(text) == letters


@pytest.mark.parametrize("gold, pred, emr, hamming", [
    (["A"], ["A"], 1.0, 1.0),
    (["A", "C"], ["A", "C"], 1.0, 1.0),
    (["A", "C"], ["C", "A"], 1.0, 1.0),        # order does not matter
    (["A", "C"], ["A"], 0.0, 0.5),             # half of the union found
    (["A", "C", "D"], ["A", "B"], 0.0, 0.25),  # |{A}| / |{A,B,C,D}|
    (["B"], ["A", "C"], 0.0, 0.0),
    (["A", "B", "C", "D", "E"], ["A", "B", "C", "D"], 0.0, 0.8),
    (["A"], [], 0.0, 0.0),                     # no answer scores 0
])
def test_exact_match_and_hamming_score(gold, pred, emr, hamming):
    assert exact_match(gold, pred) == emr
    assert hamming_score(gold, pred) == pytest.approx(hamming)


def test_task_scores_one_generated_answer_per_item():
    doc = {"answers": ["A", "C", "D"]}
    assert task_utils().fmcqa_all_results(doc, [" A, D\n"]) == {"emr": 0.0, "hamming": pytest.approx(2 / 3)}
    assert task_utils().fmcqa_all_results(doc, [" D, C, A"]) == {"emr": 1.0, "hamming": 1.0}
    assert task_utils().fmcqa_all_target(doc) == "A, C, D"   # how few-shot examples show their answers
