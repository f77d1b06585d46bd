"""The in-memory merge preview (backend.merge.preview): for every method the studio offers, the preview's tensors
equal what mergekit writes to disk for the same YAML (DARE and DELLA with a fixed seed); linear at t is exactly
(1 − t)·base + t·DAPT; one preview copy, reused; the generation changes with the slider."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from frbio_core import registry
from backend.merge import methods as merge_methods
from backend.merge.config import mergekit_config
from backend.merge.methods import MergeError
from backend.merge.preview import MergePreview, get_preview, release_preview
from tests.merge_models import tiny_models

TOLERANCE = 1e-6
SEED = 11


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("merge_preview")
    db = registry.connect(home / "frbio.db")
    return {"home": home, "db": db, **tiny_models(home, db, layers=4)}


def disk_merge(config: dict, out: Path, seed: int = SEED) -> dict:
    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions

    shutil.rmtree(out, ignore_errors=True)
    run_merge(MergeConfiguration.model_validate(config), str(out), MergeOptions(random_seed=seed, quiet=True))
    tensors = {}
    for f in sorted(out.glob("*.safetensors")):
        tensors.update(load_file(f))
    return tensors


def max_difference(disk: dict, preview: MergePreview) -> float:
    merged = preview.merged_tensors()
    assert set(disk) <= set(merged), f"the preview lacks {set(disk) - set(merged)}"
    return max((disk[k] - merged[k]).abs().max().item() for k in disk)


def settings_for(info) -> list[dict]:
    """Non-default settings of a method: the main parameter off its default, a density below 1, schedules."""
    params = {}
    if info.main:
        params[info.main] = 0.3
    if "density" in info.config.model_fields:
        params["density"] = 0.6
    if info.name.startswith("della"):
        params["epsilon"] = 0.1
    out = [params]
    if info.main:
        out.append({**params, f"{info.main}_attention": [0, 0.5, 0.3, 0.7, 1], f"{info.main}_mlp": [1, 0.4, 0]})
    return out


@pytest.mark.parametrize("method", list(merge_methods.methods()))
@pytest.mark.parametrize("partner", ["dapt", "other"])
def test_preview_equals_mergekit_disk_output_for_every_method(env, tmp_path, method, partner):
    base, other = env["base"], env[partner]
    preview = get_preview(base["path"], other["path"])
    for i, params in enumerate(settings_for(merge_methods.method_info(method))):
        disk = disk_merge(mergekit_config(method, params, base["path"], other["path"]), tmp_path / f"out{i}")
        preview.update(method, params, seed=SEED)
        assert max_difference(disk, preview) < TOLERANCE, (method, params)


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
def test_linear_at_t_is_the_weighted_average(env, t):
    preview = get_preview(env["base"]["path"], env["dapt"]["path"])
    preview.update("linear", {"weight": t})
    base, dapt = load_file(Path(env["base"]["path"]) / "model.safetensors"), \
        load_file(Path(env["dapt"]["path"]) / "model.safetensors")
    merged = preview.merged_tensors()
    for name in base:
        assert torch.allclose(merged[name], (1 - t) * base[name] + t * dapt[name], atol=TOLERANCE, rtol=0), name


def test_slerp_ends_are_the_parents(env):
    preview = get_preview(env["base"]["path"], env["other"]["path"])
    for t, parent in ((0.0, "base"), (1.0, "other")):
        preview.update("slerp", {"t": t})
        weights = load_file(Path(env[parent]["path"]) / "model.safetensors")
        assert max((weights[k] - preview.merged_tensors()[k]).abs().max().item() for k in weights) < TOLERANCE


def test_one_preview_copy_reused_and_released(env):
    preview = get_preview(env["base"]["path"], env["dapt"]["path"])
    tensor = preview.merged_tensors()["model.layers.0.mlp.up_proj.weight"]
    pointer, before = tensor.data_ptr(), tensor.clone()
    preview.update("slerp", {"t": 0.8})
    assert get_preview(env["base"]["path"], env["dapt"]["path"]) is preview
    after = preview.merged_tensors()["model.layers.0.mlp.up_proj.weight"]
    assert after.data_ptr() == pointer and not torch.equal(after, before)   # recomputed in place
    other = get_preview(env["base"]["path"], env["other"]["path"])
    assert other is not preview and preview.merged is None                  # the previous pair was released
    release_preview()
    assert other.merged is None


def test_generation_changes_with_the_slider(env):
    preview = get_preview(env["base"]["path"], env["other"]["path"])
    texts = {}
    for t in (0.0, 1.0):
        timing = preview.update("slerp", {"t": t})
        assert timing["tensors"] > 0 and timing["weights_s"] >= 0
        texts[t] = preview.generate("merged", "Le patient présente", max_new_tokens=12)
    assert texts[0.0]["text"] != texts[1.0]["text"]
    assert texts[0.0]["text"] == preview.generate("base", "Le patient présente", max_new_tokens=12)["text"]
    assert texts[1.0]["text"] == preview.generate("dapt", "Le patient présente", max_new_tokens=12)["text"]
    assert texts[1.0]["tokens"] == 12 and 0 <= texts[1.0]["first_token_s"] <= texts[1.0]["total_s"]


def test_generation_before_any_merge_is_refused(env):
    release_preview()
    preview = get_preview(env["base"]["path"], env["dapt"]["path"])
    with pytest.raises(MergeError, match="no merge computed yet"):
        preview.generate("merged", "Bonjour")


def test_incompatible_pair_refused_before_loading(env, tmp_path):
    from backend.models.importing import make_tiny_model

    wide = make_tiny_model(env["home"], name="tiny-wide", seed=3, hidden=32, layers=4, tokenizer_from=None,
                           db=env["db"])
    with pytest.raises(MergeError, match="hidden_size differs: 64 in the base, 32 in the DAPT model"):
        get_preview(env["base"]["path"], wide["path"])


def test_bad_parameters_are_refused_and_leave_the_preview_as_it_was(env):
    preview = get_preview(env["base"]["path"], env["dapt"]["path"])
    preview.update("ties", {"weight": 0.5, "density": 0.5})
    before = preview.merged_tensors()["model.norm.weight"].clone()
    with pytest.raises(MergeError, match="density"):
        preview.update("ties", {"density": 1.5})
    assert torch.equal(preview.merged_tensors()["model.norm.weight"], before)
