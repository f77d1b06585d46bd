"""Prompt, document and scoring functions for FrBio Studio's lm-eval tasks (the YAML files beside this one).

Self-contained on purpose: `lm_eval` loads this file by path (`!function utils.NAME`), from our runner and from the
`lm_eval` command line alike, so it imports nothing from the project.
"""
from __future__ import annotations

import json
import re

LETTERS = "ABCDE"
# A capital A–E standing alone ("A", "A, C", "(B)"): not the capital of a word ("Acide") nor a lower-case "a".
LETTER_RE = re.compile(r"(?<![0-9A-Za-zÀ-ÖØ-öø-ÿ])([A-E])(?![0-9A-Za-zÀ-ÖØ-öø-ÿ'’])")


def load_splits(data_files: dict | None = None, **_):
    """A DatasetDict with one split per entry of `data_files` ({split: JSONL path}). Read here rather than by the
    `json` builder, which refuses splits whose records carry different fields (FrenchMedMCQA's test has one more):
    every record gets every field seen in any split (None where it has none)."""
    import datasets

    splits = {}
    for split, path in (data_files or {}).items():
        with open(path, encoding="utf-8") as f:
            splits[split] = [json.loads(line) for line in f if line.strip()]
    fields = list(dict.fromkeys(k for rows in splits.values() for row in rows for k in row))
    return datasets.DatasetDict({split: datasets.Dataset.from_list([{k: row.get(k) for k in fields} for row in rows])
                                 for split, rows in splits.items()})


def _options(doc: dict) -> list[tuple[str, str]]:
    """(label, text) pairs of a `choices` mapping, in label order, skipping labels absent from this item."""
    return [(k, v) for k, v in sorted(doc["choices"].items()) if v is not None]


# ------------------------------------------------------------------------------------------- FrenchMedMCQA

def fmcqa_text(doc: dict) -> str:
    lines = [f"Question : {doc['question'].strip()}"]
    lines += [f"{label}. {text.strip()}" for label, text in _options(doc)]
    return "\n".join(lines) + "\nRéponse :"


def fmcqa_single_docs(dataset):
    """The single-answer subset (the paper's accuracy task)."""
    return dataset.filter(lambda doc: doc["nbr_correct_answers"] == 1)


def fmcqa_single_target(doc: dict) -> int:
    return LETTERS.index(doc["answers"][0])


def fmcqa_all_target(doc: dict) -> str:
    """The answer letters as the few-shot examples show them, e.g. "A, C"."""
    return ", ".join(sorted(doc["answers"]))


def parse_letters(text: str) -> list[str]:
    """The answer letters A–E in a generated answer, sorted and without repeats ("C et A" → ["A", "C"])."""
    return sorted(set(LETTER_RE.findall(text or "")))


def exact_match(gold, predicted) -> float:
    """EMR for one item: 1 when the predicted set of letters is exactly the gold set."""
    return float(set(gold) == set(predicted))


def hamming_score(gold, predicted) -> float:
    """Hamming score for one item (DEFT-2023): |gold ∩ predicted| / |gold ∪ predicted|; 0 for an empty answer."""
    gold, predicted = set(gold), set(predicted)
    union = gold | predicted
    return len(gold & predicted) / len(union) if union else 1.0


def fmcqa_all_results(doc: dict, results: list) -> dict:
    predicted = parse_letters(results[0])
    return {"emr": exact_match(doc["answers"], predicted), "hamming": hamming_score(doc["answers"], predicted)}


# ----------------------------------------------------------------------------------------------- SIB-200

def sib_text(doc: dict) -> str:
    return f"Texte : {doc['question'].strip()}\nSujet :"


def sib_choices(doc: dict) -> list[str]:
    return [text for _, text in sorted(doc["choices_fr"].items()) if text is not None]


def sib_target(doc: dict) -> int:
    return [label for label, text in sorted(doc["choices_fr"].items()) if text is not None].index(doc["answers"][0])


# ---------------------------------------------------------------------------------------------- PubMedQA

def pubmedqa_text(doc: dict) -> str:
    return f"Abstract: {doc['context'].strip()}\nQuestion: {doc['question'].strip()}\nAnswer:"


def pubmedqa_target(doc: dict) -> int:
    return "ABC".index(doc["answers"][0])


def pubmedqa_test_docs(dataset):
    return dataset.filter(lambda doc: doc["split"] == "test")


def pubmedqa_fewshot_docs(dataset):
    return dataset.filter(lambda doc: doc["split"] != "test")


# ------------------------------------------------------------------------------ uploaded multiple choice

def custom_text(doc: dict) -> str:
    lines = [doc["question"].strip()] + [f"{label}. {text}" for label, text in zip(doc["labels"], doc["texts"])]
    return "\n".join(lines) + ("\nRéponse :" if doc.get("language", "fr") == "fr" else "\nAnswer:")


def custom_choices(doc: dict) -> list[str]:
    return list(doc["labels"])


def custom_target(doc: dict) -> int:
    return list(doc["labels"]).index(doc["answer"])
