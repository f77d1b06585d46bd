"""Consistency of a real study (`make reproduce`) with the libraries' own command lines.

For a finished study (the newest succeeded one in ./frbio_home unless --study is given):
- every stored benchmark score of the chosen models (default: the DAPT model and SLERP t = 0.5) is re-run with
  `lm_eval run` on the same rendered task folder, model folder, few-shot count, item limit, batch size and seeds:
  the metrics and every item's responses must be identical;
- every saved merge is re-run with `mergekit-yaml` on its saved `mergekit_config.yml`: every tensor must be equal.

Same machine, same run: the wall time of each command line is reported next to the study's own evaluation job.

    .venv/bin/python bench/reproduce_consistency.py [--study study-000001] [--roles dapt,t=0.5]

Writes bench/results/reproduce_consistency.json and the table in bench/README.md (between the markers).
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import harness
from harness import ROOT

RESULTS = harness.BENCH / "results" / "reproduce_consistency.json"


def study_row(db, settings, study_id: str | None) -> dict:
    from backend.study.state import load_study, summaries

    if study_id:
        return load_study(db, settings, study_id)
    done = [s for s in summaries(db, limit=50) if s["status"] == "succeeded"]
    if not done:
        raise SystemExit("no succeeded study in this home: run `make reproduce` first")
    return load_study(db, settings, done[0]["id"])


def eval_job_seconds(db, eval_id: str) -> float | None:
    from backend.evaluation.store import get_eval
    from jobs import store

    job = store.find(db, get_eval(db, eval_id).get("job_id") or "")
    if not job or not job.get("started_at") or not job.get("finished_at"):
        return None
    return round(job["finished_at"] - job["started_at"], 1)


def readme_table(r: dict) -> str:
    fmt, same = harness.format_scores, (lambda x: "**yes**" if x else "NO")
    rows = [["`lm_eval run`", s["model"], f"{s['task']} (n = {s['n']})", fmt(s["study"]), fmt(s["lm_eval"]),
             same(s["identical"]), f"{s['wall_s']:.1f}"] for s in r["scores"]]
    rows += [["`mergekit-yaml`", m["model"], f"{m['tensors']} tensors ({', '.join(m['dtype'])})", "saved model",
              "re-run", f"{same(m['identical'])} (max abs diff {m['max_abs_diff']})", f"{m['wall_s']:.1f}"]
             for m in r["merges"]]
    return "\n".join([f"Study `{r['study']}` ({r['budget']}); checked {r['date']} on {r['machine']['cpus']} CPUs, "
                      f"Python {r['machine']['python']}.", "",
                      harness.markdown_table(["what", "model", "task / tensors", "study", "command line", "identical",
                                              "command wall (s)"], rows, "llllllr"),
                      "", f"All identical: **{r['all_identical']}**."])


def main() -> None:
    parser = harness.bench_parser(__doc__, RESULTS, child=False)
    parser.add_argument("--home", default=str(ROOT / "frbio_home"))
    parser.add_argument("--study")
    parser.add_argument("--roles", default="dapt,t=0.5", help="comma-separated: base, dapt, t=0.5, best")
    args = parser.parse_args()
    harness.env_defaults(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    from frbio_core import registry
    from backend.study.config import StudyConfig
    from backend.study.consistency import check_study

    from frbio_core.settings import load_settings

    settings = load_settings(home=args.home)
    db = registry.connect(settings.db_path)
    row = study_row(db, settings, args.study)
    with tempfile.TemporaryDirectory(prefix="frbio-consistency-") as work:
        out = check_study(db, row, Path(work), env=dict(os.environ), roles=tuple(args.roles.split(",")))
    for s in out["scores"]:
        s["study_eval_job_s"] = eval_job_seconds(db, s["eval_id"])
    out.update(date=dt.datetime.now().strftime("%Y-%m-%d %H:%M"), budget=StudyConfig.model_validate(
        row["config"]).budget, machine=harness.machine_info("cpus", "python"))
    harness.publish(out, args.out, RESULTS, "reproduce_consistency", readme_table(out), section="## Reproduce: "
                    "consistency with the command lines (`reproduce_consistency.py`)\n\n" + __doc__.split("\n\n")[1])


if __name__ == "__main__":
    main()
