"""Contamination check (issue 14): a benchmark question planted in a source of a snapshot's training split is flagged
(and no other item of an unrelated benchmark), the longest shared span is its length, the result lands in the
snapshot's manifest and dataset card, and the CLI prints it."""
from __future__ import annotations

import json
import random

import pytest

from backend.corpus import catalogue, snapshot
from backend.corpus.recipe import Recipe
from backend.evaluation import contamination
from backend.evaluation.config import EvalError
from backend.evaluation.tasks import get_task
from frbio_core.registry import connect
from frbio_core.settings import Settings
from tests.data_helpers import data_folder, home_with_default_model


@pytest.fixture(scope="module")
def planted(tmp_path_factory, shared_data, default_model_home):
    root = tmp_path_factory.mktemp("contamination")
    data = data_folder(shared_data, root / "data", ["mantra_gsc"], [])
    (data / "bench").symlink_to(shared_data / "bench", target_is_directory=True)
    home = home_with_default_model(root / "home", default_model_home)
    settings = Settings(home=str(home), data=[str(data)], import_default_model=False)
    db = connect(settings.db_path)
    spec = get_task(settings, "frenchmedmcqa_single")
    items = contamination.test_items(settings, spec)
    item_id, text = items[7]
    rng = random.Random(0)
    vocab = "patient traitement dose hôpital symptôme examen fièvre analyse service médecin risque suivi".split()
    docs = [" ".join(rng.choice(vocab) + str(rng.randrange(10 ** 6)) for _ in range(300)) + ". Question d'examen : "
            + text + " Fin de l'extrait." for _ in range(12)]
    (data / "corpus" / "planted.jsonl").write_text("".join(json.dumps({"text": d}) + "\n" for d in docs), "utf-8")
    sidecar = json.loads((data / "corpus" / "sources.json").read_text())
    sidecar["planted"] = {"license": "CC-BY-4.0", "commercial_use": True, "document_type": "course"}
    (data / "corpus" / "sources.json").write_text(json.dumps(sidecar))
    catalogue.scan(db, [data])
    snap = snapshot.build_snapshot(db, home, Recipe(sources=["mantra_gsc", "planted"]))
    return {"settings": settings, "db": db, "snap": snap["snapshot_id"], "items": items, "item_id": item_id, "text": text}


def test_a_planted_question_is_flagged_and_written_to_the_manifest_and_card(planted):
    report = contamination.check(planted["db"], planted["settings"], planted["snap"],
                                 tasks=["frenchmedmcqa_single", "sib200_fr"])
    by = {b["task"]: b for b in report["benchmarks"]}
    fmcqa, sib = by["frbio_frenchmedmcqa_single"], by["frbio_sib200_fr"]
    assert fmcqa["items"] == len(planted["items"]) == 321 and sib["items"] == 204
    ids = {f["id"] for f in fmcqa["flagged_items"]}
    assert planted["item_id"] in ids and sib["flagged"] == 0
    words = len(contamination.normalize(planted["text"]).split())
    assert fmcqa["longest"] >= min(words, 13) and next(f for f in fmcqa["flagged_items"]
                                                        if f["id"] == planted["item_id"])["longest"] == words
    assert sum(fmcqa["histogram"].values()) == 321
    manifest = snapshot.load_manifest(planted["db"], planted["snap"])
    assert manifest["contamination"]["benchmarks"][0]["flagged"] == fmcqa["flagged"]
    card = (snapshot.existing_snapshot(planted["db"], planted["snap"])["path"])
    text = open(f"{card}/README.md", encoding="utf-8").read()
    assert "## Benchmark contamination" in text and f"| FrenchMedMCQA (single answer) | 321 | {fmcqa['flagged']} |" in text
    assert planted["item_id"] in contamination.flagged_ids(planted["db"], planted["snap"],
                                                           "frbio_frenchmedmcqa_single")
    assert contamination.summary_lines(report)[0].startswith(f"{fmcqa['flagged']} of 321 FrenchMedMCQA")


def test_a_flag_shorter_than_the_ngram_is_refused(planted):
    with pytest.raises(EvalError, match="at least the n-gram size"):
        contamination.check(planted["db"], planted["settings"], planted["snap"], flag_n=5, min_n=8)


def test_spans_are_counted_from_consecutive_ngrams():
    corpus = ["le patient présente une fièvre élevée depuis trois jours avec une toux sèche et des frissons intenses"]
    index = contamination.corpus_index(corpus, 4)
    texts = ["Fièvre élevée depuis trois jours, avec une toux !", "rien à voir avec le sujet du corpus ici",
             "patient présente"]
    assert contamination.longest_shared(texts, index, 4) == [8, 0, 0]


def test_compare_marks_flagged_items_and_scores_the_clean_ones(planted):
    from backend.evaluation.compare import collect, drill_down, drill_table, long_rows
    from backend.evaluation.config import EvalConfig
    from backend.evaluation.runner import run_eval
    from backend.models.importing import make_tiny_model
    from backend.models.registry import register_model

    db, settings = planted["db"], planted["settings"]
    contamination.check(db, settings, planted["snap"], tasks=["frenchmedmcqa_single"])
    home = settings.home_path
    make_tiny_model(home, name="tiny-ref", seed=1, db=db)
    trained = make_tiny_model(home, name="tiny-trained", seed=2, db=db)
    register_model(db, trained["path"], model_id="tiny-trained", kind="dapt", snapshot_id=planted["snap"],
                   refresh=True)                                  # as if DAPT-trained on the planted snapshot
    cfg = EvalConfig(tasks=["frenchmedmcqa_single"], limit=10, batch_size=5, fewshot_medical=0)
    for model in ("tiny-ref", "tiny-trained"):
        run_eval(db, settings, cfg.model_copy(update={"model": model}))
    task = "frbio_frenchmedmcqa_single"
    full = collect(db, settings, ["tiny-ref", "tiny-trained"], cfg)
    rows = drill_down(db, full, task)
    marked = [r["item_id"] for r in rows if r["contaminated"]]
    assert planted["item_id"] in marked and drill_table(full, rows)[1][[r["item_id"] for r in rows].index(
        planted["item_id"])][0].startswith("⚠ ")
    clean = collect(db, settings, ["tiny-ref", "tiny-trained"], cfg, clean=True)
    n_full = {r["model"]: r["n"] for r in long_rows(full)}
    n_clean = {r["model"]: (r["n"], r["n_paired"], r["clean"]) for r in long_rows(clean)}
    assert n_full == {"tiny-ref": 10, "tiny-trained": 10}
    assert n_clean["tiny-ref"][0] == n_clean["tiny-trained"][0] == 10 - len(marked)
    assert n_clean["tiny-trained"][1:] == (10 - len(marked), True)
