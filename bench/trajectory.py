"""Report: a real DAPT run's trajectory, as docs/training.md shows it (a report of what came out, not a speed comparison).

Given a home and a finished training run that kept checkpoints as models, and the benchmark settings its points
were evaluated with (`python -m backend eval --run JOB …`, one group of tasks per limit), writes
bench/results/trajectory.json (the run, its points, every series with the paired intervals, the trade-off points,
the training curve's perplexities at the kept steps), the table in bench/README.md, and the figure
assets/screenshots/trajectory.png (the chart as the Train tab draws it, rendered by chromium through Playwright).

    .venv/bin/python bench/trajectory.py --home /path/home --run job-000020 \
        --group frenchmedmcqa_single,perplexity:60 --group sib200_fr:40 --ppl-max-blocks 16
"""
from __future__ import annotations

from pathlib import Path

import harness

RESULTS = harness.BENCH / "results" / "trajectory.json"
FIGURE = harness.BENCH.parent / "assets" / "screenshots" / "trajectory.png"


def render_png(figures: list, path: Path, width: int = 1100) -> None:
    """The figures on one offline page (plotly.js inline), screenshotted by chromium."""
    import tempfile

    from playwright.sync_api import sync_playwright

    body = "".join(f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figures))
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "trajectory.html"
        page_file.write_text(f"<html><head><meta charset='utf-8'></head><body style='margin:0;width:{width}px'>{body}</body></html>", "utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.goto(page_file.as_uri())
            page.wait_for_selector(".js-plotly-plot")
            page.wait_for_timeout(500)
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=True)
            browser.close()


def main() -> int:
    from backend.evaluation import charts
    from backend.evaluation.config import EvalConfig
    from backend.evaluation.trajectory import table, trajectory
    from backend.studio import Studio
    from frbio_core.settings import Settings
    from jobs import store

    parser = harness.bench_parser(__doc__, RESULTS, child=False)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--run", required=True, help="the training job id")
    parser.add_argument("--group", action="append", required=True, metavar="TASKS:LIMIT",
                        help="comma-separated tasks and the item limit they were evaluated with")
    parser.add_argument("--ppl-max-blocks", type=int, default=64, help="the perplexity blocks the points were "
                        "evaluated with (`eval --ppl-max-blocks`)")
    parser.add_argument("--figure", type=Path, default=FIGURE)
    args = parser.parse_args()
    studio = Studio(Settings(home=str(args.home), import_default_model=False))
    job = store.get(studio.db, args.run)
    curve = {m["step"]: m for m in store.read_metrics(store.job_dir(studio.home, args.run)) if "domain_ppl" in m}
    groups = [group.partition(":") for group in args.group]
    merged = trajectory(studio.db, studio.settings, args.run,
                        [EvalConfig(tasks=tasks.split(","), limit=int(limit) if limit else None,
                                    ppl_max_blocks=args.ppl_max_blocks) for tasks, _, limit in groups])
    headers, rows = table(merged)
    result = {"machine": harness.machine_info("cpu", "cpus", "memory_gb", "python", "date"), "run": args.run,
              "config": job["config"], "train_result": {k: (job["result"] or {}).get(k) for k in
                                                          ("steps", "tokens_seen", "train_seconds", "tokens_per_s")},
              "groups": args.group, "points": merged["points"], "series": merged["series"],
              "tradeoff": merged["tradeoff"], "pending": merged["pending"],
              "training_perplexity_at_points": {str(p["step"]): {k: curve[p["step"]][k] for k in curve[p["step"]]
                                                                  if k.endswith("_ppl") or "_ppl_" in k}
                                                for p in merged["points"] if p["step"] in curve}}
    render_png([charts.trajectory(merged), charts.trajectory_tradeoff(
        merged, title="FrenchMedMCQA (domain) against SIB-200-fr (general), in training order")], args.figure)
    text = harness.markdown_table(headers, rows, align="ll" + "r" * (len(headers) - 2))
    text += (f"\n\nRun `{args.run}`: {result['train_result']['steps']} steps, "
             f"{result['train_result']['tokens_seen']:,} tokens, {result['train_result']['train_seconds'] / 60:.1f} min "
             f"of training; points evaluated with {', '.join(args.group)} (tasks:items). Δ from the base with its "
             "paired 95 % interval; * significant after Holm's correction across the table's comparisons of one "
             "group. Figure: `assets/screenshots/trajectory.png`.")
    return harness.publish(result, args.out, RESULTS, "trajectory", text,
                           section="### A DAPT run's trajectory (`bench/trajectory.py`)")


if __name__ == "__main__":
    raise SystemExit(main())
