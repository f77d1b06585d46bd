"""Exact and near-duplicate removal: real duplicates of the corpus, constructed near-duplicates, agreement of our
vectorised MinHash with datasketch's, and the report."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from backend.corpus.cleaning import CleaningConfig, clean_documents
from backend.corpus.dedup import (BLOCK_SHINGLES, dedup_documents, exact_duplicates, minhash_signatures,
                                  near_duplicates, permutations, shingle_hashes)
from tests.data_helpers import corpus_documents


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = text.split()
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = shingles(a, n), shingles(b, n)
    return len(sa & sb) / len(sa | sb)


def mutate(text: str, n_changes: int, seed: int) -> str:
    """The text with n_changes words replaced by made-up ones, at random places."""
    rnd = random.Random(seed)
    words = text.split()
    for i in rnd.sample(range(len(words)), n_changes):
        words[i] = f"mot{rnd.randrange(10**6)}"
    return " ".join(words)


def datasketch_baseline(texts: list[str], threshold: float = 0.8, n: int = 5, num_perm: int = 128) -> set[int]:
    """Indices a plain datasketch pipeline drops: MinHash.update per shingle (sha1), MinHashLSH, earliest kept."""
    mhs = []
    for text in texts:
        m = MinHash(num_perm=num_perm)
        for sh in shingles(text, n):
            m.update(" ".join(sh).encode("utf-8"))
        mhs.append(m)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    dropped: set[int] = set()
    for i, m in enumerate(mhs):
        if any(m.jaccard(mhs[j]) >= threshold for j in lsh.query(m)):
            dropped.add(i)
        lsh.insert(i, m)
    return dropped


@pytest.fixture(scope="module")
def frasimed(shared_data) -> list[str]:
    """Long real clinical cases (FRASIMED), as cleaned text."""
    docs, _ = clean_documents(corpus_documents(shared_data, "FRASIMED")[:400], CleaningConfig(), workers=1)
    return [d["text"] for d in docs if len(d["text"].split()) >= 300]


# ---------------------------------------------------------------- exact duplicates

def test_exact_duplicates_point_at_the_first_occurrence():
    assert exact_duplicates(["a", "b", "a", "c", "b", "a", "A"]) == [(2, 0), (4, 1), (5, 0)]
    assert exact_duplicates([]) == []


@pytest.mark.parametrize("source, expected", [("CNEDiMTS", 700), ("WIKIPEDIA", 68), ("ScopeSanteQualite", 1),
                                              ("Cerimes", 0), ("FRASIMED", 0)])
def test_exact_duplicates_in_the_raw_corpus(shared_data, source, expected):
    texts = [d["text"] for d in corpus_documents(shared_data, source)]
    pairs = exact_duplicates(texts)
    assert len(pairs) == expected
    assert all(texts[i] == texts[j] and j < i for i, j in pairs)
    listed = json.loads((shared_data / "corpus" / "sources.json").read_text())[source]["n_exact_duplicate_records"]
    assert len(pairs) == listed


def test_cleaned_pipeline_leaves_no_identical_texts(shared_data):
    docs = corpus_documents(shared_data, "CNEDiMTS") + corpus_documents(shared_data, "WIKIPEDIA")
    cleaned, _ = clean_documents(docs, CleaningConfig(), workers=2)
    unique, report = dedup_documents(cleaned, CleaningConfig(near_dedup=False))
    texts = [d["text"] for d in unique]
    assert len(set(texts)) == len(texts)
    # cleaning can only merge more documents (e.g. differing by spaces), never fewer
    assert report["exact"]["by_source"]["CNEDiMTS"] >= 700 and report["exact"]["by_source"]["WIKIPEDIA"] >= 68
    assert report["exact"]["removed"] == len(cleaned) - len(unique)


# ---------------------------------------------------------------- near duplicates on constructed cases

def test_a_lightly_edited_document_is_caught_an_unrelated_one_is_not(frasimed):
    original, unrelated = frasimed[0], frasimed[1]
    edited = mutate(original, 3, seed=1)
    assert jaccard(original, edited) > 0.9 and jaccard(original, unrelated) < 0.1
    pairs = near_duplicates([unrelated, original, edited], workers=1)
    assert [(i, j) for i, j, _ in pairs] == [(2, 1)]  # the edited copy goes, the earlier original stays
    assert pairs[0][2] > 0.85


def test_threshold_is_respected(frasimed):
    original = frasimed[2]
    n = len(original.split())
    variants = [mutate(original, k, seed=k) for k in (n // 200, n // 20, n // 4)]
    true = [jaccard(original, v) for v in variants]
    assert true[0] > 0.9 and 0.6 < true[1] < 0.7 and 0.1 < true[2] < 0.3
    found = {threshold: near_duplicates([original] + variants, threshold=threshold, workers=1)
             for threshold in (0.9, 0.8, 0.4, 0.05)}  # thresholds 3+ standard errors from the similarities
    assert [(i, j) for i, j, _ in found[0.9]] == [(i, j) for i, j, _ in found[0.8]] == [(1, 0)]
    assert [(i, j) for i, j, _ in found[0.4]] == [(1, 0), (2, 0)]
    assert {i for i, _, _ in found[0.05]} == {1, 2, 3}


def test_groups_keep_their_earliest_member_and_short_texts_work(frasimed):
    a, b = frasimed[3], frasimed[4]
    texts = [a, b, mutate(a, 2, seed=2), mutate(b, 2, seed=3), mutate(a, 3, seed=4),
             "Hémodialyse chronique", "Hémodialyse chronique", "", ""]
    pairs = near_duplicates(texts, workers=1)
    assert {(i, j) for i, j, _ in pairs} == {(2, 0), (3, 1), (4, 0), (6, 5), (8, 7)}


# ---------------------------------------------------------------- our signatures against datasketch's

def test_signatures_are_bit_identical_to_datasketch_for_the_same_shingles(frasimed):
    long_text = " ".join(frasimed[:60])  # more shingles than one numpy block
    texts = frasimed[:20] + ["", "un", "un deux trois quatre", long_text]
    assert len(long_text.split()) > BLOCK_SHINGLES
    sigs = minhash_signatures(texts, workers=1)
    a, b = permutations(128, 1)
    reference = MinHash(num_perm=128, seed=1)
    assert (a == reference.permutations[0]).all() and (b == reference.permutations[1]).all()
    for text, sig in zip(texts, sigs):
        hv = shingle_hashes(text, 5)
        assert len(hv) == max(1, len(text.split()) - 4)
        m = MinHash(num_perm=128, seed=1, hashfunc=int)
        m.update_batch(hv.tolist())
        assert (m.hashvalues == sig).all()


def test_jaccard_estimates_are_as_good_as_datasketch_defaults(frasimed):
    rnd = random.Random(0)
    pairs = []
    for k in range(40):
        text = frasimed[k % len(frasimed)]
        pairs.append((text, mutate(text, rnd.randrange(1, len(text.split()) // 3), seed=k)))
    true = np.array([jaccard(x, y) for x, y in pairs])
    sigs = minhash_signatures([t for pair in pairs for t in pair], workers=1)
    ours = (sigs[0::2] == sigs[1::2]).mean(axis=1)
    theirs = []
    for x, y in pairs:
        mx, my = MinHash(num_perm=128), MinHash(num_perm=128)
        mx.update_batch([" ".join(s).encode() for s in shingles(x)])
        my.update_batch([" ".join(s).encode() for s in shingles(y)])
        theirs.append(mx.jaccard(my))
    err_ours, err_theirs = np.abs(ours - true), np.abs(np.array(theirs) - true)
    assert true.min() < 0.3 and true.max() > 0.8  # a spread of similarities
    # 128 permutations: standard error up to 0.044, so an error over 0.1 happens, rarely
    assert err_ours.max() < 0.15 and (err_ours <= 0.1).mean() >= 0.9 and err_ours.mean() < 0.04
    assert err_ours.mean() < err_theirs.mean() + 0.015


def test_lsh_finds_what_datasketch_finds(frasimed):
    rnd = random.Random(1)
    texts = list(frasimed[:150])
    for k in range(40):
        text = texts[rnd.randrange(150)]
        texts.append(mutate(text, rnd.randrange(1, len(text.split()) // 30), seed=100 + k))  # Jaccard ~0.7-1
    ours = {i for i, _, _ in near_duplicates(texts, workers=1)}
    theirs = datasketch_baseline(texts)
    true = {i: max(jaccard(texts[i], t) for t in texts[:150]) for i in range(150, len(texts))}
    assert ours <= set(true) and len(ours) >= 25
    assert {i for i, j in true.items() if j > 0.9} <= ours
    # ours sees at least what datasketch's defaults see (its bands favour recall; candidates are verified)
    assert len(theirs - ours) <= 2 and len(ours) >= len(theirs)
    assert all(true[i] > 0.7 for i in ours ^ theirs)  # any disagreement is near the threshold


def test_parallel_signatures_equal_in_process(shared_data):
    texts = [d["text"] for d in corpus_documents(shared_data, "WIKIPEDIA")]  # 5.6 MB: large enough for the pool
    progress = []
    parallel = minhash_signatures(texts, workers=2, progress=lambda f, m: progress.append(f))
    assert (parallel == minhash_signatures(texts, workers=1)).all()
    assert progress[-1] == 1.0


# ---------------------------------------------------------------- dedup_documents and its report

def test_dedup_documents_report_and_switches(shared_data, frasimed):
    docs = corpus_documents(shared_data, "CNEDiMTS")[:600]
    extra = [{"id": f"edited-{k}", "source": "FRASIMED", "text": mutate(frasimed[k], 2, seed=k)} for k in range(3)]
    extra += [{"id": f"orig-{k}", "source": "FRASIMED", "text": frasimed[k]} for k in range(3)]
    docs = docs + extra
    kept, report = dedup_documents(docs, CleaningConfig())
    assert report["docs_in"] == len(docs) and report["docs_out"] == len(kept)
    assert len(docs) - len(kept) == report["exact"]["removed"] + report["near"]["removed"]
    for section in ("exact", "near"):
        assert sum(report[section]["by_source"].values()) == report[section]["removed"] > 0
    assert report["near"]["by_source"]["FRASIMED"] == 3  # the originals come later: the edited copies are kept
    kept_ids = {d["id"] for d in kept}
    assert all(f"edited-{k}" in kept_ids and f"orig-{k}" not in kept_ids for k in range(3))
    assert [d["id"] for d in kept] == [d["id"] for d in docs if d["id"] in kept_ids]  # input order
    for ex in report["near"]["examples"]:
        assert set(ex) >= {"source", "id", "kept_id", "jaccard", "text", "kept_text"} and ex["jaccard"] >= 0.5
        assert len(ex["text"]) <= 200
    assert {ex["source"] for ex in report["near"]["examples"]} == {"CNEDiMTS", "FRASIMED"}
    for ex in report["exact"]["examples"]:
        assert ex["text"] == ex["kept_text"] and ex["id"] != ex["kept_id"]

    # exact off: identical texts are still caught, as near-duplicates of Jaccard 1
    kept_near, report_near = dedup_documents(docs, CleaningConfig(exact_dedup=False))
    assert report_near["exact"]["removed"] == 0 and len(kept_near) <= len(kept) + 3
    assert len({d["text"] for d in kept_near}) == len(kept_near)
    kept_none, report_none = dedup_documents(docs, CleaningConfig(exact_dedup=False, near_dedup=False))
    assert kept_none == docs and report_none["near"]["removed"] == 0
