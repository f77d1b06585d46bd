"""Benchmark: three panes streaming together (side-by-side generation) against sequential generation of the same
three models, in the same run, on three registered copies of the real default model (SmolLM2-135M, float32, CPU).

Workload: one French clinical prompt (a discharge note to continue, raw completion), greedy decoding ('fair'
preset), `--tokens` new tokens per pane; the three models are loaded and warmed up (4 tokens each) before timing.

BASELINE  sequential: `model.generate` for model 1, then 2, then 3 (torch's default thread count), a streamer
          recording when each token arrives: pane k's first token comes after panes 1..k-1 have finished.
          Also with 1 torch thread (`sequential-1t`), to separate the effect of threads from that of streaming.
OURS      `backend.generation.stream.side_by_side` with strategy round_robin (one worker thread stepping the three
          models in turn) or threads (one worker per model), with 1 torch thread per worker (`generate_threads=1`, the
          app's default) or torch's default (`-all`).
HF        the usual recipe: one thread per model running `model.generate` with a `TextIteratorStreamer`.

Per pane: time to first token from the start of the run (what a user watching the panes waits), decoding speed
after the first token (tokens/s), and the time until all three are done; the texts must equal the baseline's.
Each variant runs in its own fresh process; variants are interleaved over `--repeat` rounds and the median round
(by total time) is reported.

    .venv/bin/python bench/generate.py                     # ~5 minutes on 2 cores
    .venv/bin/python bench/generate.py --tokens 32 --repeat 1 --variants sequential,ours-round_robin

Writes bench/results/generate.json and the table in bench/README.md (default --out only).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import harness
from harness import ROOT

harness.env_defaults(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

RESULTS = harness.BENCH / "results" / "generate.json"
VARIANTS = ("sequential", "sequential-1t", "ours-round_robin", "ours-threads", "ours-round_robin-all",
            "ours-threads-all", "hf-streamer-threads")
MODELS = ["smol-1", "smol-2", "smol-3"]
PROMPT_ID = "compte-rendu-sortie"


# ------------------------------------------------------------------------------------------------ setup

def prepare(work: Path) -> Path:
    """A home holding three registered copies (hard links) of the default model, converted into ./frbio_home."""
    from backend.default_model import default_model_dir
    from backend.models.importing import register_default
    from backend.models.registry import register_model
    from frbio_core.registry import connect

    register_default(connect(ROOT / "frbio_home" / "frbio.db"), ROOT / "frbio_home",
                     log=lambda m: print(m, file=sys.stderr))
    source = default_model_dir(ROOT / "frbio_home")
    home = work / "home"
    db = connect(home / "frbio.db")
    for name in MODELS:
        folder = home / "models" / name
        harness.link_tree(source, folder)
        register_model(db, folder, model_id=name, name=name, kind="base", origin="local")
    return home


# ------------------------------------------------------------------------------------------------ child

class Clock:
    """A streamer that records when each generated token arrives (the first put() is the prompt)."""

    def __init__(self, start: float):
        self.start, self.times, self.prompt_seen = start, [], False

    def put(self, value) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass

    def pane(self, text: str) -> dict:
        n = len(self.times)
        rate = (n - 1) / (self.times[-1] - self.times[0]) if n > 1 else None
        return {"ttft_s": self.times[0] - self.start, "tokens_per_s": rate, "new_tokens": n, "text": text}


def run_hf(args, home: Path, variant: str) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer

    from backend.generation.presets import prompt_text

    if variant == "sequential-1t":
        torch.set_num_threads(1)
    folders = [home / "models" / m for m in MODELS]
    tok = AutoTokenizer.from_pretrained(str(folders[0]))
    models = [AutoModelForCausalLM.from_pretrained(str(f), dtype=torch.float32).eval() for f in folders]
    ids = tok(prompt_text(PROMPT_ID), return_tensors="pt")
    kwargs = {"do_sample": False, "num_beams": 1, "repetition_penalty": 1.0, "pad_token_id": tok.eos_token_id}
    for m in models:
        m.generate(**ids, max_new_tokens=4, **kwargs)

    def decode(out):
        return tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)

    start = time.perf_counter()
    if variant.startswith("sequential"):
        panes = []
        for m in models:
            clock = Clock(start)
            out = m.generate(**ids, max_new_tokens=args.tokens, streamer=clock, **kwargs)
            panes.append(clock.pane(decode(out)))
    else:
        class TimedStreamer(TextIteratorStreamer):
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                self.clock = Clock(start)

            def put(self, value):
                self.clock.put(value)
                super().put(value)

        streamers = [TimedStreamer(tok, skip_prompt=True, skip_special_tokens=True) for _ in models]
        outs: list = [None] * len(models)

        def work(i):
            outs[i] = models[i].generate(**ids, max_new_tokens=args.tokens, streamer=streamers[i], **kwargs)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(models))]
        for t in threads:
            t.start()
        for s in streamers:  # the UI side: read every pane's stream
            for _ in s:
                pass
        for t in threads:
            t.join()
        panes = [s.clock.pane(decode(o)) for s, o in zip(streamers, outs)]
    wall = time.perf_counter() - start
    return {"panes": panes, "wall_s": wall, "torch_threads": torch.get_num_threads()}


def run_ours(args, home: Path, variant: str) -> dict:
    import torch

    from backend.generation.config import parse_generate_config
    from backend.generation.models_cache import ModelCache
    from backend.generation.presets import prompt_text
    from backend.generation.stream import generate_all, side_by_side
    from frbio_core.registry import connect

    strategy = "threads" if "threads" in variant else "round_robin"
    threads = 0 if variant.endswith("-all") else 1
    cfg = parse_generate_config({"max_new_tokens": args.tokens, "prompt_format": "raw", "strategy": strategy},
                                preset="fair")
    db, cache, prompt = connect(home / "frbio.db"), ModelCache(8192, threads=threads), prompt_text(PROMPT_ID)
    generate_all(db, cache, MODELS, prompt, cfg.model_copy(update={"max_new_tokens": 4}))  # load and warm up
    start = time.perf_counter()
    updates = 0
    for states in side_by_side(db, cache, MODELS, prompt, cfg):
        updates += 1
    wall = time.perf_counter() - start
    panes = [{"ttft_s": s.ttft_s, "tokens_per_s": s.tokens_per_s, "new_tokens": s.new_tokens, "text": s.text,
              "status": s.status} for s in states]
    return {"panes": panes, "wall_s": wall, "updates": updates, "torch_threads": threads or torch.get_num_threads()}


def child(variant: str, home: Path, args, result_path: Path) -> None:
    result = run_ours(args, home, variant) if variant.startswith("ours") else run_hf(args, home, variant)
    harness.write_results(result_path, result)


# ------------------------------------------------------------------------------------------------ parent

def run_variant(variant: str, home: Path, args) -> dict:
    """One variant in a fresh process (quiet, nothing sampled: the child times itself)."""
    load = os.getloadavg()[0]
    run = harness.run_child(__file__, ["--child", variant, "--home", home, "--tokens", args.tokens], name=variant,
                            interval=None, quiet=True)
    return {**run.result, "variant": variant, "load_average_at_start": load}


def summarise(report: dict) -> None:
    by_variant: dict[str, list[dict]] = {}
    for r in report["runs"]:
        by_variant.setdefault(r["variant"], []).append(r)
    baseline_texts = None
    if "sequential" in by_variant:
        baseline_texts = [p["text"] for p in by_variant["sequential"][0]["panes"]]
    summary = {}
    for variant, runs in by_variant.items():
        median = harness.median_run(runs)
        panes = median["panes"]
        tokens = sum(p["new_tokens"] for p in panes)
        summary[variant] = {
            "wall_s": median["wall_s"], "wall_s_all": [r["wall_s"] for r in by_variant[variant]],
            "ttft_s": [p["ttft_s"] for p in panes], "tokens_per_s": [p["tokens_per_s"] for p in panes],
            "new_tokens": [p["new_tokens"] for p in panes], "aggregate_tokens_per_s": tokens / median["wall_s"],
            "torch_threads": median["torch_threads"], "load_average_at_start": median["load_average_at_start"],
            "same_text_as_sequential": (None if baseline_texts is None else
                                        all(p["text"] == t for p, t in zip(panes, baseline_texts))),
        }
    report["summary"] = summary


NAMES = {"sequential": "BASELINE: sequential `generate`", "sequential-1t": "BASELINE: sequential `generate`, 1 thread",
         "ours-round_robin": "OURS: round_robin, 1 thread", "ours-threads": "OURS: threads, 1 thread each",
         "ours-round_robin-all": "OURS: round_robin, torch default threads",
         "ours-threads-all": "OURS: threads, torch default threads each",
         "hf-streamer-threads": "HF: `TextIteratorStreamer`, a thread per model"}


def readme_table(report: dict) -> str:
    m, s = report["machine"], report["summary"]
    rows = []
    for variant in (v for v in VARIANTS if v in s):
        r = s[variant]
        rows.append([NAMES[variant], r["torch_threads"], " / ".join(f"{t:.2f}" for t in r["ttft_s"]),
                     " / ".join("—" if t is None else f"{t:.1f}" for t in r["tokens_per_s"]), f"{r['wall_s']:.1f}",
                     f"{r['aggregate_tokens_per_s']:.1f}",
                     {None: "—", True: "yes", False: "**no**"}[r["same_text_as_sequential"]],
                     f"{r['load_average_at_start']:.1f}"])
    lines = [f"Machine: {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}, torch {m['torch']} (default "
             f"{m['default_torch_threads']} threads); run {m['date']}, {report['config']['tokens']} new tokens per "
             f"pane, median of {report['config']['repeat']} round(s) by total time.", "",
             harness.markdown_table(["variant", "torch threads", "first token, panes 1 / 2 / 3 (s)",
                                     "decoding, panes 1 / 2 / 3 (tok/s)", "all 3 done (s)", "tokens/s, all panes",
                                     "same text as sequential", "load avg"], rows, "lrllrrlr")]
    if "sequential" in s:
        base = s["sequential"]
        for variant in ("ours-round_robin", "ours-threads"):
            if variant in s:
                r = s[variant]
                lines += ["", f"{NAMES[variant]}: the last pane's first token after {r['ttft_s'][-1]:.2f} s instead "
                              f"of {base['ttft_s'][-1]:.2f} s sequentially; all three done in {r['wall_s']:.1f} s "
                              f"instead of {base['wall_s']:.1f} s ({base['wall_s'] / r['wall_s']:.2f}×)."]
    lines += ["", f"Load average at the end: {report.get('load_average_at_end', 0):.2f} on {m['cpus']} CPUs (other "
                  "work on the machine inflates times, most with several torch threads per process)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = harness.bench_parser(__doc__, RESULTS)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {', '.join(VARIANTS)}")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per pane")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (all variants each round)")
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.home, args, args.result)
        return 0
    variants = harness.variant_list(parser, args.variants, VARIANTS)
    with harness.work_dir("bench-generate-") as work:
        report = {"machine": harness.machine_info("cpu", "cpus", "python", "torch", "default_torch_threads", "date",
                                                  "load_average_at_start=load_average"),
                  "config": {"tokens": args.tokens, "repeat": args.repeat, "models": MODELS, "prompt": PROMPT_ID}}
        home = prepare(work)
        report["runs"] = harness.run_all(
            harness.run_order(variants, args.repeat), lambda v: run_variant(v, home, args), "round {round}: {variant}",
            lambda v, r: f"  all done in {r['wall_s']:.1f} s, first tokens {[round(p['ttft_s'], 2) for p in r['panes']]}")
        report["load_average_at_end"] = os.getloadavg()[0]
        summarise(report)
    return harness.publish(report, args.out, RESULTS, "generate", readme_table(report))


if __name__ == "__main__":
    sys.exit(main())
