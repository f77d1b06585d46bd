"""Comparing models from cached evaluations: the table with the change from the reference and standard errors, the
per-item drill-down (filter to disagreements), the HTML report (self-contained) and CSV, and `python -m backend
compare`; missing evaluations become one job per model, never queued twice."""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.evaluation import charts, report
from backend.evaluation.compare import collect, drill_down, long_rows, submit_missing, verdict_table, wide_table
from backend.evaluation.config import EvalConfig, EvalError
from backend.evaluation.runner import run_eval
from backend.models.importing import make_tiny_model
from frbio_core.settings import load_settings
from backend.studio import Studio

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TASKS = ["frenchmedmcqa_single", "sib200_fr"]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, default_model_home, shared_data):
    """Two tiny models evaluated on two benchmarks (8 items each), once for the module."""
    import shutil

    home = tmp_path_factory.mktemp("compare_home")
    shutil.copytree(default_model_home / "models", home / "models", copy_function=os.link)
    studio = Studio(load_settings(home=str(home), data=[str(shared_data)]))
    for seed, name in ((1, "tiny-base"), (2, "tiny-dapt")):
        make_tiny_model(home, name=name, seed=seed, db=studio.db)
        run_eval(studio.db, studio.settings, EvalConfig(model=name, tasks=TASKS, limit=8, batch_size=4))
    return studio


def cfg(**kw):
    return EvalConfig(tasks=TASKS, limit=8, **kw)


def test_table_shows_change_from_the_reference(evaluated):
    comp = collect(evaluated.db, evaluated.settings, ["tiny-base", "tiny-dapt"], cfg())
    assert comp.complete
    rows = {(r["task"], r["model"]): r for r in long_rows(comp)}
    base, dapt = rows[("frbio_sib200_fr", "tiny-base")], rows[("frbio_sib200_fr", "tiny-dapt")]
    assert base["delta"] is None and dapt["delta"] == pytest.approx(dapt["value"] - base["value"])
    assert dapt["stderr"] is not None and dapt["n"] == 8
    assert dapt["test"] == "mcnemar" and dapt["n_paired"] == 8 and 0 < dapt["p"] <= 1 and dapt["p_holm"] >= dapt["p"]
    assert dapt["ci_low"] <= dapt["delta"] <= dapt["ci_high"]
    assert dapt["verdict"] in ("better", "worse") or dapt["verdict"].startswith("no difference detectable with 8 items")
    v_headers, verdicts = verdict_table(comp, "fr")
    assert v_headers[3] == "Δ [IC 95 %]" and len(verdicts) == 2 and all(r[2] == "tiny-dapt" for r in verdicts)
    headers, table = wide_table(comp)
    assert headers == ["task", "metric", "tiny-base", "tiny-dapt", "Δ tiny-dapt"]
    assert all("p=" in r[4] and "[" in r[4] for r in table)                       # Δ [CI] p=…
    significant = {r["task_title"]: r["significant"] for r in long_rows(comp) if r["model"] == "tiny-dapt"}
    assert all(("▲" in r[4] or "▼" in r[4]) == significant[r[0]] for r in table)  # arrows only where significant
    assert [r[0] for r in table] == ["FrenchMedMCQA (single answer)", "SIB-200 French (general)"]
    assert all("±" in r[2] for r in table)
    # a setting that changes scores (few-shot) is another comparison, not yet run
    assert collect(evaluated.db, evaluated.settings, ["tiny-base", "tiny-dapt"], cfg(fewshot_general=0)).missing == \
        {"tiny-base": ["frbio_sib200_fr"], "tiny-dapt": ["frbio_sib200_fr"]}


def test_drill_down_filters_to_disagreements(evaluated):
    comp = collect(evaluated.db, evaluated.settings, ["tiny-base", "tiny-dapt"], cfg())
    every = drill_down(evaluated.db, comp, "frbio_frenchmedmcqa_single")
    assert len(every) == 8 and every[0]["gold"] == "C" and every[0]["question"].startswith("Parmi")
    assert set(every[0]["answers"]) == {"tiny-base", "tiny-dapt"}
    disagree = drill_down(evaluated.db, comp, "frbio_frenchmedmcqa_single", disagree_only=True)
    assert disagree == [r for r in every if r["answers"]["tiny-base"]["pred"] != r["answers"]["tiny-dapt"]["pred"]]


def test_html_report_is_self_contained_and_csv_lists_every_value(evaluated, tmp_path):
    comp = collect(evaluated.db, evaluated.settings, ["tiny-base", "tiny-dapt"], cfg())
    paths = report.export(evaluated.db, comp, tmp_path / "reports", stem="r")
    page = paths["html"].read_text()
    assert "<script src=" not in page and "Plotly.newPlot" in page and "tiny-dapt" in page
    assert "Δ tiny-dapt" in page
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text())))
    assert len(rows) == 2 * 2 and {r["model"] for r in rows} == {"tiny-base", "tiny-dapt"}
    assert len(charts.bars(comp).data) == 2      # one bar series per model
    assert charts.tradeoff(comp).layout.annotations  # no perplexity yet: says so instead of an empty plot


def test_missing_evaluations_become_one_job_per_model_never_twice(evaluated):
    comp = collect(evaluated.db, evaluated.settings, ["tiny-base", "tiny-dapt"], cfg(fewshot_medical=0))
    from jobs import store

    submit = lambda kind, config, owner=None: store.submit(evaluated.db, evaluated.home, kind, config, owner=owner)  # noqa: E731
    first = submit_missing(evaluated.db, evaluated.home, submit, comp, owner="alice")
    again = submit_missing(evaluated.db, evaluated.home, submit, comp, owner="alice")
    assert first == again and len(set(first.values())) == 2
    job = store.get(evaluated.db, first["tiny-dapt"])
    assert job["kind"] == "eval" and job["config"]["tasks"] == ["frbio_frenchmedmcqa_single"]
    for job_id in first.values():  # leave the module's home without queued work
        store.cancel_queued(evaluated.db, job_id)
    with pytest.raises(EvalError, match="at least two models"):
        collect(evaluated.db, evaluated.settings, ["tiny-base"], cfg())


def test_compare_command_line(evaluated, tmp_path):
    env = {**os.environ, "FRBIO_HOME": str(evaluated.home), "FRBIO_DATA": str(evaluated.settings.data_paths[0])}
    run = lambda *a: subprocess.run([sys.executable, "-m", "backend", *a], cwd=PROJECT_ROOT, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=300)
    out = run("compare", "--models", "tiny-base,tiny-dapt", "--tasks", ",".join(TASKS), "--limit", "8",
              "--html", str(tmp_path / "c.html"), "--csv", str(tmp_path / "c.csv"), "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    payload = json.loads(out.stdout)
    assert payload["models"] == ["tiny-base", "tiny-dapt"] and payload["missing"] == {} and payload["jobs"] == {}
    assert Path(payload["html"]).is_file() and Path(payload["csv"]).read_text().startswith("task,metric,model")
    out = run("compare", "--models", "tiny-base,tiny-dapt", "--tasks", "sib200_fr", "--fewshot-general", "1",
              "--cached-only")
    assert out.returncode == 0 and "pending" in out.stdout and "missing" in out.stderr
    out = run("compare", "--models", "tiny-base,nope", "--json")
    assert out.returncode == 2 and json.loads(out.stdout)["error"].startswith("unknown model 'nope'")
    out = run("eval", "--model", "tiny-base", "--tasks", "sib200_fr", "--fewshot-general", "99")
    assert out.returncode == 2 and "fewshot_general" in out.stderr and "Traceback" not in out.stderr


def test_results_under_other_settings_are_not_paired():
    from backend.evaluation.evidence import EvidenceError, check_same_settings

    base = {"model_id": "a", "settings_hash": "x", "settings": {"num_fewshot": 5, "limit": 100}}
    other = {"model_id": "b", "settings_hash": "y", "settings": {"num_fewshot": 0, "limit": 100}}
    with pytest.raises(EvidenceError, match="'a' and 'b' were evaluated with different settings \\(num_fewshot 5 vs "
                                            "0\\): their items are not paired"):
        check_same_settings("frbio_x", base, other)
    check_same_settings("frbio_x", base, dict(base, model_id="c"))
