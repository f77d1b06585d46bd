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

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "reproduce_consistency.json"
README = ROOT / "bench" / "README.md"
START, END = "<!-- reproduce_consistency:start -->", "<!-- reproduce_consistency:end -->"


def study_row(db, study_id: str | None) -> dict:
    from backend.study.pipeline import get_study, list_studies

    if study_id:
        return get_study(db, study_id)
    done = list_studies(db, status="succeeded", limit=1)
    if not done:
        raise SystemExit("no succeeded study in this home: run `make reproduce` first")
    return done[0]


def eval_job_seconds(db, eval_id: str) -> float | None:
    from backend.evaluation.store import get_eval
    from jobs import store

    job = store.find(db, get_eval(db, eval_id).get("job_id") or "")
    if not job or not job.get("started_at") or not job.get("finished_at"):
        return None
    return round(job["finished_at"] - job["started_at"], 1)


def table(r: dict) -> str:
    lines = [f"Study `{r['study']}` ({r['budget']}); checked {r['date']} on {r['machine']['cpus']} CPUs, Python "
             f"{r['machine']['python']}.", "",
             "| what | model | task / tensors | study | command line | identical | command wall (s) |",
             "|---|---|---|---|---|---|---:|"]
    for s in r["scores"]:
        fmt = lambda m: ", ".join(f"{k} {v:.4f}" for k, v in m.items() if not k.endswith("_stderr"))  # noqa: E731
        lines.append(f"| `lm_eval run` | {s['model']} | {s['task']} (n = {s['n']}) | {fmt(s['study'])} | "
                     f"{fmt(s['lm_eval'])} | {'**yes**' if s['identical'] else 'NO'} | {s['wall_s']:.1f} |")
    for m in r["merges"]:
        lines.append(f"| `mergekit-yaml` | {m['model']} | {m['tensors']} tensors ({', '.join(m['dtype'])}) | saved "
                     f"model | re-run | {'**yes**' if m['identical'] else 'NO'} (max abs diff {m['max_abs_diff']}) | "
                     f"{m['wall_s']:.1f} |")
    lines += ["", f"All identical: **{r['all_identical']}**."]
    return "\n".join(lines)


def update_readme(r: dict) -> None:
    text = README.read_text("utf-8")
    block = f"{START}\n{table(r)}\n{END}"
    if START in text and END in text:
        text = text[:text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## Reproduce: consistency with the command lines (`reproduce_consistency.py`)" \
            "\n\n" + __doc__.split("\n\n")[1].strip() + "\n\n" + block + "\n"
    README.write_text(text, "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", default=str(ROOT / "frbio_home"))
    parser.add_argument("--study")
    parser.add_argument("--roles", default="dapt,t=0.5", help="comma-separated: base, dapt, t=0.5, best")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from backend import registry
    from backend.study.config import StudyConfig
    from backend.study.consistency import check_study

    db = registry.connect(Path(args.home) / "frbio.db")
    row = study_row(db, args.study)
    with tempfile.TemporaryDirectory(prefix="frbio-consistency-") as work:
        out = check_study(db, row, Path(work), env=dict(os.environ), roles=tuple(args.roles.split(",")))
    for s in out["scores"]:
        s["study_eval_job_s"] = eval_job_seconds(db, s["eval_id"])
    out.update(date=dt.datetime.now().strftime("%Y-%m-%d %H:%M"), budget=StudyConfig.model_validate(
        row["config"]).budget, machine={"cpus": os.cpu_count(), "python": platform.python_version()})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, default=str), "utf-8")
    if args.out == RESULTS:
        update_readme(out)
    print(table(out))


if __name__ == "__main__":
    main()
