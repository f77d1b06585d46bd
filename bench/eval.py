"""Benchmark: evaluating SmolLM2-135M on FrenchMedMCQA's test set (622 items, 3-shot, generated answers scored by
EMR and Hamming score) through FrBio Studio against the `lm_eval` command line on the same task YAML, in the same
run; then re-opening the cached result.

OURS      `python -m backend eval --model smollm2-135m-instruct --tasks frenchmedmcqa_all --json` in a fresh home:
          plans, submits an `eval` job, drives a scheduler, the worker runs lm-eval in-process and stores the
          results (SQLite rows, per-item rows, lm-eval's results JSON and samples JSONL).
BASELINE  `lm_eval run --model hf --model_args pretrained=<model folder> --include_path <the rendered task folder
          OURS used> --tasks frbio_frenchmedmcqa_all --num_fewshot 3 --batch_size B --device cpu --log_samples`.
AGAIN     (--sandwich) OURS once more after the BASELINE, in a second fresh home: how much the machine drifted.
CACHED    the same OURS command again (a new process: nothing is evaluated, no job is queued), and the in-process
          lookup the Compare tab does when it re-opens a comparison.

Scores must be identical (every metric and standard error, and every generated answer). Wall time and CPU time
(user + system of the command and all its descendants) per variant.

    .venv/bin/python bench/eval.py --sandwich                # full test set: about 35 min on 2 quiet cores
    .venv/bin/python bench/eval.py --limit 20 --out /tmp/eval.json
"""
from __future__ import annotations

import datetime as dt
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness
from harness import ROOT, shared_data, timed_command as timed

harness.env_defaults(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

RESULTS = harness.BENCH / "results" / "eval.json"
MODEL = "smollm2-135m-instruct"
PY = str(ROOT / ".venv" / "bin" / "python")
LM_EVAL = str(ROOT / ".venv" / "bin" / "lm_eval")


def setup_home(home: Path) -> None:
    """A fresh home holding the default model (hard links to ./frbio_home's copy, converted there once)."""
    from backend.default_model import default_model_dir, is_complete

    source = default_model_dir(ROOT / "frbio_home")
    if not is_complete(source):
        subprocess.run([PY, "-m", "backend", "models", "import-default"], cwd=ROOT, check=True)
    (home / "models").mkdir(parents=True)
    harness.link_tree(source, home / "models" / source.name)
    subprocess.run([PY, "-m", "backend", "--home", str(home), "models", "import-default"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def metrics_of(results: dict, task: str) -> dict:
    return {k.split(",")[0]: v for k, v in results["results"][task].items() if "," in k}


def generations(lines: list[dict]) -> list:
    return [(s["doc_id"], s["filtered_resps"]) for s in sorted(lines, key=lambda s: s["doc_id"])]


def run(args) -> dict:
    data = shared_data()
    work = Path(tempfile.mkdtemp(prefix="frbio-bench-eval-"))
    home, log = work / "home", work / "log.txt"
    setup_home(home)
    env = {**os.environ, "FRBIO_HOME": str(home), "FRBIO_DATA": str(data)}
    env.pop("FRBIO_BENCH_DIR", None)
    ours_cmd = [PY, "-m", "backend", "eval", "--model", MODEL, "--tasks", args.task, "--batch-size",
                str(args.batch_size), "--json"] + (["--limit", str(args.limit)] if args.limit else [])
    print(f"OURS: {' '.join(ours_cmd[1:])}", file=sys.stderr)
    machine = harness.machine_info("cpus", "python", "load_average_at_start=load_average")  # load: before OURS
    machine["load_average_at_start"] = round(machine["load_average_at_start"], 2)
    ours_wall, ours_cpu, out = timed(ours_cmd, env, log)
    ours = json.loads(out)
    result = ours["results"][0]
    task, folder = result["task"], Path(result["path"]).joinpath("task_folder.txt").read_text().strip()
    ours_samples = [json.loads(x) for x in Path(result["path"], "samples.jsonl").read_text().splitlines()]
    ours_results = json.loads(Path(result["path"], "results.json").read_text())
    num_fewshot = ours_results["n-shot"][task]

    model_dir = home / "models" / MODEL
    base_cmd = [LM_EVAL, "run", "--model", "hf", "--model_args", f"pretrained={model_dir}", "--tasks", task,
                "--include_path", folder, "--num_fewshot", str(num_fewshot), "--batch_size", str(args.batch_size),
                "--device", "cpu", "--output_path", str(work / "lm_eval_out"), "--log_samples"]
    base_cmd += ["--limit", str(args.limit)] if args.limit else []
    print(f"BASELINE: {' '.join(base_cmd[1:])}", file=sys.stderr)
    base_wall, base_cpu, _ = timed(base_cmd, env, log)
    base_results = json.loads(Path(sorted(glob.glob(str(work / "lm_eval_out" / "*" / "results_*.json")))[-1])
                              .read_text())
    base_samples_file = sorted(glob.glob(str(work / "lm_eval_out" / "*" / f"samples_{task}_*.jsonl")))[-1]
    base_samples = [json.loads(x) for x in Path(base_samples_file).read_text().splitlines()]

    again = None
    if args.sandwich:   # OURS once more after the baseline, in a second fresh home: drift of the machine shows
        home2 = work / "home2"
        setup_home(home2)
        print("OURS AGAIN: a second fresh home", file=sys.stderr)
        wall2, cpu2, out2 = timed(ours_cmd, {**env, "FRBIO_HOME": str(home2)}, log)
        again = {"wall_s": round(wall2, 2), "cpu_s": round(cpu2, 2),
                 "same_numbers": json.loads(out2)["results"][0]["metrics"] == result["metrics"]}

    jobs_before = len(list((home / "jobs").glob("job-*")))
    print("CACHED: the OURS command again", file=sys.stderr)
    cached_wall, cached_cpu, out = timed(ours_cmd, env, log)
    cached = json.loads(out)
    jobs_after = len(list((home / "jobs").glob("job-*")))

    from backend.evaluation.config import EvalConfig
    from backend.evaluation.runner import plan
    from frbio_core.settings import load_settings
    from backend.studio import Studio

    studio = Studio(load_settings(home=str(home), data=[str(data)]))
    cfg = EvalConfig(model=MODEL, tasks=[task], limit=args.limit, batch_size=args.batch_size)
    start = time.perf_counter()
    assert all(p.cached for p in plan(studio.db, studio.settings, cfg)[2])
    lookup_ms = (time.perf_counter() - start) * 1000

    ours_m, base_m = metrics_of(ours_results, task), metrics_of(base_results, task)
    return {
        "date": dt.date.today().isoformat(), "machine": machine,
        "task": task, "items": result["n_samples"], "num_fewshot": num_fewshot, "batch_size": args.batch_size,
        "model": MODEL, "commands": {"ours": " ".join(ours_cmd[1:]), "baseline": " ".join(base_cmd)},
        "ours": {"wall_s": round(ours_wall, 2), "cpu_s": round(ours_cpu, 2), "metrics": ours_m},
        "baseline": {"wall_s": round(base_wall, 2), "cpu_s": round(base_cpu, 2), "metrics": base_m},
        "ours_again": again,
        "cached": {"wall_s": round(cached_wall, 2), "cpu_s": round(cached_cpu, 2),
                   "all_cached": all(r["cached"] for r in cached["results"]), "new_jobs": jobs_after - jobs_before,
                   "in_process_lookup_ms": round(lookup_ms, 1),
                   "same_numbers": cached["results"][0]["metrics"] == result["metrics"]},
        "identical_scores": ours_m == base_m,
        "identical_generations": generations(ours_samples) == generations(base_samples),
        "work_dir": str(work),
    }


def readme_table(r: dict) -> str:
    o, b, c, a = r["ours"], r["baseline"], r["cached"], r.get("ours_again")
    fmt = harness.format_scores
    rows = [["OURS: `python -m backend eval` (job, stored)", f"{o['wall_s']:,.1f}", f"{o['cpu_s']:,.1f}",
             fmt(o["metrics"])],
            ["BASELINE: `lm_eval run` (same YAML)", f"{b['wall_s']:,.1f}", f"{b['cpu_s']:,.1f}", fmt(b["metrics"])]]
    if a:
        rows.append(["OURS again, after the baseline (fresh home)", f"{a['wall_s']:,.1f}", f"{a['cpu_s']:,.1f}",
                     f"same numbers: {a['same_numbers']}"])
    rows.append(["CACHED: the OURS command again", f"{c['wall_s']:,.2f}", f"{c['cpu_s']:,.2f}",
                 f"same numbers: {c['same_numbers']}, new jobs: {c['new_jobs']}"])
    return f"""Machine: {r['machine']['cpus']} CPUs, Python {r['machine']['python']}; run {r['date']}; load average at start {r['machine']['load_average_at_start']}.
Task `{r['task']}`: {r['items']} items, {r['num_fewshot']}-shot, batch size {r['batch_size']}, model {r['model']}.

{harness.markdown_table(["variant", "wall time (s)", "CPU time (s)", "scores"], rows, "lrrl")}

Identical scores (every metric and standard error): **{r['identical_scores']}**; identical generated answers on every
item: **{r['identical_generations']}**. OURS takes {o['wall_s'] / b['wall_s']:.2f}× the command line's wall time
(it also stores per-item rows and the files); re-opening the cached result takes {c['wall_s']:.2f} s as a new
command ({c['in_process_lookup_ms']:.0f} ms in-process, as the Compare tab does)."""


def main() -> int:
    parser = harness.bench_parser(__doc__, RESULTS, child=False)
    parser.add_argument("--task", default="frenchmedmcqa_all")
    parser.add_argument("--limit", type=int, default=None, help="first N items only (default: all 622)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--sandwich", action="store_true",
                        help="run OURS again after the baseline in a second fresh home (machine drift shows)")
    args = parser.parse_args()
    result = run(args)
    harness.publish(result, args.out, RESULTS, "eval", readme_table(result), show=False,
                    section="## Evaluation (`eval.py`)\n\n" + __doc__.split("\n\n")[1])
    print(json.dumps({k: result[k] for k in ("ours", "baseline", "ours_again", "cached", "identical_scores",
                                             "identical_generations")}, indent=1))
    return 0 if result["identical_scores"] else 1


if __name__ == "__main__":
    sys.exit(main())
