"""Running an evaluation: for one model, every requested task whose result is not cached yet.

Benchmarks go through lm-eval exactly as its command line does: `HFLM(pretrained=<model folder>, batch_size=…,
device=…)` (the same loader, dtype 'auto') and `simple_evaluate` with the default seeds, on the rendered task folder
(`TaskManager(include_path=folder, include_defaults=False)`), so the scores equal those of `lm_eval run --model hf
--model_args pretrained=<folder> --include_path <folder> --tasks <task>` with the same few-shot count, limit and batch
size. Perplexity reuses the training code (backend.training: the snapshot's token streams, the same blocks, the same
loss). Each task's result is stored as soon as it is done (a cancelled job keeps the finished ones).
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from backend.evaluation import store
from backend.evaluation.config import EvalConfig, EvalError
from backend.evaluation.tasks import (PERPLEXITY, TaskSpec, get_task, num_fewshot, render, resolve_snapshot_id,
                                      run_settings)
from frbio_core.settings import Settings

Progress = Callable[[float, str], None]


@dataclass
class Planned:
    spec: TaskSpec
    settings: dict
    settings_hash: str
    cached: dict | None


def resolve_model(db, model_id: str) -> dict:
    from backend.models.resolve import resolve_model as resolve

    return resolve(db, model_id, error=EvalError, check_files=False)


def validate(db, settings: Settings, cfg: EvalConfig) -> None:
    """What can be checked before queuing without the data folders: the model is registered, every task is known,
    a perplexity task has a snapshot and a block size within the model's context."""
    model = resolve_model(db, cfg.model)
    for name in cfg.tasks:
        spec = get_task(settings, name)
        if spec.kind == PERPLEXITY:
            resolve_snapshot_id(db, cfg.snapshot)
            context = model.get("context_length")
            if context and cfg.ppl_block_size > context:
                raise EvalError(f"ppl_block_size {cfg.ppl_block_size} is above the context length of "
                                f"'{model['id']}' ({context})")


def plan(db, settings: Settings, cfg: EvalConfig) -> tuple[dict, str, list[Planned]]:
    """(model row, its content hash, one Planned per task with its cached row or None). EvalError for an unknown
    model or task, or missing data."""
    validate(db, settings, cfg)
    model = resolve_model(db, cfg.model)
    content_hash = store.model_hash(db, model)
    out = []
    for name in cfg.tasks:
        spec = get_task(settings, name)
        run = run_settings(db, settings, spec, cfg)
        h = store.settings_hash(run)
        out.append(Planned(spec, run, h, store.lookup(db, content_hash, spec.name, h)))
    return model, content_hash, out


@contextmanager
def reporting_bars(report: Callable[[int, int, str], None]):
    """While inside, lm-eval's model progress bars (log-likelihood and generation requests) also call
    report(done, total, description); the bars and their order of work are unchanged."""
    import lm_eval.models.huggingface as hf

    base = hf.tqdm

    class Bar(base):
        def update(self, n=1):
            out = super().update(n)
            report(int(self.n), int(self.total or 0), str(self.desc or ""))
            return out

    hf.tqdm = Bar
    try:
        yield
    finally:
        hf.tqdm = base


def load_lm(model: dict, device: str, batch_size: int):
    from lm_eval.models.huggingface import HFLM

    try:
        return HFLM(pretrained=model["path"], batch_size=batch_size, device=device, dtype="auto",
                    trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001 — any loading failure becomes one clear line
        raise EvalError(f"model '{model['id']}' cannot be loaded from {model['path']}: "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}") from exc


def run_eval(db, settings: Settings, cfg: EvalConfig, device: str = "cpu", progress: Progress | None = None,
             log: Callable[[str], None] | None = None, job_id: str | None = None, owner: str | None = None) -> dict:
    """Evaluate `cfg.model` on each task of `cfg.tasks` not cached yet; returns {model, content_hash, evals: [...]}
    with one entry per task (eval id, metrics, whether it came from the cache)."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    report = progress or (lambda f, m: None)
    say = log or (lambda m: None)
    model, content_hash, planned = plan(db, settings, cfg)
    todo = [p for p in planned if p.cached is None]
    lm = None
    for i, p in enumerate(todo):
        start = time.monotonic()
        base, span = i / len(todo), 1 / len(todo)
        report(base, f"{p.spec.title}: loading")
        if lm is None:
            lm = load_lm(model, device, cfg.batch_size)

        def bar(done, total, desc, base=base, span=span, title=p.spec.title):
            if total:  # the message moves in tenths (each new message is a log line); the fraction moves always
                tenth = 10 * done // total
                report(base + span * min(1.0, done / total), f"{title}: {desc.lower()} ({tenth * 10}%)")

        with reporting_bars(bar):
            if p.spec.kind == PERPLEXITY:
                metrics, n, files, items = _perplexity(db, settings, cfg, lm, device, p.settings["snapshot"])
            else:
                metrics, n, files, items = _benchmark(settings, cfg, lm, p.spec)
        duration = time.monotonic() - start
        p.cached = store.save(db, settings.home_path, model=model, content_hash=content_hash, task=p.spec.name,
                              run_settings=p.settings, metrics=metrics, n_samples=n, files=files, item_rows=items,
                              job_id=job_id, owner=owner, duration_s=round(duration, 3))
        p.cached["fresh"] = True
        say(f"{p.spec.name}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()
                                           if v is not None and not k.endswith("_stderr"))
            + f" ({n} items, {duration:.1f} s)")
    report(1.0, "done")
    return {"model": model["id"], "content_hash": content_hash,
            "evals": [{"task": p.spec.name, "eval_id": p.cached["id"], "metrics": p.cached["metrics"],
                       "n_samples": p.cached["n_samples"], "cached": not p.cached.get("fresh", False)}
                      for p in planned]}


def _benchmark(settings: Settings, cfg: EvalConfig, lm, spec: TaskSpec):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager
    from lm_eval.utils import handle_non_serializable

    folder = render(settings, spec)
    manager = TaskManager(include_path=str(folder), include_defaults=False)
    try:
        results = simple_evaluate(model=lm, tasks=[spec.name], num_fewshot=num_fewshot(spec, cfg), limit=cfg.limit,
                                  task_manager=manager, log_samples=True, fewshot_random_seed=cfg.fewshot_seed)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise EvalError(f"{spec.short}: lm-eval could not run the task: {exc}") from exc
    samples = results.pop("samples")[spec.name]
    metrics = {}
    for key, value in results["results"][spec.name].items():
        if "," not in key:
            continue
        name = key.split(",")[0]
        metrics[name] = value if isinstance(value, (int, float)) else None
    dump = lambda obj: json.dumps(obj, default=handle_non_serializable, ensure_ascii=False)  # noqa: E731
    files = {"results.json": json.dumps(results, indent=2, default=handle_non_serializable, ensure_ascii=False),
             "samples.jsonl": "".join(dump(s) + "\n" for s in samples),
             "task_folder.txt": str(folder) + "\n"}
    return metrics, len(samples), files, [item_row(spec, s) for s in samples]


def item_row(spec: TaskSpec, sample: dict) -> dict:
    """One drill-down row from an lm-eval sample: the question, the gold answer, the model's answer, the score."""
    doc = sample["doc"]
    resps = sample["filtered_resps"]
    row = {"doc_id": int(sample["doc_id"]), "item_id": str(doc.get("id") or sample["doc_id"]),
           "question": str(doc.get("question") or "")}
    metrics = {m: sample.get(m) for m in sample.get("metrics", [])}
    if resps and isinstance(resps[0], (tuple, list)):          # multiple choice: one log-likelihood per choice
        choices = [str(args[1]).strip() for args in sample["arguments"]]
        lls = [float(r[0]) for r in resps]
        best = max(range(len(lls)), key=lls.__getitem__)
        target = sample["target"]
        gold = choices[target] if isinstance(target, int) and 0 <= target < len(choices) else str(target)
        row.update(gold=gold, pred=choices[best], score=_num(sample.get(spec.metrics[0])),
                   detail={**metrics, "choices": choices, "loglikelihoods": [round(x, 4) for x in lls]})
    else:                                                        # generated answer
        from backend.evaluation.scoring import parse_letters

        raw = str(resps[0]) if resps else ""
        row.update(gold=str(sample["target"]), pred=", ".join(parse_letters(raw)) or "—",
                   score=_num(sample.get(spec.metrics[0])), detail={**metrics, "generated": raw})
    return row


def _num(value):
    return float(value) if isinstance(value, (int, float, bool)) else None


def _perplexity(db, settings: Settings, cfg: EvalConfig, lm, device: str, snapshot_id: str):
    from backend.training.data import eval_blocks, load_streams
    from backend.training.loop import evaluate, ppl_key

    snap = next(iter(db["snapshots"].rows_where("id = ?", [snapshot_id], limit=1)))
    tokenizer, model = lm.tokenizer, lm.model
    vocab = max(int(getattr(model.config, "vocab_size", 0) or 0), len(tokenizer))
    context = getattr(model.config, "max_position_embeddings", None)
    if context and cfg.ppl_block_size > context:
        raise EvalError(f"ppl_block_size {cfg.ppl_block_size} is above the model's context length ({context})")
    streams, cache, _ = load_streams(Path(snap["path"]), tokenizer, vocab,
                                     fallback_cache=settings.folder("cache") / "tokens")
    sets = {name: eval_blocks(s, cfg.ppl_block_size, cfg.ppl_max_blocks) for name, s in streams.items()
            if name != "train" and len(s) >= 2}
    per_block: dict = {}
    metrics = evaluate(model, sets, cfg.batch_size, device, bf16=False, per_block=per_block)
    items, doc = [], 0
    for name, values in per_block.items():       # one item per block: its mean NLL (log-perplexity), for paired tests
        for i, (nll, tokens) in enumerate(values):
            items.append({"doc_id": doc, "item_id": f"{name}/{i:05d}", "question": f"{name} block {i}", "gold": "",
                          "pred": "", "score": nll, "detail": {ppl_key(name): nll, "tokens": tokens}})
            doc += 1
    blocks = {name: len(b) for name, b in sets.items()}
    tokens = {name: int(sum(len(x) for x in b)) for name, b in sets.items()}
    summary = {"snapshot": snapshot_id, "metrics": metrics, "blocks": blocks, "tokens": tokens,
               "block_size": cfg.ppl_block_size, "token_cache": str(cache)}
    return metrics, sum(blocks.values()), {"perplexity.json": json.dumps(summary, indent=2)}, items
