"""Model registry: inspection without loading weights, the default and tiny models, local import, lineage and
commercial-use inheritance, and a clear message for every kind of bad model folder. (The Hub and the `models` CLI:
test_models_hub_cli.py.)"""
from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import pytest

from backend.models import importing
from backend.models.inspect import inspect_folder
from backend.models.registry import ModelError, check_models, lineage, list_models, register_model
from tests.data_helpers import clone


# --- inspection ------------------------------------------------------------------------------------------------

def test_inspect_default_model(default_model_home):
    from backend.default_model import default_model_dir

    facts = inspect_folder(default_model_dir(default_model_home))
    assert facts["architecture"] == "LlamaForCausalLM"
    assert facts["n_params"] == 134_515_008  # exact, from the safetensors header (tied embeddings counted once)
    assert facts["dtype"] == "float32" and facts["context_length"] == 8192 and facts["vocab_size"] == 49152
    assert facts["license"] == "apache-2.0" and facts["tokenizer"] != "none"
    assert facts["chat_template"] is True          # SmolLM2-Instruct's chat_template.jinja
    assert 530e6 < facts["size_bytes"] < 560e6
    assert facts["content_hash"].startswith("sha256:") and len(facts["content_hash"]) == 71


def test_register_default_is_idempotent(make_home, db):
    home = make_home()
    first = importing.register_default(db, home)
    again = importing.register_default(db, home)
    assert first["id"] == "smollm2-135m-instruct" and first["origin"] == "default" and first["kind"] == "base"
    assert first["license"] == "apache-2.0" and again["created_at"] == first["created_at"]
    assert [r["id"] for r in list_models(db)] == ["smollm2-135m-instruct"]


def test_content_hash_is_cached_and_follows_changes(tiny_home, tmp_path):
    folder = clone(tiny_home[1], tmp_path / "m")
    first = inspect_folder(folder)["content_hash"]
    cache = json.loads((folder / ".frbio_hash.json").read_text())
    assert cache["sha256"] == first
    (folder / ".frbio_hash.json").write_text(json.dumps({**cache, "sha256": "sha256:stale-but-trusted"}))
    from backend.models import inspect as mod
    mod._hash_memo.clear()
    assert inspect_folder(folder)["content_hash"] == "sha256:stale-but-trusted"  # the cache is used...
    weights = folder / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert inspect_folder(folder)["content_hash"] == first  # ...until the weight file changes


# --- tiny models -------------------------------------------------------------------------------------------------

def test_tiny_model_deterministic_loads_and_generates(make_home, db):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    home = make_home()
    a = importing.make_tiny_model(home, name="tiny-a", seed=0, db=db)
    b = importing.make_tiny_model(home, name="tiny-b", seed=0, db=db)
    c = importing.make_tiny_model(home, name="tiny-c", seed=1, db=db)
    assert a["content_hash"] == b["content_hash"] != c["content_hash"]
    assert a["kind"] == "tiny" and a["architecture"] == "LlamaForCausalLM" and a["vocab_size"] == 49152
    assert a["context_length"] == 512 and a["n_params"] < 4e6
    model = AutoModelForCausalLM.from_pretrained(a["path"], local_files_only=True).eval()
    tok = AutoTokenizer.from_pretrained(a["path"], local_files_only=True)
    ids = tok("Le patient présente une fièvre", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert out.shape[1] == ids["input_ids"].shape[1] + 4
    smol = AutoTokenizer.from_pretrained(Path(home) / "models" / "smollm2-135m-instruct")
    assert tok("Le patient présente")["input_ids"] == smol("Le patient présente")["input_ids"]
    again = importing.make_tiny_model(home, name="tiny-a", seed=0, db=db)  # rebuilt in place, same row
    assert again["content_hash"] == a["content_hash"] and again["created_at"] == a["created_at"]
    assert not list((Path(home) / "models").glob(".*tmp*"))


def test_tiny_model_byte_tokenizer(tiny_home):
    from transformers import AutoTokenizer

    facts = inspect_folder(tiny_home[1])
    assert facts["vocab_size"] == 259 and facts["n_params"] < 200_000
    tok = AutoTokenizer.from_pretrained(tiny_home[1])
    text = "Hépatite à 39,5 °C"
    assert tok.decode(tok(text)["input_ids"]) == text
    assert "<|im_start|>assistant" in tok.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False,
                                                                add_generation_prompt=True)


# --- local import and lineage ------------------------------------------------------------------------------------

def test_import_local_in_place_and_copy(tiny_home, tmp_path, db):
    src = clone(tiny_home[1], tmp_path / "outside" / "My Model")
    home = tmp_path / "home"
    in_place = importing.import_local(db, home, src, license="mit")
    assert in_place["id"] == "my-model" and in_place["path"] == str(src.resolve()) and in_place["license"] == "mit"
    copied = importing.import_local(db, home, src, name="my-copy", copy=True)
    assert Path(copied["path"]) == (home / "models" / "my-copy").resolve() and src.is_dir()
    assert copied["content_hash"] == in_place["content_hash"] and copied["license"] == "apache-2.0"
    assert sorted(p.name for p in (home / "models").iterdir()) == ["my-copy"]
    with pytest.raises(ModelError, match="already exists"):
        importing.import_local(db, home, src, name="my-copy", copy=True)


def test_import_copy_is_atomic(tiny_home, tmp_path, db, monkeypatch):
    src = clone(tiny_home[1], tmp_path / "src")
    home = tmp_path / "home"
    calls = []

    def failing_copy(a, b, **kw):  # the disk fills up after the first file
        calls.append(a)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return shutil.copy2(a, b, **kw)

    monkeypatch.setattr(shutil, "copy2", failing_copy)
    with pytest.raises(ModelError, match="No space left"):
        importing.import_local(db, home, src, name="broken", copy=True)
    assert list((home / "models").iterdir()) == []  # no final folder, no temporary left behind
    assert list_models(db) == [] and (src / "model.safetensors").is_file()


def test_lineage_and_commercial_use_inheritance(tiny_home, tmp_path, db):
    base = importing.import_local(db, tmp_path, clone(tiny_home[1], tmp_path / "base"))
    db["snapshots"].insert({"id": "snap-nc", "path": str(tmp_path), "recipe": "{}", "commercial_use": 0,
                            "licenses": json.dumps(["CC-BY-NC-4.0"])})
    dapt = register_model(db, clone(tiny_home[1], tmp_path / "dapt"), kind="dapt", origin="job:job-000001",
                          parents=[base["id"]], snapshot_id="snap-nc", job_id="job-000001")
    other = register_model(db, clone(tiny_home[1], tmp_path / "other"), kind="dapt", parents=[base["id"]])
    merged = register_model(db, clone(tiny_home[1], tmp_path / "merged"), kind="merged",
                            parents=[dapt["id"], other["id"]])
    assert base["commercial_use"] == 1 and other["commercial_use"] == 1
    assert dapt["commercial_use"] == 0 and merged["commercial_use"] == 0  # research-only data taints descendants
    assert [r["id"] for r in lineage(db, "merged")] == ["merged", "dapt", "other", "base"]
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        register_model(db, tmp_path / "merged", model_id="m2", parents=["nope"])


def test_check_models_flags_vanished_folders(tiny_home, tmp_path, db):
    folder = clone(tiny_home[1], tmp_path / "gone")
    importing.import_local(db, tmp_path, folder)
    shutil.rmtree(folder)
    [row] = check_models(db)
    assert row["status"] == "error" and "Model folder not found" in row["error"]


# --- bad folders -------------------------------------------------------------------------------------------------

def _empty(d, src):
    d.mkdir()


def _no_config(d, src):
    clone(src, d)
    (d / "config.json").unlink()


def _bad_json(d, src):
    clone(src, d)
    (d / "config.json").write_text('{"architectures": ["LlamaForCausalLM"],')


def _corrupt_safetensors(d, src):
    clone(src, d)
    (d / "model.safetensors").write_bytes(struct.pack("<Q", 40) + b"{not json at all}" + b"\0" * 100)


def _truncated_safetensors(d, src):
    clone(src, d)
    data = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[: len(data) // 2])


def _no_weights(d, src):
    clone(src, d)
    (d / "model.safetensors").unlink()


def _masked_lm(d, src):
    clone(src, d)
    config = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**config, "architectures": ["BertForMaskedLM"], "model_type": "bert"}))


def _no_tokenizer(d, src):
    clone(src, d)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (d / name).unlink()


def _lora_adapter(d, src):
    d.mkdir()
    (d / "adapter_config.json").write_text("{}")
    shutil.copy(src / "model.safetensors", d / "adapter_model.safetensors")


def _missing_shard(d, src):
    clone(src, d)
    (d / "model.safetensors").rename(d / "model-00001-of-00002.safetensors")
    (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))


def _not_a_folder(d, src):
    d.write_text("hello")


BAD = {
    "does-not-exist": (None, "Model folder not found"),
    "empty": (_empty, "is empty"),
    "no-config": (_no_config, "No config.json"),
    "bad-json": (_bad_json, "config.json .* is not valid JSON"),
    "corrupt-safetensors": (_corrupt_safetensors, "model.safetensors .* is corrupt or truncated"),
    "truncated-safetensors": (_truncated_safetensors, "corrupt or truncated .*header describes"),
    "no-weights": (_no_weights, "No weights in"),
    "masked-lm": (_masked_lm, "BertForMaskedLM is not a causal language model"),
    "no-tokenizer": (_no_tokenizer, "No tokenizer in"),
    "lora-adapter": (_lora_adapter, "LoRA adapter"),
    "missing-shard": (_missing_shard, "missing .*model-00002-of-00002"),
    "a-file": (_not_a_folder, "Not a folder"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_folder_clear_message(case, tiny_home, tmp_path, db):
    build, pattern = BAD[case]
    folder = tmp_path / case
    if build:
        build(folder, tiny_home[1])
    with pytest.raises(ModelError, match=pattern) as info:
        importing.import_local(db, tmp_path / "home", folder, copy=True)
    assert "Traceback" not in str(info.value) and len(str(info.value)) < 400
    assert list_models(db) == [] and not (tmp_path / "home" / "models" / case).exists()


def test_missing_tokenizer_can_be_described(tiny_home, tmp_path):
    _no_tokenizer(tmp_path / "m", tiny_home[1])
    assert inspect_folder(tmp_path / "m", require_tokenizer=False)["tokenizer"] == "none"


def test_bin_checkpoint_uses_config_estimate(tiny_home, tmp_path):
    import torch
    from safetensors.torch import load_file

    folder = clone(tiny_home[1], tmp_path / "bin")
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    facts = inspect_folder(folder)
    assert facts["n_params"] == inspect_folder(tiny_home[1])["n_params"] and facts["dtype"] == "float32"
