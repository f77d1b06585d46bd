"""Saving a merge (backend.merge.save): a registered 'merged' model with its lineage, card and mergekit YAML;
`mergekit-yaml` re-run on that YAML gives the same tensors; bad input is refused before anything is written and
leaves nothing registered or half-written."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from frbio_core import registry
from backend.merge import save as merge_save
from backend.merge.config import MergeConfig
from backend.merge.methods import MergeError
from backend.merge.preview import get_preview
from backend.models.registry import get_model, lineage, list_models
from tests.merge_models import perturbed_copy, tiny_models

MERGEKIT_YAML = Path(sys.executable).parent / "mergekit-yaml"


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    db = registry.connect(home / "frbio.db")
    return {"home": home, "db": db, **tiny_models(home, db)}


def weights(folder) -> dict:
    out = {}
    for f in sorted(Path(folder).glob("*.safetensors")):
        out.update(load_file(f))
    return out


def folders(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "models").iterdir())


@pytest.mark.parametrize("method, params, seed", [
    ("slerp", {"t": 0.5, "t_attention": [0, 0.5, 1], "t_mlp": [1, 0.5, 0]}, 0),
    ("dare_ties", {"weight": 0.7, "density": 0.5}, 42),
])
def test_saved_merge_is_registered_and_mergekit_yaml_reproduces_it(env, tmp_path, method, params, seed):
    cfg = MergeConfig(base_model="tiny-base", dapt_model="tiny-dapt", method=method, parameters=params, seed=seed,
                      output_name=f"merged-{method.replace('_', '-')}")
    result = merge_save.save_merge(env["db"], env["home"], cfg, job_id="job-000007", owner="alice")
    row = get_model(env["db"], result["model_id"])
    assert row["kind"] == "merged" and row["parents"] == ["tiny-base", "tiny-dapt"] and row["owner"] == "alice"
    assert [r["id"] for r in lineage(env["db"], row["id"])] == [row["id"], "tiny-base", "tiny-dapt"]
    folder = Path(row["path"])
    card = (folder / "README.md").read_text("utf-8")
    assert "tiny-base" in card and "tiny-dapt" in card and "mergekit_config.yml" in card
    assert f"merge-{method}" in card and "Licence: apache-2.0" in card
    marker = json.loads((folder / "frbio_model.json").read_text("utf-8"))
    assert marker["parents"] == ["tiny-base", "tiny-dapt"] and marker["method"] == method

    rerun = tmp_path / "rerun"
    args = [str(MERGEKIT_YAML), result["yaml"], str(rerun), "--quiet"] + (["--random-seed", str(seed)] if seed else [])
    subprocess.run(args, check=True, capture_output=True, timeout=300)
    saved, again = weights(folder), weights(rerun)
    assert set(saved) == set(again)
    assert max((saved[k] - again[k]).abs().max().item() for k in saved) == 0.0

    preview = get_preview(env["base"]["path"], env["dapt"]["path"])   # the preview showed these very weights
    preview.update(method, params, seed=seed)
    assert max((saved[k] - preview.merged_tensors()[k]).abs().max().item() for k in saved) < 1e-6


def test_non_commercial_dapt_makes_a_non_commercial_merge(env):
    dapt = perturbed_copy(env["home"], env["db"], env["base"], "tiny-dapt-research", commercial_use=False)
    cfg = MergeConfig(base_model="tiny-base", dapt_model=dapt["id"], output_name="merged-research")
    result = merge_save.save_merge(env["db"], env["home"], cfg)
    assert result["commercial_use"] is False and get_model(env["db"], "merged-research")["commercial_use"] == 0
    card = (Path(result["path"]) / "README.md").read_text("utf-8")
    assert ("**NON-COMMERCIAL (research only)**: a parent model, or the training data of the DAPT model, does not "
            "allow it") in card


def assert_nothing_written(env, before_models: list[str], before_folders: list[str]):
    assert [r["id"] for r in list_models(env["db"])] == before_models
    assert folders(env["home"]) == before_folders       # no merged folder, no hidden temporary one


def test_missing_parent_is_refused(env):
    shutil.rmtree(env["other"]["path"])
    before = ([r["id"] for r in list_models(env["db"])], folders(env["home"]))
    with pytest.raises(MergeError, match="dapt_model: 'tiny-other' cannot be used: Model folder not found"):
        merge_save.save_merge(env["db"], env["home"], MergeConfig(base_model="tiny-base", dapt_model="tiny-other"))
    with pytest.raises(MergeError, match="dapt_model: unknown model 'ghost'"):
        merge_save.save_merge(env["db"], env["home"], MergeConfig(base_model="tiny-base", dapt_model="ghost"))
    assert_nothing_written(env, *before)


def test_not_enough_disk_is_refused_before_writing(env, monkeypatch):
    before = ([r["id"] for r in list_models(env["db"])], folders(env["home"]))
    monkeypatch.setattr(merge_save, "free_bytes", lambda folder: 1_000_000)
    with pytest.raises(MergeError, match=r"Not enough disk space for the merged model: about 0\.\d\d GB needed, "
                                         r"0\.00 GB free"):
        merge_save.save_merge(env["db"], env["home"], MergeConfig(base_model="tiny-base", dapt_model="tiny-dapt"))
    assert_nothing_written(env, *before)


def test_incompatible_and_taken_name_are_refused(env):
    from backend.models.importing import make_tiny_model

    wide = make_tiny_model(env["home"], name="tiny-wide", seed=3, hidden=32, tokenizer_from=None, db=env["db"])
    before = ([r["id"] for r in list_models(env["db"])], folders(env["home"]))
    with pytest.raises(MergeError, match="hidden_size differs: 64 in the base tiny-base, 32 in the DAPT model "
                                         "tiny-wide"):
        merge_save.save_merge(env["db"], env["home"], MergeConfig(base_model="tiny-base", dapt_model=wide["id"]))
    with pytest.raises(MergeError, match="output_name: a model named 'tiny-other' already exists"):
        merge_save.save_merge(env["db"], env["home"], MergeConfig(base_model="tiny-base", dapt_model="tiny-dapt",
                                                                  output_name="tiny-other"))
    with pytest.raises(MergeError, match="the same model as base_model"):
        merge_save.save_merge(env["db"], env["home"], MergeConfig(base_model="tiny-base", dapt_model="tiny-base"))
    assert_nothing_written(env, *before)


def test_a_merge_failing_midway_leaves_nothing(env, monkeypatch):
    import mergekit.merge

    before = ([r["id"] for r in list_models(env["db"])], folders(env["home"]))

    def half_written(config, out_path, options, config_source=None):
        Path(out_path).mkdir(parents=True)
        (Path(out_path) / "model-00001-of-00002.safetensors").write_bytes(b"partial")
        raise RuntimeError("disk full while writing shard 2")

    monkeypatch.setattr(mergekit.merge, "run_merge", half_written)
    with pytest.raises(MergeError, match="mergekit failed: disk full while writing shard 2"):
        merge_save.save_merge(env["db"], env["home"], MergeConfig(base_model="tiny-base", dapt_model="tiny-dapt"))
    assert_nothing_written(env, *before)


def test_merge_job_runs_through_the_job_kind(env):
    from backend.merge.job import MERGE
    from backend.studio import Studio
    from frbio_core.errors import UserError
    from frbio_core.settings import Settings
    from jobs import store
    from tests.data_helpers import run_in_process

    settings = Settings(home=str(env["home"]))
    config = {"base_model": "tiny-base", "dapt_model": "tiny-dapt", "method": "linear", "parameters": {"weight": 0.25}}
    job_id = store.submit(env["db"], env["home"], "merge", config, owner="bob")
    result = run_in_process(settings, env["db"], job_id)
    row = get_model(env["db"], result["model_id"])
    assert row["job_id"] == job_id and row["origin"] == f"job:{job_id}" and row["id"].endswith(job_id)
    base, dapt = weights(env["base"]["path"]), weights(env["dapt"]["path"])
    merged = weights(row["path"])
    name = "model.layers.0.self_attn.q_proj.weight"
    assert torch.allclose(merged[name], 0.75 * base[name] + 0.25 * dapt[name], atol=1e-6)
    with pytest.raises(UserError, match="density"):
        MERGE.launch(Studio(settings), {**config, "method": "ties", "parameters": {"density": 2}})
