"""The evidence behind each difference a comparison shows: for every benchmark metric and every model against the
reference, the paired statistics of backend.evaluation.paired on the items both answered (from `eval_items`, the
per-item rows stored with each evaluation), Holm-corrected across the whole comparison.

Only items evaluated under the same settings are paired: two results of one task whose settings differ (few-shot
count, seed, limit…) are not compared, and `EvidenceError` says which setting differs. Per-block perplexity is
paired the same way once the blocks' losses are stored (evaluations made before that have none: their rows show no
test, said as such).
"""
from __future__ import annotations

import numpy as np

from backend.evaluation import store
from backend.evaluation.config import EvalError
from backend.evaluation.paired import RESAMPLES, SEED, Paired, compare_many, holm
from backend.evaluation.tasks import PERPLEXITY

Key = tuple[str, str, str]     # (model id, task, metric)


class EvidenceError(EvalError):
    """Two results that cannot be paired (different settings)."""


def _scores(rows: list[dict], metric: str, headline: str) -> dict[str, tuple[float, float]]:
    """item id → (the item's score for `metric`, its weight): the stored per-sample metric (the headline one is
    `score`) with weight 1, or for a perplexity block its mean NLL weighted by its tokens."""
    out = {}
    for row in rows:
        detail = row.get("detail") or {}
        value = detail.get(metric)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            value = row.get("score") if metric == headline and "tokens" not in detail else None   # not a block
        if isinstance(value, (int, float)):
            out[row["item_id"] or str(row["doc_id"])] = (float(value), float(detail.get("tokens") or 1))
    return out


def clean_value(db, result: dict, metric: str, headline: str, exclude: set[str]) -> tuple:
    """(mean, standard error, items) of `metric` over the result's items not in `exclude`."""
    scores = [v for key, (v, _) in _scores(store.items(db, result["id"]), metric, headline).items()
              if key not in exclude]
    if not scores:
        return None, None, 0
    values = np.array(scores)
    stderr = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None
    return float(values.mean()), stderr, len(values)


def check_same_settings(task: str, reference: dict, other: dict) -> None:
    """EvidenceError naming the settings that differ between two results of `task`."""
    if reference.get("settings_hash") == other.get("settings_hash"):
        return
    a, b = reference.get("settings") or {}, other.get("settings") or {}
    differ = [f"{k} {a.get(k)!r} vs {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    raise EvidenceError(f"{task}: '{reference['model_id']}' and '{other['model_id']}' were evaluated with different "
                        f"settings ({'; '.join(differ) or 'unknown'}): their items are not paired")


def paired_results(db, comp, resamples: int = RESAMPLES, seed: int = SEED) -> dict[Key, Paired]:
    """Every (model, task, metric) against the reference, Holm-corrected together. Models whose results are not
    there yet are left out (their evidence comes when their evaluation does)."""
    from backend.evaluation.compare import lower_is_better

    ref = comp.models[0]["id"]
    results: list[Paired] = []
    for spec in comp.tasks:
        base = comp.result(ref, spec.name)
        if base is None:
            continue
        base_rows = store.items(db, base["id"])
        others = {}
        for model in comp.models[1:]:
            result = comp.result(model["id"], spec.name)
            if result is not None:
                check_same_settings(spec.name, base, result)
                others[model["id"]] = store.items(db, result["id"])
        excluded = comp.excluded(spec.name)
        for metric in spec.metrics:
            reference = _scores(base_rows, metric, spec.metrics[0])
            by_items: dict[tuple, dict[str, dict[str, float]]] = {}
            for model_id, rows in others.items():
                scores = _scores(rows, metric, spec.metrics[0])
                common = tuple(sorted((set(reference) & set(scores)) - excluded))
                if common:
                    by_items.setdefault(common, {})[model_id] = scores
            for items, models in by_items.items():   # one joint resampling per set of shared items
                ppl = spec.kind == PERPLEXITY       # per-block mean NLL: token-weighted, Δ in perplexity
                results += compare_many(spec.name, metric, np.array([reference[i][0] for i in items]),
                                        {m: np.array([s[i][0] for i in items]) for m, s in models.items()},
                                        lower_is_better(metric), resamples, seed,
                                        weights=np.array([reference[i][1] for i in items]) if ppl else None,
                                        transform=np.exp if ppl else None)
    holm(results)
    return {(r.model, r.task, r.metric): r for r in results}
