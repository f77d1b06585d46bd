"""`python -m backend merge …` (backend.merge.cli): a mergekit-style YAML runs as a merge job and the merged model is
registered; `merge methods`, `merge check`, `merge yaml`; bad input → one clear line (JSON with --json), exit 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from frbio_core import registry
from tests.merge_models import tiny_models

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("merge_cli")
    tiny_models(home, registry.connect(home / "frbio.db"))
    return home


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FRBIO_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "backend", "merge", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_mergekit_yaml_runs_as_a_job_and_registers_the_merge(home, tmp_path):
    config = tmp_path / "biomistral-style.yaml"
    config.write_text(
        "merge_method: slerp\nbase_model: tiny-base\nmodels:\n  - model: tiny-base\n"
        f"  - model: {home / 'models' / 'tiny-dapt'}\nparameters:\n  t:\n    - filter: self_attn\n"
        "      value: [0, 0.5, 0.3, 0.7, 1]\n    - filter: mlp\n      value: [1, 0.5, 0.7, 0.3, 0]\n"
        "    - value: 0.5\n", "utf-8")
    out = run_cli(home, "--config", str(config), "--output-name", "cli-slerp", "--wait", "--json")
    assert out.returncode == 0, out.stderr
    job = json.loads(out.stdout)
    assert job["status"] == "succeeded" and job["result"]["model_id"] == "cli-slerp"
    assert job["result"]["parameters"]["t_attention"] == [0, 0.5, 0.3, 0.7, 1]
    info = subprocess.run([sys.executable, "-m", "backend", "models", "info", "cli-slerp", "--json"],
                          cwd=PROJECT_ROOT, env={**os.environ, "FRBIO_HOME": str(home)}, capture_output=True,
                          text=True, timeout=120)
    row = json.loads(info.stdout)
    assert row["kind"] == "merged" and [r["id"] for r in row["lineage"]] == ["cli-slerp", "tiny-base", "tiny-dapt"]


def test_methods_check_and_yaml(home):
    methods = json.loads(run_cli(home, "methods", "--json").stdout)
    names = [m["method"] for m in methods["methods"]]
    assert names[:5] == ["slerp", "linear", "task_arithmetic", "ties", "dare_ties"] and "model_stock" in \
        methods["left_out"]
    check = run_cli(home, "check", "tiny-base", "tiny-other")
    assert check.returncode == 0 and check.stdout.startswith("compatible: LlamaForCausalLM")
    out = run_cli(home, "yaml", "--base-model", "tiny-base", "--dapt-model", "tiny-dapt", "--method", "ties",
                  "--parameters", '{"density": 0.5}')
    assert out.returncode == 0 and "merge_method: ties" in out.stdout
    assert f"base_model: {home / 'models' / 'tiny-base'}" in out.stdout and "density: 0.5" in out.stdout


@pytest.mark.parametrize("args, message", [
    (["--base-model", "tiny-base", "--dapt-model", "tiny-dapt", "--method", "ties", "--parameters",
      '{"density": 1.5}'], "parameters: density: Input should be less than or equal to 1 (TIES)"),
    (["--base-model", "tiny-base", "--dapt-model", "nobody"], "dapt_model: unknown model 'nobody'"),
    (["--config", "/no/such/merge.yaml"], "merge config file not found"),
    (["sweep", "--base-model", "tiny-base", "--dapt-model", "tiny-other"], "records no training snapshot"),
])
def test_bad_input_exits_2_with_one_clear_line(home, args, message):
    out = run_cli(home, *args, "--json")
    assert out.returncode == 2 and message in json.loads(out.stdout)["error"]
    assert "error: " in out.stderr and message in out.stderr and "Traceback" not in out.stderr


def test_empty_model_list_and_incompatible_pair(home, tmp_path):
    from backend.models.importing import make_tiny_model

    config = tmp_path / "empty.yaml"
    config.write_text("merge_method: ties\nbase_model: tiny-base\nmodels: []\n", "utf-8")
    out = run_cli(home, "--config", str(config))
    assert out.returncode == 2 and "models: the list is empty" in out.stderr
    make_tiny_model(home, name="tiny-narrow", seed=4, hidden=32, tokenizer_from=None)
    out = run_cli(home, "check", "tiny-base", "tiny-narrow")
    assert out.returncode == 2 and "hidden_size differs: 64 in the base tiny-base, 32 in the DAPT model tiny-narrow" \
        in out.stderr
