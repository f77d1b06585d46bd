"""Merge preview latency: the Merge tab's in-memory preview against mergekit to disk + reload, on SmolLM2-135M.

For SLERP, linear and TIES, each variant in its own fresh process:
- OURS: `backend.merge.preview.MergePreview` (base and DAPT loaded once, one preview model recomputed in place).
  A "slider release" is `preview.update(method, parameters)`; we time it until the weights are ready, and until the
  merged model's first generated token (update + `generate(max_new_tokens=1)`). The first release after loading
  ("cold") also computes what the closed forms cache (SLERP's angles, TIES' difference and magnitude order); the
  following releases ("warm") are what a user dragging the slider sees. For TIES both sliders are timed: weight
  (the sparsified difference is reused) and density (re-sparsified from the cached order).
- BASELINE: what merging meant before — mergekit's `run_merge` of the same YAML to a folder on disk, then
  `AutoModelForCausalLM.from_pretrained` of that folder (weights ready), then one generated token.

The DAPT side is a DAPT model registered in ./frbio_home whose parent is the default model when there is one;
else a perturbed copy of the base (Gaussian noise of 1 % of each tensor's standard deviation), clearly labelled in
the results. Peak memory: psutil RSS of the variant's process sampled every 50 ms (and ru_maxrss).

    .venv/bin/python bench/merge.py                 # writes bench/results/merge.json and the README table
    .venv/bin/python bench/merge.py --methods slerp --releases 5 --out /tmp/m.json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness
from harness import ROOT

RESULTS = harness.BENCH / "results" / "merge.json"
METHODS = {  # the slider moved, its values in release order, and the other parameters
    "slerp": ("t", [0.5, 0.3, 0.7, 0.4, 0.6, 0.2, 0.8], {}),
    "linear": ("weight", [0.5, 0.3, 0.7, 0.4, 0.6, 0.2, 0.8], {}),
    "ties": ("weight", [0.5, 0.3, 0.7, 0.4, 0.6, 0.2, 0.8], {"density": 0.5}),
}
TIES_DENSITIES = [0.3, 0.7, 0.4, 0.6, 0.2]
PROMPT = "Compte rendu d'hospitalisation. Patiente de 74 ans admise pour une pneumopathie aiguë. Au total,"
NOISE = 0.01


# ------------------------------------------------------------------------------------------------ setup (parent)

def prepare(work: Path) -> dict:
    """The base (the default model in ./frbio_home) and the DAPT side (registered, else a perturbed copy)."""
    from backend.models.importing import register_default
    from backend.models.registry import list_models
    from frbio_core.registry import connect

    home = ROOT / "frbio_home"
    db = connect(home / "frbio.db")
    base = register_default(db, home, log=lambda m: print(m, file=sys.stderr))
    dapt = next((m for m in reversed(list_models(db, "dapt")) if base["id"] in m["parents"] and m["status"] == "ok"),
                None)
    if dapt is not None:
        return {"base": base["path"], "dapt": dapt["path"], "dapt_label": f"DAPT model {dapt['id']} (registered)"}
    import torch
    from safetensors.torch import load_file, save_file

    folder = work / "perturbed-dapt"
    shutil.copytree(base["path"], folder, ignore=shutil.ignore_patterns(".frbio_hash.json"))
    generator = torch.Generator().manual_seed(0)
    for f in folder.glob("*.safetensors"):
        tensors = {k: v + NOISE * v.float().std() * torch.randn(v.shape, generator=generator)
                   for k, v in load_file(f).items()}
        save_file(tensors, f, metadata={"format": "pt"})
    return {"base": base["path"], "dapt": str(folder),
            "dapt_label": f"PERTURBED COPY of the base (no DAPT model registered in ./frbio_home): Gaussian noise of "
                          f"{NOISE:.0%} of each tensor's std"}


# ------------------------------------------------------------------------------------------------ child

def params_for(method: str, value: float, density: float | None = None) -> dict:
    name, _, extra = METHODS[method]
    out = {**extra, name: value}
    if density is not None:
        out["density"] = density
    return out


def run_ours(method: str, setup: dict, releases: int) -> dict:
    from backend.merge.preview import MergePreview

    t0 = time.perf_counter()
    preview = MergePreview(setup["base"], setup["dapt"])
    out = {"open_s": time.perf_counter() - t0}
    _, values, _ = METHODS[method]

    def release(params: dict) -> tuple[float, float]:
        start = time.perf_counter()
        preview.update(method, params)
        ready = time.perf_counter() - start
        generated = preview.generate("merged", PROMPT, max_new_tokens=1)
        return ready, ready + generated["first_token_s"]

    timings = [release(params_for(method, v)) for v in values[:releases + 1]]
    out["cold"] = {"weights_s": timings[0][0], "first_token_s": timings[0][1]}
    out["warm"] = {"weights_s": [t[0] for t in timings[1:]], "first_token_s": [t[1] for t in timings[1:]]}
    if method == "ties":
        dens = [release(params_for(method, 0.5, d)) for d in TIES_DENSITIES[:releases]]
        out["density"] = {"weights_s": [t[0] for t in dens], "first_token_s": [t[1] for t in dens]}
    import psutil

    out["steady_rss_mb"] = psutil.Process().memory_info().rss / 2**20
    return out


def run_baseline(method: str, setup: dict, releases: int) -> dict:
    import torch
    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from backend.merge.config import mergekit_config

    _, values, _ = METHODS[method]
    tokenizer = AutoTokenizer.from_pretrained(setup["base"])
    runs = []
    for value in values[:releases]:
        config = mergekit_config(method, params_for(method, value), setup["base"], setup["dapt"])
        with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
            start = time.perf_counter()
            run_merge(MergeConfiguration.model_validate(config), tmp, MergeOptions(quiet=True))
            merged = time.perf_counter() - start
            model = AutoModelForCausalLM.from_pretrained(tmp, dtype="auto").eval()
            ready = time.perf_counter() - start
            with torch.no_grad():
                inputs = tokenizer(PROMPT, return_tensors="pt")
                model.generate(**inputs, max_new_tokens=1, do_sample=False, pad_token_id=tokenizer.eos_token_id)
            first = time.perf_counter() - start
            del model
        runs.append({"merge_to_disk_s": merged, "weights_s": ready, "first_token_s": first})
    return {"runs": runs, "weights_s": [r["weights_s"] for r in runs], "first_token_s": [r["first_token_s"] for r in runs],
            "merge_to_disk_s": [r["merge_to_disk_s"] for r in runs]}


def child(variant: str, setup: dict, releases: int, result_path: Path) -> None:
    import torch

    kind, method = variant.split("-", 1)
    result = run_ours(method, setup, releases) if kind == "ours" else run_baseline(method, setup, releases)
    result["ru_maxrss_mb"] = harness.maxrss_mb()
    result["torch_threads"] = torch.get_num_threads()
    harness.write_results(result_path, result)


# ------------------------------------------------------------------------------------------------ parent

def run_variant(variant: str, setup: dict, releases: int) -> dict:
    """One variant in a fresh process (quiet); the RSS of that process (not its children) sampled every 50 ms."""
    run = harness.run_child(__file__, ["--child", variant, "--setup", json.dumps(setup), "--releases", releases],
                            name=variant, interval=0.05, tree=False, quiet=True)
    return {**run.result, "variant": variant, "peak_rss_mb": run.peak_rss_mb}


def median(values) -> float:
    return statistics.median(values) if isinstance(values, list) else values


def readme_table(report: dict) -> str:
    m = report["machine"]
    runs, rows = {r["variant"]: r for r in report["runs"]}, []
    for method in report["methods"]:
        ours, base = runs.get(f"ours-{method}"), runs.get(f"baseline-{method}")
        if ours:
            rows.append([method, "OURS: in-memory preview", f"**{median(ours['warm']['weights_s']):.3f}**",
                         f"{median(ours['warm']['first_token_s']):.3f}",
                         f"{ours['cold']['weights_s']:.2f} (load {ours['open_s']:.1f})", f"{ours['peak_rss_mb']:,.0f}"])
            if "density" in ours:
                rows.append([method, "OURS: density slider", f"**{median(ours['density']['weights_s']):.3f}**",
                             f"{median(ours['density']['first_token_s']):.3f}", "—", "—"])
        if base:
            rows.append([method, "BASELINE: mergekit `run_merge` to disk + reload", f"{median(base['weights_s']):.3f}",
                         f"{median(base['first_token_s']):.3f}", "—", f"{base['peak_rss_mb']:,.0f}"])
    lines = [f"Machine: {m['cpus']} CPUs ({m['cpu']}), torch {m['torch']} on the CPU; run {m['date']}; load average "
             f"{m['load_average_at_start']:.2f} at start, {report.get('load_average_at_end', 0):.2f} at the end.",
             f"Models: base `{Path(report['setup']['base']).name}` (134.5 M parameters, float32); DAPT side: "
             f"{report['setup']['dapt_label']}. Medians of {report['releases']} slider releases (OURS, warm) or "
             f"{report['releases']} merges (BASELINE).", "",
             harness.markdown_table(["method", "variant", "slider → weights ready (s)", "slider → first token (s)",
                                     "first release after loading (s)", "peak RSS (MB)"], rows, "llrrrr"), ""]
    for method in report["methods"]:
        ours, base = runs.get(f"ours-{method}"), runs.get(f"baseline-{method}")
        if ours and base:
            lines.append(f"- {method}: the preview is **{median(base['weights_s']) / median(ours['warm']['weights_s']):.0f}×"
                         f"** faster to weights ready ({median(base['weights_s']):.2f} s → "
                         f"{median(ours['warm']['weights_s']):.3f} s); target < 0.4 s: "
                         + ("met" if median(ours['warm']['weights_s']) < 0.4 else "NOT met") + ".")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = harness.bench_parser(__doc__, RESULTS)
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated: slerp, linear, ties")
    parser.add_argument("--releases", type=int, default=5, help="slider releases (OURS) / merges (BASELINE) timed")
    parser.add_argument("--variants", default="ours,baseline")
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, json.loads(args.setup), args.releases, args.result)
        return 0
    methods = [m for m in args.methods.split(",") if m]
    kinds = [k for k in args.variants.split(",") if k]
    with harness.work_dir("bench-merge-") as work:
        report = {"machine": harness.machine_info("cpu", "cpus", "python", "torch", "date",
                                                  "load_average_at_start=load_average"),
                  "releases": args.releases, "methods": methods}
        setup = prepare(work)
        report["setup"] = setup
        report["runs"] = harness.run_all(harness.run_order([f"{kind}-{method}" for method in methods for kind in kinds]),
                                         lambda v: run_variant(v, setup, args.releases))
        report["load_average_at_end"] = os.getloadavg()[0]
    return harness.publish(report, args.out, RESULTS, "merge", readme_table(report))


if __name__ == "__main__":
    sys.exit(main())
