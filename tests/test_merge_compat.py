"""Compatibility before any merge (backend.merge.compat): same architecture, layer count, tensors and shapes, same
tokenizer; a refusal names the first differing setting, tensor or token."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from frbio_core import registry
from backend.merge.compat import check_compatible, compatibility
from backend.merge.methods import MergeError
from backend.models.importing import make_tiny_model
from tests.merge_models import tiny_models


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("merge_compat")
    db = registry.connect(home / "frbio.db")
    return {"home": home, "db": db, **tiny_models(home, db)}


def test_two_seeds_of_one_architecture_are_compatible(env):
    result = check_compatible(env["base"]["path"], env["other"]["path"])
    assert result.ok and "LlamaForCausalLM, 2 layers" in result.message and result.n_tensors > 10


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden": 32}, "hidden_size differs: 64 in the base, 32 in the DAPT model"),
    ({"layers": 3}, "num_hidden_layers differs: 2 in the base, 3 in the DAPT model"),
    ({"intermediate": 96}, "intermediate_size differs: 128 in the base, 96 in the DAPT model"),
])
def test_shape_settings_are_named(env, kwargs, message):
    other = make_tiny_model(env["home"], name="odd-" + "-".join(kwargs), seed=5, tokenizer_from=None, db=env["db"],
                            **kwargs)
    result = compatibility(env["base"]["path"], other["path"])
    assert not result.ok and result.message == message
    with pytest.raises(MergeError, match="Cannot merge: " + message):
        check_compatible(env["base"]["path"], other["path"])


def test_vocabulary_size_is_named(env, default_model_home):
    from backend.default_model import default_model_dir

    big_vocab = make_tiny_model(env["home"], name="tiny-smol-vocab", seed=1,
                                tokenizer_from=default_model_dir(default_model_home), db=env["db"])
    result = compatibility(env["base"]["path"], big_vocab["path"], ("tiny-base", "tiny-smol-vocab"))
    assert result.message == "vocab_size differs: 259 in tiny-base, 49152 in tiny-smol-vocab"


def copy_model(row: dict, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(row["path"], folder)
    return folder


def test_a_swapped_token_is_named(env, tmp_path):
    folder = copy_model(env["other"], tmp_path, "swapped")
    data = json.loads((folder / "tokenizer.json").read_text("utf-8"))
    vocab = data["model"]["vocab"]
    a, b = sorted(vocab, key=vocab.get)[10:12]
    vocab[a], vocab[b] = vocab[b], vocab[a]
    (folder / "tokenizer.json").write_text(json.dumps(data), "utf-8")
    result = compatibility(env["base"]["path"], folder)
    assert not result.ok and result.message.startswith(f"tokenizer: token {a!r} has id")


def test_a_missing_tensor_is_named(env, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = copy_model(env["other"], tmp_path, "pruned")
    tensors = load_file(folder / "model.safetensors")
    del tensors["model.layers.1.mlp.up_proj.weight"]
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    result = compatibility(env["base"]["path"], folder)
    assert result.message == "tensor model.layers.1.mlp.up_proj.weight is in the base but not in the DAPT model"


def test_same_folder_and_unreadable_folder(env, tmp_path):
    assert "the same folder" in compatibility(env["base"]["path"], env["base"]["path"]).message
    broken = copy_model(env["other"], tmp_path, "broken")
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    result = compatibility(env["base"]["path"], broken)
    assert not result.ok and "corrupt or truncated" in result.message
