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

import argparse
import datetime as dt
import glob
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RESULTS = ROOT / "bench" / "results" / "eval.json"
README = ROOT / "bench" / "README.md"
MODEL = "smollm2-135m-instruct"
PY = str(ROOT / ".venv" / "bin" / "python")
LM_EVAL = str(ROOT / ".venv" / "bin" / "lm_eval")


def shared_data() -> Path:
    return Path(os.environ.get("FRBIO_SHARED_DATA") or ROOT.parent / "shared" / "data").expanduser().resolve()


def timed(cmd: list[str], env: dict | None = None, log: Path | None = None) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the command and its descendants, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log or os.devnull, "a") as err:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}\nsee {log}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def setup_home(home: Path) -> None:
    """A fresh home holding the default model (hard links to ./frbio_home's copy, converted there once)."""
    from backend.default_model import default_model_dir, is_complete

    source = default_model_dir(ROOT / "frbio_home")
    if not is_complete(source):
        subprocess.run([PY, "-m", "backend", "models", "import-default"], cwd=ROOT, check=True)
    (home / "models").mkdir(parents=True)
    shutil.copytree(source, home / "models" / source.name, copy_function=os.link)
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
    load = os.getloadavg()[0]
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
    from backend.settings import load_settings
    from backend.studio import Studio

    studio = Studio(load_settings(home=str(home), data=[str(data)]))
    cfg = EvalConfig(model=MODEL, tasks=[task], limit=args.limit, batch_size=args.batch_size)
    start = time.perf_counter()
    assert all(p.cached for p in plan(studio.db, studio.settings, cfg)[2])
    lookup_ms = (time.perf_counter() - start) * 1000

    ours_m, base_m = metrics_of(ours_results, task), metrics_of(base_results, task)
    return {
        "date": dt.date.today().isoformat(), "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                         "load_average_at_start": round(load, 2)},
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


def write_readme(r: dict) -> None:
    text = README.read_text("utf-8")
    o, b, c = r["ours"], r["baseline"], r["cached"]
    fmt = lambda m: ", ".join(f"{k} {v:.4f}" for k, v in m.items() if not k.endswith("_stderr"))  # noqa: E731
    a = r.get("ours_again")
    again_row = (f"| OURS again, after the baseline (fresh home) | {a['wall_s']:,.1f} | {a['cpu_s']:,.1f} | same "
                 f"numbers: {a['same_numbers']} |\n") if a else ""
    block = f"""<!-- eval:start -->
Machine: {r['machine']['cpus']} CPUs, Python {r['machine']['python']}; run {r['date']}; load average at start {r['machine']['load_average_at_start']}.
Task `{r['task']}`: {r['items']} items, {r['num_fewshot']}-shot, batch size {r['batch_size']}, model {r['model']}.

| variant | wall time (s) | CPU time (s) | scores |
|---|---:|---:|---|
| OURS: `python -m backend eval` (job, stored) | {o['wall_s']:,.1f} | {o['cpu_s']:,.1f} | {fmt(o['metrics'])} |
| BASELINE: `lm_eval run` (same YAML) | {b['wall_s']:,.1f} | {b['cpu_s']:,.1f} | {fmt(b['metrics'])} |
{again_row}| CACHED: the OURS command again | {c['wall_s']:,.2f} | {c['cpu_s']:,.2f} | same numbers: {c['same_numbers']}, new jobs: {c['new_jobs']} |

Identical scores (every metric and standard error): **{r['identical_scores']}**; identical generated answers on every
item: **{r['identical_generations']}**. OURS takes {o['wall_s'] / b['wall_s']:.2f}× the command line's wall time
(it also stores per-item rows and the files); re-opening the cached result takes {c['wall_s']:.2f} s as a new
command ({c['in_process_lookup_ms']:.0f} ms in-process, as the Compare tab does).
<!-- eval:end -->"""
    if "<!-- eval:start -->" in text:
        head, rest = text.split("<!-- eval:start -->", 1)
        text = head + block + rest.split("<!-- eval:end -->", 1)[1]
    else:
        text = text.rstrip() + "\n\n## Evaluation (`eval.py`)\n\n" + (__doc__.split("\n\n")[1]).strip() + \
            "\n\n" + block + "\n"
    README.write_text(text, "utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="frenchmedmcqa_all")
    parser.add_argument("--limit", type=int, default=None, help="first N items only (default: all 622)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--sandwich", action="store_true",
                        help="run OURS again after the baseline in a second fresh home (machine drift shows)")
    args = parser.parse_args()
    result = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1), "utf-8")
    if Path(args.out) == RESULTS:
        write_readme(result)
    print(json.dumps({k: result[k] for k in ("ours", "baseline", "ours_again", "cached", "identical_scores",
                                             "identical_generations")}, indent=1))
    return 0 if result["identical_scores"] else 1


if __name__ == "__main__":
    sys.exit(main())
