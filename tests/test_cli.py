"""The command line does what the Corpus tab does and prints JSON; bad input → one clear line, exit status 2."""
import json
import os
import subprocess
import sys

import pytest

from tests.data_helpers import data_folder

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, home, data):
    env = {**os.environ, "FRBIO_HOME": str(home), "FRBIO_DATA": str(data)}
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def data(shared_data, tmp_path):
    return data_folder(shared_data, tmp_path / "data", ["mantra_gsc", "pxcorpus", "WMT-18-Medline"],
                       ["UD_French-GSD.dev"], sidecars=False)


def test_sources_json(make_home, data):
    out = run_cli("corpus", "sources", "--json", "--tokens", "default", home=make_home(), data=data)
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["WMT-18-Medline"]["commercial_use"] is False and rows["mantra_gsc"]["commercial_use"] is True
    assert rows["pxcorpus"]["n_docs"] == 77 and rows["pxcorpus"]["n_tokens"] > rows["pxcorpus"]["n_words"]
    assert rows["UD_French-GSD.dev"]["kind"] == "general"


def test_build_from_yaml_recipe_prints_summary(make_home, data, tmp_path):
    home = make_home()
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: demo\nlicense_mode: commercial\ncleaning:\n  near_threshold: 0.9\n")
    out = run_cli("corpus", "build", "--recipe", str(recipe), "--json", home=home, data=data)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["snapshot_id"].startswith("snap-") and summary["commercial_use"] is True
    assert summary["sources"] == ["mantra_gsc", "pxcorpus"]
    assert summary["in"]["docs"] == 250 + 77
    assert set(summary["removed_per_rule"]) >= {"control_chars", "short_docs"}
    assert {"exact_duplicates_removed", "near_duplicates_removed"} <= set(summary)
    assert summary["out"]["train"]["tokens"] > 0
    again = json.loads(run_cli("corpus", "build", "--recipe", str(recipe), "--json", home=home, data=data).stdout)
    assert again["snapshot_id"] == summary["snapshot_id"] and again["reused"] is True
    listed = run_cli("corpus", "snapshots", "--json", home=home, data=data)
    assert [s["id"] for s in json.loads(listed.stdout)] == [summary["snapshot_id"]]


@pytest.mark.parametrize("args, message", [
    (["--sources", "Nope"], "unknown domain source 'Nope'"),
    (["--weights", '{"mantra_gsc": -2}'], "weights.mantra_gsc"),
    (["--recipe", "/no/such/recipe.yaml"], "recipe file not found"),
    (["--validation-fraction", "0"], "validation_fraction"),
])
def test_bad_build_input_exits_2_with_a_clear_line(make_home, data, args, message):
    out = run_cli("corpus", "build", *args, home=make_home(), data=data)
    assert out.returncode == 2 and message in out.stderr
    assert "Traceback" not in out.stderr


def test_every_command_and_subcommand_prints_its_help():
    """`--help` of every command works (argparse formats help texts with %: a bare "95 %" broke one)."""
    import argparse

    from backend.__main__ import build_parser

    def walk(parser: argparse.ArgumentParser, path: str) -> int:
        assert parser.format_help(), path
        count = 1
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    count += walk(sub, f"{path} {name}")
        return count

    assert walk(build_parser(), "backend") > 40


def test_train_help_shows_the_fields_in_the_forms_sections():
    """`train --help` groups its flags as the Train tab does: the fields most people change first, then one
    section per group named on the fields (LoRA's saying when it applies)."""
    import re

    from backend.__main__ import build_parser

    parser = build_parser()
    train = next(a for a in parser._actions if hasattr(a, "choices") and a.choices and "train" in a.choices)
    text = train.choices["train"].format_help()
    titles = re.findall(r"(?m)^(\S[^\n]*):$", text)
    assert titles[-6:] == ["train config fields", "LoRA settings (with --method lora)", "Optimisation",
                           "Evaluation and checkpoints", "Precision and speed", "Several GPUs"]
    sections = dict(zip(titles, re.split(r"(?m)^\S[^\n]*:$", text)[1:]))
    assert "--learning-rate" in sections["train config fields"] and "--lora-r" not in sections["train config fields"]
    assert "--lora-r" in sections["LoRA settings (with --method lora)"]
    assert "--keep-every" in sections["Evaluation and checkpoints"] and "--num-gpus" in sections["Several GPUs"]
