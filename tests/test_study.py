"""The paper's question end to end (backend.study) at the smallest budget, through `python -m backend reproduce`
(a real scheduler in that process, real worker processes) with a tiny random Llama (SmolLM2's tokenizer) on a data
folder of real sources: two small commercial corpus sources, French and English general text, and the real
benchmarks. The study first fails at the evaluation stage (no benchmark folder yet) with the reason, is resumed once
the benchmarks are there, and then every stage has succeeded, every artefact is registered and linked, the report
holds every number, and lm_eval's and mergekit's own command lines give the same scores and tensors."""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markupsafe import escape

from frbio_core.settings import Settings
from tests.data_helpers import home_with_catalogue

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["mantra_gsc", "pxcorpus"]
GENERAL = ["UD_French-Sequoia.dev", "UD_English-EWT.dev"]
GRID = ["0", "0.5", "0.75", "1"]


def cli(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "backend", "--home", env["home"], *args], cwd=ROOT, env=env["os_env"],
                          capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


@pytest.fixture(scope="module")
def study(shared_data, tmp_path_factory, default_model_home):
    from backend.default_model import DEFAULT_MODEL_NAME
    from backend.models.importing import make_tiny_model

    root = tmp_path_factory.mktemp("study")
    # CLEAR: research-only; the catalogue is not scanned here
    home, db = home_with_catalogue(shared_data, root, default_model_home, SOURCES + ["CLEAR"], GENERAL, scan=False)
    make_tiny_model(home, "tiny", seed=0, tokenizer_from=home / "models" / DEFAULT_MODEL_NAME, db=db)
    os_env = {**{k: v for k, v in os.environ.items() if not k.startswith("FRBIO_")},
              "FRBIO_DATA": str(root / "data"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env = {"home": str(home), "os_env": os_env, "root": root, "db": db}

    # no bench/ folder yet: the study stops at the evaluation stage, with the reason
    failed = cli(env, "reproduce", "--budget", "smallest", "--base-model", "tiny", "--sweep-grid", *GRID,
                 "--best-by", "domain", "--checkpoint-best-by", "general", "--owner", "alice", "--json", check=False)
    env["failed"] = json.loads(failed.stdout)
    env["failed_exit"] = failed.returncode
    # the stage's other evaluations may still be running in their own processes (workers outlive the command):
    # let them end, failing for the same reason, before the benchmarks arrive
    from jobs import store

    for job_id in env["failed"]["stages"]["eval"]["jobs"].values():
        if store.find(db, job_id)["status"] == "running":
            cli(env, "jobs", "wait", job_id, check=False)
    (root / "data" / "bench").symlink_to(shared_data / "bench", target_is_directory=True)
    resumed = cli(env, "reproduce", "resume", env["failed"]["study"], "--json")
    env["result"] = json.loads(resumed.stdout)
    from backend.study.state import load_study

    env["settings"] = Settings(home=str(home), data=[str(root / "data")])
    env["row"] = load_study(db, env["settings"], env["result"]["study"])
    env["report"] = json.loads(Path(env["result"]["report_json"]).read_text("utf-8"))
    return env


def test_a_failed_stage_stops_the_study_with_its_reason_and_resume_reuses_what_was_done(study):
    failed = study["failed"]
    assert study["failed_exit"] == 1 and failed["status"] == "failed" and failed["stage"] == "eval"
    assert "benchmark data not found" in failed["error"] and failed["error"].startswith("eval:")
    assert set(failed["stages"]) >= {"snapshot", "train", "sweep", "merge"}
    row = study["row"]
    assert row["status"] == "succeeded" and row["error"] is None
    for stage in ("snapshot", "train", "sweep", "merge"):   # not run again
        assert row["jobs"][stage] == failed["stages"][stage]["jobs"]
    assert failed["artefacts"]["dapt_model"] == row["artefacts"]["dapt_model"]


def test_every_stage_is_a_succeeded_job_owned_by_the_study_owner(study):
    from jobs import store

    row = study["row"]
    assert row["stage"] == "done" and row["owner"] == "alice"
    kinds = {"snapshot": {"corpus_build"}, "train": {"train"}, "sweep": {"merge_sweep"}, "merge": {"merge"},
             "eval": {"eval"}}
    for stage, wanted in kinds.items():
        jobs = [store.get(study["db"], j) for j in row["jobs"][stage].values()]
        assert jobs and {j["kind"] for j in jobs} == wanted
        assert all(j["status"] == "succeeded" and j["owner"] == "alice" for j in jobs)
        assert row["timings"][stage]["wall_s"] > 0
    assert len(row["jobs"]["merge"]) == 3          # t = 0.5, the best point, the best checkpoint at t = 0.5
    assert len(row["jobs"]["eval"]) == 6           # one per role (every benchmark has the same limit)


def test_artefacts_are_registered_and_linked_base_to_dapt_to_merges(study):
    from backend.corpus.snapshot import existing_snapshot
    from backend.models.registry import get_model

    db, a = study["db"], study["row"]["artefacts"]
    snap = existing_snapshot(db, a["snapshot"])
    assert snap["commercial_use"] == 1 and "CLEAR" not in json.loads(snap["sources"])   # commercial-only
    dapt = get_model(db, a["dapt_model"])
    assert dapt["kind"] == "dapt" and dapt["parents"] == ["tiny"] and dapt["snapshot_id"] == a["snapshot"]
    assert dapt["job_id"] == study["row"]["jobs"]["train"]["dapt"]
    points = a["sweep"]["points"]
    assert [p["value"] for p in points] == [0.0, 0.5, 0.75, 1.0]
    inner = [p for p in points if 0 < p["value"] < 1]
    assert a["best_t"] == min(inner, key=lambda p: p["domain_ppl"])["value"]   # --best-by domain
    assert a["best_t"] == 0.75
    for label, t in (("t=0.5", 0.5), ("best", a["best_t"])):
        merged = get_model(db, a["merged"][label])
        assert merged["kind"] == "merged" and merged["parents"] == ["tiny", a["dapt_model"]]
        card = json.loads((Path(merged["path"]) / "frbio_model.json").read_text())
        assert card["parameters"]["t"] == t
    # --checkpoint-best-by general: the run kept step 2; the lower mean general perplexity ratio of steps 2 and 4
    train = a["train"]
    assert [c["step"] for c in train["checkpoints"]] == [2, 4]
    general = [k for k in ("general_ppl", "general_ppl_en") if train["initial"].get(k)]
    chosen = min(train["checkpoints"], key=lambda c: (round(sum(
        math.log(c[k] / train["initial"][k]) for k in general), 12), -c["step"]))
    assert a["checkpoint"] == {"by": "general", "model": chosen["model_id"], "step": chosen["step"]}
    merged = get_model(db, a["merged"]["checkpoint"])
    assert merged["kind"] == "merged" and merged["parents"] == ["tiny", chosen["model_id"]]
    expected = {"base": "tiny", "dapt": a["dapt_model"], "t=0.5": a["merged"]["t=0.5"], "best": a["merged"]["best"]}
    if chosen["step"] == 2:
        assert get_model(db, chosen["model_id"])["kind"] == "checkpoint"
        expected |= {"checkpoint": chosen["model_id"], "checkpoint t=0.5": a["merged"]["checkpoint"]}
    else:                  # the trained model itself: its merge is the t = 0.5 one, found saved and reused
        assert a["merged"]["checkpoint"] == a["merged"]["t=0.5"]
    assert a["models"] == expected
    for role, tasks in a["evals"].items():
        assert set(tasks) == {"frbio_frenchmedmcqa_single", "frbio_frenchmedmcqa_all", "frbio_sib200_fr",
                              "frbio_pubmedqa", "perplexity"}
        for eval_id in tasks.values():
            ev = next(db["evals"].rows_where("id = ?", [eval_id]))
            assert ev["model_id"] == a["models"][role]


def test_the_report_holds_every_number_and_artefact(study):
    from backend.evaluation.store import get_eval

    db, row, report = study["db"], study["row"], study["report"]
    html = Path(row["report_path"]).read_text("utf-8")
    assert Path(row["report_path"]).parent == Path(study["home"]) / "reports" / row["id"]
    assert "Plotly.newPlot" in html and '<script src="http' not in html     # figures inline, opens offline
    by_eval = {}
    for r in report["results"]:
        by_eval.setdefault(r["eval_id"], {})[r["metric"]] = r["value"]
    for role, tasks in row["artefacts"]["evals"].items():
        for task, eval_id in tasks.items():
            stored = get_eval(db, eval_id)["metrics"]
            for metric, value in stored.items():
                if metric.endswith("_stderr") or value is None:
                    continue
                assert by_eval[eval_id][metric] == value
                assert f"{value:.3f}" in html
            assert eval_id in html
    for p in report["sweep"]["points"]:
        assert f"{p['domain_ppl']:.2f}" in html and f"{p['general_ppl_en']:.2f}" in html
    assert {s["stage"] for s in report["stages"]} == {"snapshot", "train", "sweep", "merge", "eval"}
    for stage in report["stages"]:
        assert all(j["id"] in html for j in stage["jobs"].values())
    a = report["artefacts"]
    for value in (a["snapshot"], a["dapt_model"], a["sweep_job"], *a["merged_models"].values()):
        assert value and value in html
    assert report["machine"]["cpus"] and report["date"] and report["budget"].startswith("smallest")
    assert report["total_wall_s"] > 0 and report["findings"]
    # every difference from the base comes with its paired test, and the findings are worded from it
    compared = [r for r in report["results"] if r["role"] != "base" and r["value"] is not None]
    assert compared and all(r["test"] in ("mcnemar", "permutation") and 0 <= r["p_holm"] <= 1
                            and r["ci_low"] <= r["delta"] <= r["ci_high"] for r in compared)
    assert not any("no per-item test" in f for f in report["findings"])
    # the sweep's in-memory points and the saved models' evaluations measure the same blocks
    assert len(report["sweep_vs_saved"]) == 12
    assert all(math.isclose(c["sweep"], c["saved_model_eval"], rel_tol=1e-4) for c in report["sweep_vs_saved"])


def test_lm_eval_and_mergekit_command_lines_give_the_same_scores_and_tensors(study, tmp_path):
    from backend.study.consistency import check_study

    env = study["os_env"]
    # the best sweep point: a merged model, so both command lines (lm_eval's and mergekit-yaml's) are checked on it
    out = check_study(study["db"], study["row"], tmp_path, env=env, roles=("best",),
                      tasks=["frbio_pubmedqa", "frbio_frenchmedmcqa_all"])
    assert len(out["scores"]) == 2 and len(out["merges"]) == 2
    for s in out["scores"]:
        assert s["identical"] and s["same_item_responses"], s
    for m in out["merges"]:
        assert m["identical"] and m["tensors"] > 10 and m["max_abs_diff"] == 0.0, m
    assert out["all_identical"]


def test_status_and_refusals_on_the_command_line(study):
    status = json.loads(cli(study, "reproduce", "status", study["row"]["id"], "--json").stdout)
    assert status["status"] == "succeeded" and [s["status"] for s in status["stage_rows"]] == ["done"] * 6
    again = cli(study, "reproduce", "resume", study["row"]["id"], "--json", check=False)
    assert again.returncode == 2 and "nothing to resume" in json.loads(again.stdout.splitlines()[0])["error"]
    bad = cli(study, "reproduce", "--eval-limits", '{"medqa": 3}', "--json", check=False)
    assert bad.returncode == 2 and "unknown benchmark medqa" in json.loads(bad.stdout)["error"]
    unknown = cli(study, "reproduce", "status", "study-999999", check=False)
    assert unknown.returncode == 2 and unknown.stderr.strip() == "error: unknown study 'study-999999'"


def test_best_point_balances_domain_gain_against_forgetting():
    from backend.merge.sweep import best_point

    base = {"domain_ppl": 40.0, "general_ppl": 50.0, "general_ppl_en": 60.0}
    points = [{"value": 0.0, **base},
              {"value": 0.3, "domain_ppl": 34.0, "general_ppl": 48.0, "general_ppl_en": 61.0},
              {"value": 0.6, "domain_ppl": 30.0, "general_ppl": 47.0, "general_ppl_en": 70.0},
              {"value": 1.0, "domain_ppl": 27.0, "general_ppl": 46.0, "general_ppl_en": 90.0}]
    assert best_point(points, base, "domain") == 0.6        # t = 1 is the DAPT model, not a merge
    assert best_point(points, base, "general") == 0.3
    mean = lambda p: sum(math.log(p[k] / base[k]) for k in base) / 3  # noqa: E731
    assert best_point(points, base, "balanced") == min(points[1:3], key=mean)["value"]
    assert best_point([{"value": 0.0, **base}, {"value": 1.0, **base}], base) == 0.5   # no merge in the grid


ENGLISH = re.compile(r"\b(the|vs|after|keeps|recovers|perplexity|steps|better|worse|detectable with|standard errors|"
                     r"stage|started|so far|snapshot|sweep between|merged|lower is better|benchmarks?)\b")


def test_a_finished_study_reads_in_french(study):
    """What the Reproduce tab shows of the study, in French: status line, stages, results, findings (stored in
    English in report.json), artefacts and the trade-off figure; and the failed stage's reason."""
    import backend.studio  # noqa: F401  (it loads every package's French, as in the app)
    from backend.study import view
    from backend.study.figures import tradeoff_figure
    from frbio_core.translations import translated

    db, row = study["db"], study["row"]
    headers, rows, findings = view.results_view(row, "fr")
    english = view.results_view(row, "en")[2]
    assert findings and len(findings) == len(english)
    texts = [view.status_markdown(row, "fr"), *findings, *headers,
             *(c for r in view.stages_table(db, row, "fr") for c in (r[0], r[1])),
             *(c for r in view.artefact_rows(row, "fr") for c in (r[0], r[2]))]
    figure = tradeoff_figure(row["artefacts"]["sweep"], row["artefacts"]["best_t"], lang="fr").to_dict()["layout"]
    texts += [figure["title"]["text"], *(a["text"] for a in figure["annotations"]),
              *(figure[k]["title"]["text"] for k in figure if k.startswith(("xaxis", "yaxis")) and figure[k].get("title"))]
    for text in texts:
        assert not ENGLISH.search(text.replace("mergekit-yaml", "")), text
    assert any("par rapport au modèle de base, perplexité : domaine" in f for f in findings)
    assert any(" après Holm : " in f and f.endswith(" ; n = 5.") for f in findings)
    assert "0,5" in " ".join(findings)                          # French decimals in the values it fills in
    assert translated(study["failed"]["error"], "fr") != study["failed"]["error"]
    # the report's French page: its headings, findings and tables in French, every number the English page has
    english_page = Path(row["report_path"]).read_text("utf-8")
    french_page = Path(row["report_path"]).with_suffix(".fr.html").read_text("utf-8")
    assert '<html lang="fr">' in french_page and "Ce que disent les chiffres" in french_page
    assert "What the numbers say" not in french_page and all(str(escape(f)) in french_page for f in findings)
    assert Path(row["report_path"]).with_suffix(".fr.html") in view.report_files(row)
    numbers = re.findall(r"<td>([+-]?\d+\.\d+)</td>", english_page)
    assert numbers and all(f"<td>{n}</td>" in french_page or f"<td>{n.replace('.', ',')}</td>" in french_page
                           for n in numbers)
