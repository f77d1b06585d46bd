"""A benchmark is its folder: the built-in ones (assets/benchmarks/<task>/) carry their own metadata
(`metadata.frbio` in their YAML) and keep the fingerprints their cached results are stored under; a lab's benchmark
dropped into `<data folder>/benchmarks/<name>/` is listed, offered in the Compare tab and evaluated like the others;
a malformed folder is skipped and reported, never fatal."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.evaluation.benchmarks import TASKS_DIR, UTILS, builtin, read_yaml, without_frbio
from backend.evaluation.config import EvalConfig, default_tasks
from backend.evaluation.tasks import all_tasks, benchmark_errors, fingerprint, get_task, render
from backend.study.config import StudyConfig, parse_study_config, study_benchmarks
from frbio_core.errors import UserError
from frbio_core.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUILTINS = ["frbio_frenchmedmcqa_single", "frbio_frenchmedmcqa_all", "frbio_sib200_fr", "frbio_pubmedqa"]
# The fingerprints of the built-in tasks (on the real bench data) computed BEFORE the tasks moved from
# assets/lm_eval_tasks/*.yaml to assets/benchmarks/<task>/<task>.yaml and gained their `frbio` metadata block.
# Cached evaluations are keyed by them: they must never change unless what lm-eval scores changes.
PRE_MOVE_FINGERPRINTS = {
    "frbio_frenchmedmcqa_single": "1190a9a6d25733b9",
    "frbio_frenchmedmcqa_all": "a863710b6734a467",
    "frbio_sib200_fr": "dfb943cf94c1e6cf",
    "frbio_pubmedqa": "55075e2c06536f17",
}

LAB_YAML = """\
# A lab's own benchmark: a multiple-choice task reading the JSONL files beside it (@DATA@ is this folder).
task: frbio_lab_qcm
custom_dataset: !function utils.load_splits
dataset_kwargs:
  data_files:
    train: "@DATA@/fewshot.jsonl"
    test: "@DATA@/test.jsonl"
training_split: train
test_split: test
fewshot_split: train
output_type: multiple_choice
doc_to_text: !function utils.custom_text
doc_to_choice: !function utils.custom_choices
doc_to_target: !function utils.custom_target
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
  frbio:
    title: {en: "Lab MCQ (pharmacology)", fr: "QCM du labo (pharmacologie)"}
    domain: medical
    language: fr
    metrics: [acc]
    study: true
    data_files: [fewshot.jsonl, test.jsonl]
    note: {en: "Three questions of our own.", fr: "Trois questions maison."}
"""
LAB_ITEMS = [
    {"id": "p1", "question": "Le paracétamol est un…", "labels": ["A", "B"], "texts": ["antalgique", "antibiotique"],
     "answer": "A", "language": "fr"},
    {"id": "p2", "question": "L'amoxicilline est une…", "labels": ["A", "B", "C"],
     "texts": ["statine", "pénicilline", "benzodiazépine"], "answer": "B", "language": "fr"},
    {"id": "p3", "question": "Antidote du paracétamol ?", "labels": ["A", "B"],
     "texts": ["N-acétylcystéine", "naloxone"], "answer": "A", "language": "fr"},
]
FEWSHOT = [{"id": f"f{i}", "question": q, "labels": ["A", "B"], "texts": t, "answer": a, "language": "fr"}
           for i, (q, t, a) in enumerate([("L'aspirine est…", ["un AINS", "un opioïde"], "A"),
                                          ("La morphine est…", ["un AINS", "un opioïde"], "B"),
                                          ("L'insuline est…", ["une hormone", "une vitamine"], "A")])]  # ≥ 3 shots


def jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


@pytest.fixture
def lab_data(tmp_path) -> Path:
    """A data folder holding only benchmarks/: the lab's benchmark and a malformed folder beside it."""
    folder = tmp_path / "lab_data" / "benchmarks" / "lab_qcm"
    folder.mkdir(parents=True)
    (folder / "frbio_lab_qcm.yaml").write_text(LAB_YAML, "utf-8")
    jsonl(folder / "test.jsonl", LAB_ITEMS)
    jsonl(folder / "fewshot.jsonl", FEWSHOT)
    broken = tmp_path / "lab_data" / "benchmarks" / "broken"
    broken.mkdir()
    (broken / "frbio_broken.yaml").write_text(without_frbio(LAB_YAML).replace("lab_qcm", "broken"), "utf-8")
    return tmp_path / "lab_data"


# ------------------------------------------------------------------------------------------------ built-in

def test_builtin_benchmarks_are_read_from_their_folders():
    specs = builtin()
    assert list(specs) == BUILTINS
    for name, spec in specs.items():
        assert spec.folder == TASKS_DIR / name and spec.template == TASKS_DIR / name / f"{name}.yaml"
        assert spec.source == "builtin" and spec.data_dir is None and spec.utils == UTILS
        meta = read_yaml(spec.template)["metadata"]["frbio"]
        assert (spec.title, spec.title_fr) == (meta["title"]["en"], meta["title"]["fr"])
        assert spec.metrics == tuple(meta["metrics"]) and spec.data_files == tuple(meta["data_files"])
        assert spec.default and spec.study and spec.fewshot and spec.note and spec.note_fr
        assert "  frbio:" not in without_frbio(spec.template.read_text("utf-8"))
    assert specs["frbio_sib200_fr"].title == "SIB-200 French (general)"
    assert specs["frbio_sib200_fr"].title_fr == "SIB-200 français (général)"
    assert [s.domain for s in specs.values()] == ["medical", "medical", "general", "medical"]
    assert [s.language for s in specs.values()] == ["fr", "fr", "fr", "en"]
    assert specs["frbio_frenchmedmcqa_all"].metrics == ("emr", "hamming")
    # the lists that used to be written out in code come from the folders
    assert default_tasks() == BUILTINS == EvalConfig().tasks
    assert study_benchmarks() == [n.removeprefix("frbio_") for n in BUILTINS] == StudyConfig().benchmarks
    assert not (PROJECT_ROOT / "assets" / "lm_eval_tasks").exists()


def test_fingerprints_are_those_of_before_the_move(shared_data, tmp_path, monkeypatch):
    """The cache keys of the built-in tasks did not change: the `frbio` block is not hashed; and the rendered
    folder (the YAML with its metadata, as lm-eval reads it) loads in lm-eval's TaskManager."""
    from lm_eval.tasks import TaskManager

    monkeypatch.delenv("FRBIO_BENCH_DIR", raising=False)
    settings = Settings(home=str(tmp_path / "home"), data=[str(shared_data)])
    specs = {name: get_task(settings, name) for name in BUILTINS}
    assert {name: fingerprint(settings, spec) for name, spec in specs.items()} == PRE_MOVE_FINGERPRINTS
    for name, spec in specs.items():
        folder = render(settings, spec)
        text = (folder / f"{name}.yaml").read_text("utf-8")
        assert "@DATA@" not in text and "  frbio:" in text
        task = TaskManager(include_path=str(folder), include_defaults=False).load([name])["tasks"][name]
        assert task.config.metadata["frbio"]["domain"] == spec.domain


# ------------------------------------------------------------------------------------------- a data folder

def test_a_data_folder_benchmark_is_discovered_and_a_broken_one_reported(lab_data, tmp_path):
    settings = Settings(home=str(tmp_path / "home"), data=[str(lab_data)])
    tasks = all_tasks(settings)
    assert list(tasks)[:5] == BUILTINS + ["perplexity"]
    spec = tasks["frbio_lab_qcm"]
    assert spec.source == "data" and spec.folder == lab_data / "benchmarks" / "lab_qcm"
    assert spec.data_dir == spec.folder and spec.title_fr == "QCM du labo (pharmacologie)"
    assert not spec.default and spec.study and spec.utils == UTILS
    assert "frbio_broken" not in tasks
    errors = benchmark_errors(settings)
    assert [f.name for f, _ in errors] == ["broken"] and "no `frbio` entry" in errors[0][1]
    # the study accepts it once it has been discovered (the Reproduce tab offers it)
    assert "lab_qcm" in study_benchmarks(settings)
    assert parse_study_config({"benchmarks": ["frenchmedmcqa_single", "lab_qcm"]}).benchmarks[-1] == "lab_qcm"
    with pytest.raises(UserError, match="unknown benchmark nope"):
        parse_study_config({"benchmarks": ["nope"]})
    # the rendered task reads the data beside its YAML; retitling the benchmark keeps its fingerprint
    before = fingerprint(settings, spec)
    assert f'"{spec.folder}/test.jsonl"' in (render(settings, spec) / "frbio_lab_qcm.yaml").read_text("utf-8")
    yaml_path = spec.folder / "frbio_lab_qcm.yaml"
    yaml_path.write_text(LAB_YAML.replace("Lab MCQ", "Our MCQ"), "utf-8")
    assert fingerprint(settings, get_task(settings, "lab_qcm")) == before
    yaml_path.write_text(LAB_YAML.replace("test_split: test", "test_split: train"), "utf-8")
    assert fingerprint(settings, get_task(settings, "lab_qcm")) != before


def test_uploaded_benchmark_carries_its_metadata_and_old_uploads_still_load(tmp_path):
    from backend.evaluation.custom import add_benchmark

    settings = Settings(home=str(tmp_path / "home"), data=[str(tmp_path / "nodata")])
    src = tmp_path / "qcm.jsonl"
    jsonl(src, [{"question": "Q ?", "choices": ["oui", "non"], "answer": "A"},
                {"question": "Ex ?", "choices": ["x", "y"], "answer": "B", "split": "train"}])
    meta = add_benchmark(settings, src, "Mon QCM", domain="general", language="fr")
    folder = tmp_path / "home" / "benchmarks" / "mon_qcm"
    frbio = read_yaml(folder / "task.yaml")["metadata"]["frbio"]
    assert frbio["title"] == {"en": "Mon QCM (uploaded)", "fr": "Mon QCM (importé)"} and frbio["domain"] == "general"
    spec = all_tasks(settings)[meta["task"]]
    assert (spec.source, spec.folder, spec.domain, spec.fewshot) == ("uploaded", folder, "general", True)
    assert spec.data_files == ("fewshot.jsonl", "test.jsonl") and spec.extra["n_items"] == 1
    key = fingerprint(settings, spec)
    # an upload made before the metadata lived in the YAML: read from its benchmark.json, same fingerprint
    (folder / "task.yaml").write_text(without_frbio((folder / "task.yaml").read_text("utf-8")), "utf-8")
    old = all_tasks(settings)[meta["task"]]
    assert (old.title, old.domain, old.fewshot, old.source) == ("Mon QCM (uploaded)", "general", True, "uploaded")
    assert fingerprint(settings, old) == key and benchmark_errors(settings) == []


def test_data_folder_benchmark_is_listed_offered_and_evaluated(lab_data, tmp_path):
    """Adding a benchmark = adding a folder: `benchmarks list`, the Compare tab and `eval` see it."""
    from backend.models.importing import make_tiny_model
    from backend.studio import Studio
    from frbio_ui.compare_tab import task_choices

    home = tmp_path / "home"
    studio = Studio(Settings(home=str(home), data=[str(lab_data)]))
    make_tiny_model(home, "tiny", seed=0, tokenizer_from=None, db=studio.db)
    assert ("Lab MCQ (pharmacology)", "frbio_lab_qcm") in task_choices(studio)
    assert [n for _, n in task_choices(studio)][:4] == BUILTINS

    env = {k: v for k, v in os.environ.items() if not k.startswith("FRBIO_")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "backend", "--home", str(home), f"--data={lab_data}", *args],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)

    listed = cli("benchmarks", "list", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    rows = {r["task"]: r for r in json.loads(listed.stdout)}
    assert {"source": "data", "folder": str(lab_data / "benchmarks" / "lab_qcm"), "domain": "medical",
            "title_fr": "QCM du labo (pharmacologie)", "custom": False}.items() <= rows["frbio_lab_qcm"].items()
    assert all(rows[n]["source"] == "builtin" for n in BUILTINS)
    assert f"error: {lab_data / 'benchmarks' / 'broken'}:" in listed.stderr
    text = cli("benchmarks", "list")
    assert text.returncode == 0 and "lab_qcm" in text.stdout and "error: " in text.stdout

    out = cli("eval", "--model", "tiny", "--tasks", "lab_qcm", "--limit", "2", "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)["results"][0]
    assert result["task"] == "frbio_lab_qcm" and result["n_samples"] == 2 and not result["cached"]
    assert 0 <= result["metrics"]["acc"] <= 1
