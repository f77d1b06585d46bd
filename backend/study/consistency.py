"""Re-checking a study with the libraries' own command lines: a benchmark score re-run with `lm_eval run` on the same
rendered task folder, model folder, few-shot count, item limit, batch size and seed must give the very numbers the
study stored; a saved merge re-run with `mergekit-yaml` on its saved `mergekit_config.yml` must give the very
tensors. Used by tests/test_study.py (smallest budget) and bench/reproduce_consistency.py (the real run)."""
from __future__ import annotations

import glob
import json
import subprocess
import sys
import time
from pathlib import Path

from jobs import store

BIN = Path(sys.executable).parent


def lm_eval_command(db, eval_id: str, out_dir: Path, device: str = "cpu") -> list[str]:
    """The `lm_eval run` argument list that reproduces the stored evaluation `eval_id` (a benchmark, not perplexity)."""
    from backend.evaluation.store import get_eval
    from backend.models.registry import get_model

    ev = get_eval(db, eval_id)
    if ev["task"] == "perplexity":
        raise ValueError(f"{eval_id} is a perplexity measurement (the training code's), not an lm-eval task")
    folder = (Path(ev["path"]) / "task_folder.txt").read_text("utf-8").strip()
    model = get_model(db, ev["model_id"])
    settings = ev["settings"]
    job = store.find(db, ev["job_id"]) if ev.get("job_id") else None
    batch_size = (job or {}).get("config", {}).get("batch_size", 8)     # speed only, but the CLI run must match it
    argv = [str(BIN / "lm_eval"), "run", "--model", "hf", "--model_args", f"pretrained={model['path']}",
            "--tasks", ev["task"], "--include_path", folder, "--num_fewshot", str(settings["num_fewshot"]),
            "--batch_size", str(batch_size), "--device", device,
            "--seed", f"0,1234,1234,{settings['fewshot_seed']}", "--output_path", str(out_dir), "--log_samples"]
    if settings.get("limit"):
        argv += ["--limit", str(settings["limit"])]
    return argv


def _metrics(results: dict, task: str) -> dict:
    return {k.split(",")[0]: v for k, v in results["results"][task].items() if "," in k}


def _responses(path: Path) -> dict:
    """doc_id → the model's filtered responses (log-likelihoods or generated text), from a samples JSONL. Leaves are
    compared as text: the lm_eval command line writes `-11.04` and `False` as strings, the Python API as values."""
    def text(value):
        return [text(v) for v in value] if isinstance(value, (list, tuple)) else str(value)

    out = {}
    for line in Path(path).read_text("utf-8").splitlines():
        if line.strip():
            s = json.loads(line)
            out[s["doc_id"]] = text(s["filtered_resps"])
    return out


def rescore(db, eval_id: str, work: Path, env: dict | None = None) -> dict:
    """Run lm_eval's command line for a stored evaluation; {command, study, lm_eval, identical, wall_s}."""
    from backend.evaluation.store import get_eval

    ev = get_eval(db, eval_id)
    out = Path(work) / f"lm_eval-{eval_id}"
    argv = lm_eval_command(db, eval_id, out)
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"lm_eval failed ({proc.returncode}): {proc.stderr[-2000:]}")
    found = sorted(glob.glob(str(out / "*" / "results_*.json")))
    theirs = _metrics(json.loads(Path(found[-1]).read_text("utf-8")), ev["task"])
    ours = {k: v for k, v in ev["metrics"].items() if k in theirs}
    samples = sorted(glob.glob(str(out / "*" / f"samples_{ev['task']}_*.jsonl")))
    same_items = bool(samples) and _responses(Path(ev["path"]) / "samples.jsonl") == _responses(Path(samples[-1]))
    return {"eval_id": eval_id, "model": ev["model_id"], "task": ev["task"], "n": ev["n_samples"],
            "command": " ".join(argv), "study": ours, "lm_eval": theirs, "same_item_responses": same_items,
            "identical": ours == theirs and bool(ours) and same_items, "wall_s": round(wall, 1)}


def remerge(db, model_id: str, work: Path, env: dict | None = None) -> dict:
    """Run `mergekit-yaml` on a saved merge's mergekit_config.yml; compare every tensor with the saved model's."""
    import torch
    from safetensors.torch import load_file

    from backend.models.inspect import weight_files
    from backend.models.registry import get_model

    model = get_model(db, model_id)
    folder = Path(model["path"])
    out = Path(work) / f"mergekit-{model_id}"
    argv = [str(BIN / "mergekit-yaml"), str(folder / "mergekit_config.yml"), str(out)]
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"mergekit-yaml failed ({proc.returncode}): {proc.stderr[-2000:]}")
    ours, theirs = {}, {}
    for f in weight_files(folder):
        ours.update(load_file(str(f)))
    for f in weight_files(out):
        theirs.update(load_file(str(f)))
    same_names = sorted(ours) == sorted(theirs)
    diffs = {n: (ours[n].float() - theirs[n].float()).abs().max().item() for n in ours if n in theirs}
    equal = same_names and all(torch.equal(ours[n], theirs[n]) for n in ours)
    return {"model": model_id, "command": " ".join(argv), "tensors": len(ours), "same_names": same_names,
            "identical": equal, "max_abs_diff": max(diffs.values()) if diffs else None,
            "dtype": sorted({str(t.dtype) for t in ours.values()}), "wall_s": round(wall, 1)}


def check_study(db, row: dict, work: Path, env: dict | None = None, tasks: list[str] | None = None,
                roles: tuple[str, ...] = ("dapt", "t=0.5")) -> dict:
    """Re-score the study's benchmarks (all, or `tasks`) for `roles` with lm_eval, and re-run every saved merge."""
    a = row["artefacts"]
    scores = [rescore(db, eid, work, env) for role in roles for task, eid in a["evals"].get(role, {}).items()
              if task != "perplexity" and (tasks is None or task in tasks)]
    merges = [remerge(db, mid, work, env) for mid in dict.fromkeys(a["merged"].values())]
    return {"study": row["id"], "scores": scores, "merges": merges,
            "all_identical": all(s["identical"] for s in scores) and all(m["identical"] for m in merges)}
