"""Benchmark: tokens/s of our DAPT training job against a plain Hugging Face Trainer causal-LM script, in the same
run, on the real default model (SmolLM2-135M) and the same real data, hyperparameters and number of steps.

OURS      the `train` job kind's runner (backend.training.loop.run_dapt) on a snapshot: packed blocks without
          padding, fused AdamW, bf16 autocast ('auto' precision) or fp32; also with torch.compile (inductor).
BASELINE  the plain way (transformers' run_clm.py reduced to its core): datasets.map(tokenizer) over the same
          snapshot's train.parquet, `group_texts` packing into blocks, `default_data_collator`, `Trainer` with
          TrainingArguments(bf16=…/fp32, use_cpu) and the same lr 2e-5 cosine, no warm-up, weight decay 0.05,
          clipping 1.0, micro-batch, accumulation, steps and seed.

Each variant runs in its own fresh Python process (`--child VARIANT`). Tokens/s is the steady state: the optimizer
steps after the first `--warmup` ones (OURS from its per-step metrics, BASELINE from a callback timing each
Trainer step). Also: padding fraction (positions that are padding or ignored labels in the batches trained on),
peak memory (RSS of the process tree sampled with psutil, and the child's ru_maxrss), and validation perplexity
after training, computed by the same function on the same blocks for every variant (domain validation split,
general French, general English): the loss-curve quality check. The ceiling: matmul GFLOP/s measured here in fp32
and bf16 (torch, all threads), divided by 6 × parameters FLOPs per token.

    .venv/bin/python bench/train_throughput.py                       # default variants, ~10 minutes on 2 cores
    .venv/bin/python bench/train_throughput.py --variants ours-bf16,baseline-bf16 --steps 6

Writes bench/results/train_throughput.json and the table in bench/README.md (default --out only).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import harness
from harness import ROOT, shared_data

harness.env_defaults(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

RESULTS = harness.BENCH / "results" / "train_throughput.json"
VARIANTS = ("baseline-fp32", "ours-fp32", "ours-fp32-compile", "baseline-bf16", "ours-bf16", "ours-bf16-compile",
            "ours-bf16-seed43",
            "baseline-bf16-seed43")
DEFAULT_VARIANTS = "baseline-fp32,ours-fp32,ours-fp32-compile,baseline-bf16,ours-bf16,ours-bf16-compile"
SOURCES = ["mantra_gsc", "pxcorpus", "ECDC", "ScopeSanteQualite", "WMT-18-Medline"]
GENERAL = ["UD_French-Sequoia.dev", "UD_French-GSD.test", "UD_English-EWT.dev"]
SIZES = ("steps", "warmup", "micro_batch", "grad_accum", "block", "eval_batches")  # flags passed on to children


# ------------------------------------------------------------------------------------------------ setup

def prepare(work: Path) -> dict:
    """A home holding the default model (hard-linked from ./frbio_home, converted there first if needed), a data
    folder with a few real sources and general-domain validation files, and a snapshot built from them."""
    from frbio_core import registry
    from backend.corpus import catalogue, snapshot
    from backend.corpus.recipe import Recipe
    from backend.default_model import DEFAULT_MODEL_NAME, default_model_dir, import_default_model
    from backend.models.importing import register_default

    source_home = ROOT / "frbio_home"
    import_default_model(source_home, log=lambda m: print(m, file=sys.stderr))
    home, data = work / "home", work / "data"
    (home / "models").mkdir(parents=True)
    harness.link_tree(default_model_dir(source_home), home / "models" / DEFAULT_MODEL_NAME)
    for sub, names in (("corpus", SOURCES), ("general", GENERAL)):
        (data / sub).mkdir(parents=True)
        for name in names:
            os.symlink(shared_data() / sub / f"{name}.jsonl.gz", data / sub / f"{name}.jsonl.gz")
        shutil.copy(shared_data() / sub / "sources.json", data / sub)
    db = registry.connect(home / "frbio.db")
    catalogue.scan(db, [data])
    register_default(db, home)
    snap = snapshot.build_snapshot(db, home, Recipe(name="bench", sources=SOURCES, license_mode="research"))
    return {"home": str(home), "data": str(data), "snapshot": snap["snapshot_id"],
            "train_docs": snap["out"]["train"]["docs"], "train_tokens": snap["out"]["train"]["tokens"]}


def train_config(args, snapshot: str, precision: str, compile_: bool, seed: int = 42) -> dict:
    return {"base_model": "smollm2-135m-instruct", "snapshot": snapshot, "max_steps": args.steps,
            "micro_batch_size": args.micro_batch, "grad_accum": args.grad_accum, "block_size": args.block,
            "precision": precision, "compile": "on" if compile_ else "off", "eval_every": 0, "eval_batches": args.eval_batches,
            "save_every": 0, "seed": seed}


def eval_sets(home: Path, snapshot: str, tokenizer, block: int, blocks: int) -> dict:
    from backend.training.data import eval_blocks, load_streams

    streams, _, _ = load_streams(home / "snapshots" / snapshot, tokenizer, len(tokenizer))
    return {name: eval_blocks(s, block, blocks) for name, s in streams.items() if name != "train"}


# ------------------------------------------------------------------------------------------------ children

def run_ours(args, setup: dict, precision: str, compile_: bool, seed: int = 42) -> dict:
    from backend.studio import Studio
    from frbio_core import registry
    from frbio_core.settings import Settings
    from jobs import store
    from jobs.kinds import get_kind
    from jobs.reporter import Reporter

    home = Path(setup["home"])
    db = registry.connect(home / "frbio.db")
    job_id = store.submit(db, home, "train", train_config(args, setup["snapshot"], precision, compile_, seed))
    row = store.get(db, job_id)
    kind = get_kind("train")
    studio = Studio(Settings(home=str(home), data=[setup["data"]], import_default_model=False))
    job = Reporter(home, row)
    start = time.perf_counter()
    result = kind.run(studio, kind.validate(row["config"]), job)
    wall = time.perf_counter() - start
    steps = [m for m in store.read_metrics(job.job_dir) if "loss" in m]
    timed = steps[args.warmup:]
    tokens = sum(args.micro_batch * args.grad_accum * args.block for _ in timed)
    data = next(m for m in store.read_metrics(job.job_dir) if m.get("stage") == "data")
    ppl = {k: v for k, v in result.items() if k.endswith("_ppl") or "_ppl_" in k}
    shutil.rmtree(result["model_path"], ignore_errors=True)   # 0.5 GB per run
    return {"tokens_per_s": tokens / sum(m["step_s"] for m in timed), "step_s": [m["step_s"] for m in steps],
            "losses": [m["loss"] for m in steps], "padding_fraction": data["padding_fraction"], "ppl": ppl,
            "initial_ppl": result.get("initial"), "wall_s": wall, "precision": result["precision"]}


def run_baseline(args, setup: dict, bf16: bool, seed: int = 42) -> dict:
    """transformers' run_clm.py, reduced to its core (tokenize → group_texts → Trainer)."""
    from itertools import chain

    import pyarrow.parquet as pq
    import torch
    from datasets import Dataset
    from transformers import (AutoModelForCausalLM, AutoTokenizer, Trainer, TrainerCallback, TrainingArguments,
                              default_data_collator)

    from backend.training.loop import evaluate

    home = Path(setup["home"])
    start = time.perf_counter()
    model_dir = home / "models" / "smollm2-135m-instruct"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    texts = pq.read_table(home / "snapshots" / setup["snapshot"] / "train.parquet", columns=["text"])["text"]
    raw = Dataset.from_dict({"text": texts.to_pylist()})
    tokenized = raw.map(lambda batch: tokenizer(batch["text"]), batched=True, remove_columns=["text"])
    block = args.block

    def group_texts(examples):
        concatenated = {k: list(chain(*examples[k])) for k in examples.keys()}
        total = (len(concatenated["input_ids"]) // block) * block
        result = {k: [t[i:i + block] for i in range(0, total, block)] for k, t in concatenated.items()}
        result["labels"] = result["input_ids"].copy()
        return result

    lm = tokenized.map(group_texts, batched=True)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    seen = {"positions": 0, "ignored": 0}

    def collate(features):
        batch = default_data_collator(features)
        seen["positions"] += batch["labels"].numel()
        seen["ignored"] += int((batch["labels"] == -100).sum())
        if "attention_mask" in batch:
            seen["ignored"] += int((batch["attention_mask"] == 0).sum())
        return batch

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times, self.losses, self._t0 = [], [], 0.0

        def on_step_begin(self, *a, **k):
            self._t0 = time.perf_counter()

        def on_step_end(self, *a, **k):
            self.times.append(time.perf_counter() - self._t0)

        def on_log(self, _args, _state, _control, logs=None, **k):
            if logs and "loss" in logs:
                self.losses.append(logs["loss"])

    timer = StepTimer()
    out = Path(tempfile.mkdtemp(prefix="bench-trainer-"))
    targs = TrainingArguments(output_dir=str(out), per_device_train_batch_size=args.micro_batch,
                              gradient_accumulation_steps=args.grad_accum, learning_rate=2e-5,
                              lr_scheduler_type="cosine", warmup_steps=0, weight_decay=0.05, max_grad_norm=1.0,
                              max_steps=args.steps, bf16=bf16, use_cpu=True, logging_steps=1, save_strategy="no",
                              eval_strategy="no", report_to=[], seed=seed, dataloader_num_workers=0,
                              disable_tqdm=True)
    trainer = Trainer(model=model, args=targs, train_dataset=lm, data_collator=collate, callbacks=[timer])
    trainer.train()
    shutil.rmtree(out, ignore_errors=True)
    timed = timer.times[args.warmup:]
    tokens = len(timed) * args.micro_batch * args.grad_accum * block
    sets = eval_sets(home, setup["snapshot"], tokenizer, block, args.eval_batches * args.micro_batch)
    ppl = evaluate(model, sets, args.micro_batch, "cpu", bf16)
    return {"tokens_per_s": tokens / sum(timed), "step_s": [round(t, 3) for t in timer.times],
            "losses": timer.losses, "padding_fraction": seen["ignored"] / max(1, seen["positions"]), "ppl": ppl,
            "wall_s": time.perf_counter() - start, "precision": "bf16" if bf16 else "fp32",
            "optimizer": type(trainer.optimizer.optimizer if hasattr(trainer.optimizer, "optimizer")
                              else trainer.optimizer).__name__ + (" (fused)" if trainer.args.optim == "adamw_torch_fused"
                                                                   else ""),
            "torch_threads": torch.get_num_threads()}


def run_ceiling() -> dict:
    from backend.training.estimate import matmul_flops

    return {"fp32_flops": matmul_flops("cpu", "fp32", seconds=2.0), "bf16_flops": matmul_flops("cpu", "bf16", seconds=2.0)}


def child(variant: str, setup: dict, args, result_path: Path) -> None:
    import torch

    if variant == "ceiling":
        result = run_ceiling()
    elif variant.startswith("baseline"):
        result = run_baseline(args, setup, bf16="bf16" in variant, seed=43 if variant.endswith("seed43") else 42)
    else:
        result = run_ours(args, setup, "bf16" if "bf16" in variant else "fp32", variant.endswith("compile"),
                          seed=43 if variant.endswith("seed43") else 42)
    result["ru_maxrss_mb"] = harness.maxrss_mb()
    result["torch_threads"] = torch.get_num_threads()
    harness.write_results(result_path, result)


# ------------------------------------------------------------------------------------------------ parent

def run_variant(variant: str, setup: dict, args) -> dict:
    """One variant in a fresh process (quiet); the RSS of its process tree sampled every 0.1 s."""
    flags = [x for k in SIZES for x in (f"--{k.replace('_', '-')}", getattr(args, k))]
    with tempfile.TemporaryDirectory() as cache:
        # a fresh inductor cache: the compile variant pays its full (cold) compile time, as a first run would
        run = harness.run_child(__file__, ["--child", variant, "--setup", json.dumps(setup), *flags], name=variant,
                                interval=0.1, quiet=True, env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache})
    return {**run.result, "variant": variant, "process_wall_s": run.wall_s, "peak_rss_mb": run.peak_rss_mb}


def summarise(report: dict) -> None:
    runs = {r["variant"]: r for r in report["runs"]}
    per_token = 6 * report["parameters"]
    ceiling = report.get("ceiling") or {}
    if ceiling:
        report["ceiling_tokens_per_s"] = {"fp32": ceiling["fp32_flops"] / per_token,
                                          "bf16": ceiling["bf16_flops"] / per_token}
    for r in report["runs"]:
        key = "bf16" if "bf16" in r["variant"] else "fp32"
        r["achieved_flops"] = r["tokens_per_s"] * per_token
        if ceiling:
            r["fraction_of_ceiling"] = r["tokens_per_s"] / report["ceiling_tokens_per_s"][key]
        base = runs.get(f"baseline-{key}")
        if r["variant"].endswith("seed43"):
            base = None     # a noise reference, not a comparison
        if base and not r["variant"].startswith("baseline"):
            r["speedup_vs_baseline"] = r["tokens_per_s"] / base["tokens_per_s"]
            r["ppl_relative_difference_vs_baseline"] = {
                k: (r["ppl"][k] - base["ppl"][k]) / base["ppl"][k] for k in r["ppl"] if k in base["ppl"]}
    best = max((r for r in report["runs"] if r["variant"].startswith("ours")), key=lambda r: r["tokens_per_s"],
               default=None)
    slowest_base = runs.get("baseline-bf16") or runs.get("baseline-fp32")
    if best and slowest_base:
        report["best_ours"] = {"variant": best["variant"], "tokens_per_s": best["tokens_per_s"],
                               "speedup_vs_best_baseline": best["tokens_per_s"] / max(
                                   r["tokens_per_s"] for r in report["runs"] if r["variant"].startswith("baseline"))}


def readme_table(report: dict) -> str:
    m, c = report["machine"], report["config"]
    lines = [f"Machine: {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}, torch {m['torch']}; run {m['date']}; "
             f"load average at start {m['load_average_at_start']:.2f}. Model SmolLM2-135M ({report['parameters']:,} "
             f"parameters), {c['steps']} steps of {c['micro_batch']} × {c['block']} tokens (grad_accum "
             f"{c['grad_accum']}), lr 2e-5 cosine, weight decay 0.05; tokens/s over steps {c['warmup'] + 1}–"
             f"{c['steps']}; perplexity after the {c['steps'] * c['micro_batch'] * c['grad_accum'] * c['block']:,} "
             f"training tokens, on {c['eval_batches'] * c['micro_batch']} blocks per set.", ""]
    ceiling = report.get("ceiling_tokens_per_s")
    if ceiling:
        lines += [f"Ceiling on this CPU: matmul {report['ceiling']['fp32_flops'] / 1e9:.0f} GFLOP/s fp32 and "
                  f"{report['ceiling']['bf16_flops'] / 1e9:.0f} GFLOP/s bf16 measured now, 6 × parameters = "
                  f"{6 * report['parameters'] / 1e9:.2f} GFLOP per token → **{ceiling['fp32']:.0f} tokens/s fp32, "
                  f"{ceiling['bf16']:.0f} tokens/s bf16**.", ""]
    nan = float("nan")
    rows = [[r["variant"], f"**{r['tokens_per_s']:.0f}**", f"{r.get('speedup_vs_baseline', 1.0):.2f}×",
             f"{100 * r.get('fraction_of_ceiling', 0):.0f} %", f"{r['step_s'][0]:.1f}", f"{r['padding_fraction']:.1%}",
             f"{r['peak_rss_mb']:.0f}", *(f"{r['ppl'].get(k, nan):.2f}" for k in ("domain_ppl", "general_ppl",
                                                                                 "general_ppl_en")),
             f"{r['process_wall_s']:.0f}"] for r in report["runs"]]
    lines.append(harness.markdown_table(
        ["variant", "tokens/s", "× baseline (same precision)", "% of ceiling", "first step (s)", "padding",
         "peak RSS (MB)", "domain ppl", "general fr ppl", "general en ppl", "wall (s)"], rows))
    initial = next((r.get("initial_ppl") for r in report["runs"] if r.get("initial_ppl")), None)
    if initial:
        lines += ["", "Before training (the base model): " + ", ".join(f"{k} {v:.2f}" for k, v in initial.items()) + "."]
    runs = {r["variant"]: r for r in report["runs"]}
    notes = []
    for name in ("ours-bf16-compile", "ours-bf16", "ours-fp32-compile", "ours-fp32"):
        r = runs.get(name)
        if r and "speedup_vs_baseline" in r:
            diffs = r.get("ppl_relative_difference_vs_baseline", {})
            notes.append(f"{name}: {r['speedup_vs_baseline']:.2f}× the plain Trainer at the same precision, "
                         f"{r['tokens_per_s']:.0f} tokens/s ({100 * r.get('fraction_of_ceiling', 0):.0f} % of the "
                         f"ceiling); perplexity vs the baseline's " + ", ".join(f"{k} {100 * v:+.1f} %"
                                                                                 for k, v in diffs.items()))
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    if "load_average_at_end" in report:
        lines += ["", f"Load average at the end: {report['load_average_at_end']:.2f} (2 CPUs; other work on the "
                      "machine inflates wall times)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = harness.bench_parser(__doc__, RESULTS)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"comma-separated, from {', '.join(VARIANTS)}")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2, help="first steps left out of tokens/s")
    parser.add_argument("--micro-batch", type=int, default=8)
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--block", type=int, default=256)
    parser.add_argument("--eval-batches", type=int, default=2)
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed)")
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, json.loads(args.setup), args, args.result)
        return 0
    variants = harness.variant_list(parser, args.variants, VARIANTS)
    with harness.work_dir("bench-train-", keep=args.work) as work:
        report = {"machine": harness.machine_info("cpu", "cpus", "python", "torch", "date",
                                                  "load_average_at_start=load_average"),
                  "config": {k: getattr(args, k) for k in SIZES}}
        setup = prepare(work)
        report["data"] = {k: setup[k] for k in ("snapshot", "train_docs", "train_tokens")}
        from backend.models.inspect import inspect_folder

        report["parameters"] = inspect_folder(Path(setup["home"]) / "models" / "smollm2-135m-instruct")["n_params"]
        print("measuring the matmul ceiling", file=sys.stderr)
        report["ceiling"] = run_variant("ceiling", setup, args)
        report["runs"] = harness.run_all(
            harness.run_order(variants), lambda v: run_variant(v, setup, args),
            describe=lambda v, r: f"  {r['tokens_per_s']:.0f} tokens/s, ppl {r['ppl']}, peak RSS "
                                  f"{r['peak_rss_mb']:.0f} MB, {r['process_wall_s']:.0f} s")
        report["load_average_at_end"] = os.getloadavg()[0]
        summarise(report)
    return harness.publish(report, args.out, RESULTS, "train_throughput", readme_table(report))


if __name__ == "__main__":
    sys.exit(main())
