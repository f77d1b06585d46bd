"""A user's own multiple-choice benchmark: a JSONL in the documented schema becomes a task scored like the
built-in ones; a bad file is refused with the reason (line numbers) and nothing is stored."""
import json

import pytest

from backend.evaluation.config import EvalConfig, EvalError
from backend.evaluation.custom import add_benchmark, list_benchmarks
from backend.evaluation.runner import run_eval
from backend.evaluation.tasks import all_tasks
from backend.models.importing import make_tiny_model
from frbio_core.settings import load_settings
from backend.studio import Studio

GOOD = [
    {"id": "q1", "question": "Quel organe produit l'insuline ?", "choices": {"A": "Le foie", "B": "Le pancréas",
                                                                              "C": "La rate"}, "answer": "B"},
    {"question": "Le paracétamol est un…", "choices": ["antalgique", "antibiotique"], "answers": ["A"]},
    {"question": "Combien de chambres a le cœur ?", "choices": {"A": "2", "B": "3", "C": "4", "D": "5"},
     "answer": "C"},
    {"question": "Exemple : l'aspirine est…", "choices": {"A": "un AINS", "B": "un opioïde"}, "answer": "A",
     "split": "train"},
]


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    "utf-8")
    return path


@pytest.fixture
def studio(make_home, shared_data, tmp_path):
    return Studio(load_settings(home=str(make_home()), data=[str(shared_data)]))


@pytest.mark.parametrize("rows, reason", [
    ([], "the file is empty"),
    (["", "   "], "the file is empty"),
    ([{"choices": {"A": "x", "B": "y"}, "answer": "A"}], "line 1: missing field 'question'"),
    ([GOOD[0], {"question": "q", "answer": "A"}], "line 2: missing field 'choices'"),
    ([{"question": "q", "choices": {"A": "x", "B": "y"}}], "line 1: missing field 'answer'"),
    ([GOOD[0], GOOD[1], {"question": "q", "choices": {"A": "x", "B": "y"}, "answer": "E"}],
     "line 3: answer 'E' is not among the choices (A, B)"),
    ([{"question": "q", "choices": {"A": "x", "B": "y"}, "answers": ["A", "B"]}], "exactly one label"),
    (["{not json"], "line 1: not valid JSON"),
    ([{"question": "q", "choices": {"A": "x"}, "answer": "A"}], "'choices' has 1 option"),
    ([{"question": "q", "choices": "A ou B", "answer": "A"}], "'choices' must be a mapping"),
    ([GOOD[3]], "nothing to evaluate"),
])
def test_bad_file_is_refused_with_the_reason(studio, tmp_path, rows, reason):
    path = write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(EvalError, match="bad.jsonl: .*" + reason.replace("(", r"\(").replace(")", r"\)")):
        add_benchmark(studio.settings, path, "mon test")
    assert list_benchmarks(studio.settings) == []
    assert not any(name.startswith("frbio_custom") for name in all_tasks(studio.settings))


def test_uploaded_benchmark_is_a_task(studio, tmp_path):
    meta = add_benchmark(studio.settings, write(tmp_path / "qcm.jsonl", GOOD), "Mon QCM", domain="medical")
    assert meta["task"] == "frbio_custom_mon_qcm" and meta["n_items"] == 3 and meta["n_fewshot_items"] == 1
    assert (studio.home / "benchmarks" / "mon_qcm" / "test.jsonl").is_file()
    assert "frbio_custom_mon_qcm" in all_tasks(studio.settings)
    with pytest.raises(EvalError, match="already exists"):
        add_benchmark(studio.settings, write(tmp_path / "qcm2.jsonl", GOOD), "Mon QCM")

    make_tiny_model(studio.home, name="tiny-custom", seed=1, db=studio.db)
    cfg = EvalConfig(model="tiny-custom", tasks=["custom_mon_qcm"], fewshot_medical=1, batch_size=2)
    result = run_eval(studio.db, studio.settings, cfg)["evals"][0]
    assert result["n_samples"] == 3 and 0 <= result["metrics"]["acc"] <= 1
    from backend.evaluation.store import items
    rows = items(studio.db, result["eval_id"])
    assert [r["item_id"] for r in rows] == ["q1", "item-2", "item-3"]
    assert [r["gold"] for r in rows] == ["B", "A", "C"]
    assert rows[1]["detail"]["choices"] == ["A", "B"]    # a list of choices is labelled A, B, …
    samples = (studio.home / "evals" / result["eval_id"] / "samples.jsonl").read_text().splitlines()
    context, continuation = json.loads(samples[0])["arguments"][0]
    assert "l'aspirine" in context and continuation == " A"   # the few-shot pool (split "train") comes first


def test_command_line_adds_and_lists_benchmarks(studio, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "FRBIO_HOME": str(studio.home), "FRBIO_DATA": str(studio.settings.data_paths[0])}
    run = lambda *a: subprocess.run([sys.executable, "-m", "backend", "benchmarks", *a], env=env, text=True,  # noqa: E731
                                    capture_output=True, cwd=Path(__file__).resolve().parent.parent, timeout=300)
    bad = run("add", str(write(tmp_path / "bad.jsonl", [{"question": "q", "choices": ["x", "y"], "answer": "C"}])),
              "--name", "bad", "--json")
    assert bad.returncode == 2 and "answer 'C' is not among the choices (A, B)" in json.loads(bad.stdout)["error"]
    good = run("add", str(write(tmp_path / "good.jsonl", GOOD)), "--name", "qcm", "--domain", "general")
    assert good.returncode == 0 and "custom_qcm: 3 items" in good.stdout
    listed = json.loads(run("list", "--json").stdout)
    assert {"short": "custom_qcm", "domain": "general"}.items() <= next(r for r in listed if r["custom"]).items()
