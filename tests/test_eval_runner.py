"""Evaluations on a tiny model: our scores equal those of the `lm_eval` command line on the same task YAML; results
are cached by (weights, task, settings); perplexity measures the domain and general text of a snapshot; bad
requests fail with one clear line and store nothing."""
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.evaluation import store
from backend.evaluation.config import EvalConfig, EvalError, parse_eval_config
from backend.evaluation.runner import plan, run_eval
from backend.models.importing import make_tiny_model
from frbio_core.settings import load_settings
from backend.studio import Studio

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LM_EVAL = str(Path(sys.executable).parent / "lm_eval")


def small_data(shared: Path, root: Path) -> Path:
    """bench/ (symlinked), one small domain source and French and English general-domain validation text."""
    for sub, stems in (("corpus", ["mantra_gsc"]), ("general", ["UD_French-Sequoia.dev", "UD_English-EWT.dev"])):
        (root / sub).mkdir(parents=True)
        (root / sub / "sources.json").symlink_to(shared / sub / "sources.json")
        for stem in stems:
            (root / sub / f"{stem}.jsonl.gz").symlink_to(shared / sub / f"{stem}.jsonl.gz")
    (root / "bench").symlink_to(shared / "bench", target_is_directory=True)
    return root


@pytest.fixture
def studio(make_home, shared_data, tmp_path, monkeypatch):
    monkeypatch.delenv("FRBIO_BENCH_DIR", raising=False)
    home = make_home()
    data = small_data(shared_data, tmp_path / "data")
    s = Studio(load_settings(home=str(home), data=[str(data)]))
    make_tiny_model(home, name="tiny-eval", seed=1, db=s.db)
    return s


def cli(studio, *args):
    env = {**os.environ, "FRBIO_HOME": str(studio.home), "FRBIO_DATA": str(studio.settings.data_paths[0])}
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_accuracies_equal_the_lm_eval_command_line(studio, tmp_path):
    cfg = EvalConfig(model="tiny-eval", tasks=["frenchmedmcqa_single", "sib200_fr"], limit=10, batch_size=4)
    ours = {e["task"]: e for e in run_eval(studio.db, studio.settings, cfg)["evals"]}
    folder = studio.home / "cache" / "lm_eval_tasks"   # the rendered YAMLs our run used, one folder per task
    model = studio.home / "models" / "tiny-eval"
    out = subprocess.run([LM_EVAL, "run", "--model", "hf", "--model_args", f"pretrained={model}",
                          "--tasks", "frbio_frenchmedmcqa_single,frbio_sib200_fr", "--include_path", str(folder),
                          "--limit", "10", "--batch_size", "4", "--device", "cpu", "--output_path",
                          str(tmp_path / "cli"), "--log_samples"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(Path(glob.glob(str(tmp_path / "cli" / "*" / "results_*.json"))[0]).read_text())
    assert results["n-shot"] == {"frbio_frenchmedmcqa_single": 3, "frbio_sib200_fr": 5}   # the paper's defaults
    for task in ("frbio_frenchmedmcqa_single", "frbio_sib200_fr"):
        cli_metrics = results["results"][task]
        assert ours[task]["metrics"] == {"acc": cli_metrics["acc,none"], "acc_stderr": cli_metrics["acc_stderr,none"]}
        assert ours[task]["n_samples"] == 10
        # and item by item: the same answer chosen (highest log-likelihood) for every question
        samples = [json.loads(x) for x in Path(glob.glob(str(tmp_path / "cli" / "*" / f"samples_{task}_*"))[0])
                   .read_text().splitlines()]
        cli_answers = {s["doc_id"]: max(range(len(s["filtered_resps"])), key=lambda i: float(s["filtered_resps"][i][0]))
                       for s in samples}
        items = store.items(studio.db, ours[task]["eval_id"])
        assert [i["detail"]["choices"].index(i["pred"]) for i in items] == [cli_answers[i["doc_id"]] for i in items]
    # the drill-down knows each question, the right answer and the model's
    first = store.items(studio.db, ours["frbio_frenchmedmcqa_single"]["eval_id"])[0]
    assert first["question"].startswith("Parmi les propositions suivantes") and first["gold"] == "C"
    assert first["pred"] in "ABCDE"


def test_second_request_is_served_from_the_cache_without_a_job(studio):
    args = ["eval", "--model", "tiny-eval", "--tasks", "frenchmedmcqa_single", "--limit", "5", "--batch-size", "4",
            "--json"]
    first = cli(studio, *args)
    assert first.returncode == 0, first.stderr[-3000:]
    first = json.loads(first.stdout)
    assert first["job_id"] and not first["results"][0]["cached"]
    second = cli(studio, *args)
    assert second.returncode == 0, second.stderr[-3000:]
    second = json.loads(second.stdout)
    assert second["job_id"] is None and second["results"][0]["cached"]
    assert second["results"][0]["metrics"] == first["results"][0]["metrics"]
    assert len(list((studio.home / "jobs").glob("job-*"))) == 1
    files = sorted(p.name for p in Path(first["results"][0]["path"]).iterdir())
    assert "results.json" in files and "samples.jsonl" in files

    # an older model row without a content hash is hashed again and still finds its results
    studio.db["models"].update("tiny-eval", {"content_hash": ""})
    cfg = EvalConfig(model="tiny-eval", tasks=["frenchmedmcqa_single"], limit=5)
    _, content_hash, planned = plan(studio.db, studio.settings, cfg)
    assert planned[0].cached["id"] == first["results"][0]["eval_id"] and content_hash.startswith("sha256:")
    # settings that change the score are a different cache entry; batch size is not
    assert plan(studio.db, studio.settings, cfg.model_copy(update={"fewshot_medical": 1}))[2][0].cached is None
    assert plan(studio.db, studio.settings, cfg.model_copy(update={"batch_size": 1}))[2][0].cached is not None


def test_perplexity_domain_and_general_from_a_snapshot(studio):
    from backend.corpus import catalogue, snapshot
    from backend.corpus.recipe import Recipe

    with pytest.raises(EvalError, match="needs a corpus snapshot"):
        plan(studio.db, studio.settings, EvalConfig(model="tiny-eval", tasks=["perplexity"]))
    catalogue.scan(studio.db, studio.settings.data_paths)
    snapshot.build_snapshot(studio.db, studio.home, Recipe(sources=["mantra_gsc"], validation_fraction=0.05))
    ppl = {}
    for model in ("tiny-eval", "smollm2-135m-instruct"):
        if model != "tiny-eval":
            from backend.models.importing import register_default
            register_default(studio.db, studio.home)
        cfg = EvalConfig(model=model, tasks=["perplexity"], ppl_block_size=64, ppl_max_blocks=3, batch_size=3)
        ppl[model] = run_eval(studio.db, studio.settings, cfg)["evals"][0]["metrics"]
    assert set(ppl["tiny-eval"]) == {"domain_ppl", "general_ppl", "general_ppl_en"}
    for name, value in ppl["smollm2-135m-instruct"].items():
        assert 1 < value < ppl["tiny-eval"][name] / 10   # a trained model predicts text far better than a random one
    # one stored item per block (mean NLL and tokens), from which the perplexity is the same number
    import math

    from backend.evaluation import store
    row = next(e for e in store.list_evals(studio.db, "smollm2-135m-instruct") if e["task"] == "perplexity")
    blocks = [i for i in store.items(studio.db, row["id"]) if i["item_id"].startswith("domain/")]
    assert len(blocks) == 3 and all(b["detail"]["tokens"] == 63 for b in blocks)
    nll = sum(b["detail"]["domain_ppl"] * b["detail"]["tokens"] for b in blocks) / sum(b["detail"]["tokens"]
                                                                                      for b in blocks)
    assert round(math.exp(nll), 4) == ppl["smollm2-135m-instruct"]["domain_ppl"]


def test_bad_requests_fail_with_a_clear_message(studio, tmp_path, monkeypatch):
    with pytest.raises(EvalError, match="fewshot_medical"):
        parse_eval_config({"model": "tiny-eval", "fewshot_medical": -1})
    with pytest.raises(EvalError, match="unknown task 'mmlu'"):
        plan(studio.db, studio.settings, EvalConfig(model="tiny-eval", tasks=["mmlu"]))
    with pytest.raises(EvalError, match="unknown model 'nope'"):
        plan(studio.db, studio.settings, EvalConfig(model="nope"))
    (tmp_path / "empty").mkdir()
    elsewhere = Studio(load_settings(home=str(studio.home), data=[str(tmp_path / "empty")]))
    with pytest.raises(EvalError, match="benchmark data not found .*FRBIO_BENCH_DIR"):
        plan(elsewhere.db, elsewhere.settings, EvalConfig(model="tiny-eval", tasks=["sib200_fr"]))
    monkeypatch.setenv("FRBIO_BENCH_DIR", str(studio.settings.data_paths[0] / "bench"))
    assert plan(elsewhere.db, elsewhere.settings, EvalConfig(model="tiny-eval", tasks=["sib200_fr"]))[2]

    broken = make_tiny_model(studio.home, name="tiny-broken", seed=3, db=studio.db)
    weights = Path(broken["path"]) / "model.safetensors"
    weights.write_bytes(b"not a safetensors file")
    with pytest.raises(EvalError, match="'tiny-broken' cannot be loaded"):
        run_eval(studio.db, studio.settings, EvalConfig(model="tiny-broken", tasks=["sib200_fr"], limit=2))
    assert store.list_evals(studio.db, "tiny-broken") == []
