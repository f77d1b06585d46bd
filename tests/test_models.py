"""Model registry: inspection without loading weights, local import, tiny models, lineage, Hub download/publish
(offline and unreachable paths; success paths against a stand-in for the Hub API), and the `models` CLI."""
from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from backend import registry
from backend.models import importing, publish
from backend.models.inspect import inspect_folder
from backend.models.registry import ModelError, check_models, lineage, list_models, register_model

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FAKE_TOKEN = "hf_FAKEtokenDoNotLeak1234567890abcd"


@pytest.fixture
def db(tmp_path):
    return registry.connect(tmp_path / "frbio.db")


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory):
    """A home holding a byte-tokenizer tiny model (no default model needed): the source of the bad folders."""
    home = tmp_path_factory.mktemp("tiny_home")
    row = importing.make_tiny_model(home, name="tiny-src", tokenizer_from=None)
    return home, Path(row["path"])


def clone(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# --- inspection ------------------------------------------------------------------------------------------------

def test_inspect_default_model(default_model_home):
    from backend.default_model import default_model_dir

    facts = inspect_folder(default_model_dir(default_model_home))
    assert facts["architecture"] == "LlamaForCausalLM"
    assert facts["n_params"] == 134_515_008  # exact, from the safetensors header (tied embeddings counted once)
    assert facts["dtype"] == "float32" and facts["context_length"] == 8192 and facts["vocab_size"] == 49152
    assert facts["license"] == "apache-2.0" and facts["tokenizer"] != "none"
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


# --- the Hub: offline, unreachable, and a stand-in for success ---------------------------------------------------

@pytest.fixture
def unreachable_hub(monkeypatch):
    """Offline mode off, the Hub endpoint a closed local port: connection refused at once."""
    import huggingface_hub.constants as constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")


def test_download_offline_message(tmp_path, db):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(ModelError, match=r"offline mode is on \(HF_HUB_OFFLINE=1\).*Hub unreachable/offline"):
        importing.download_from_hub(db, tmp_path, "HuggingFaceTB/SmolLM2-135M")
    with pytest.raises(ModelError, match="not a Hub model id"):
        importing.download_from_hub(db, tmp_path, "not a repo")


def test_download_unreachable_fails_fast_without_token(unreachable_hub, tmp_path, db, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ModelError, match="Hub is unreachable") as info:
        importing.download_from_hub(db, tmp_path, "HuggingFaceTB/SmolLM2-135M", token=FAKE_TOKEN)
    out = capsys.readouterr()
    for text in (str(info.value), caplog.text, out.out, out.err):
        assert FAKE_TOKEN not in text
    assert not (tmp_path / "models" / "huggingfacetb--smollm2-135m").exists()


def test_download_with_stand_in_hub(tiny_home, tmp_path, db, monkeypatch):
    import huggingface_hub

    src = tiny_home[1]
    files = [p.name for p in src.iterdir() if not p.name.startswith(".")] + ["model.onnx", "pytorch_model.bin"]
    info = SimpleNamespace(sha="a" * 40, tags=["license:mit"], card_data=SimpleNamespace(license="mit"),
                           config={"architectures": ["LlamaForCausalLM"]},
                           siblings=[SimpleNamespace(rfilename=f, size=(src / f).stat().st_size if (src / f).exists()
                                                     else 10**9) for f in files])
    seen = {}

    def fake_snapshot_download(repo_id, *, revision, local_dir, token, allow_patterns, tqdm_class, **kw):
        from huggingface_hub.utils import filter_repo_objects

        seen.update(revision=revision, token=token)
        wanted = list(filter_repo_objects(files, allow_patterns=allow_patterns))
        seen["files"] = sorted(wanted)
        Path(local_dir).mkdir(parents=True)
        (Path(local_dir) / ".cache" / "huggingface").mkdir(parents=True)
        total = sum((src / f).stat().st_size for f in wanted)
        with tqdm_class(total=len(wanted), desc="Fetching") as file_bar, \
                tqdm_class(total=total, unit="B", desc="Reconstructing") as byte_bar:
            for f in wanted:
                shutil.copy(src / f, local_dir)
                byte_bar.update((src / f).stat().st_size)
                file_bar.update(1)
        return str(local_dir)

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", lambda self, *a, **k: info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    reports = []
    row = importing.download_from_hub(db, tmp_path, "someone/Tiny-Model", token=FAKE_TOKEN,
                                      progress=lambda f, m: reports.append((f, m)))
    assert row["id"] == "someone--tiny-model" and row["origin"] == "hub:someone/Tiny-Model"
    assert row["license"] == "mit" and seen["revision"] == "a" * 40 and seen["token"] == FAKE_TOKEN
    assert "model.onnx" not in seen["files"] and "pytorch_model.bin" not in seen["files"]  # safetensors preferred
    assert reports[-1][0] == 1.0 and any("files" in m for _, m in reports)
    assert [f for f, _ in reports] == sorted(f for f, _ in reports)
    folder = Path(row["path"])
    assert not (folder / ".cache").exists() and not list(folder.parent.glob(".*partial"))
    assert json.loads((folder / "frbio_model.json").read_text())["revision"] == "a" * 40
    # Downloading again registers the existing folder without fetching anything.
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: pytest.fail("downloaded twice"))
    assert importing.download_from_hub(db, tmp_path, "someone/Tiny-Model")["content_hash"] == row["content_hash"]


def test_download_refuses_non_causal_repo(tmp_path, db, monkeypatch):
    import huggingface_hub

    info = SimpleNamespace(sha="b" * 40, tags=[], card_data=None, config={"architectures": ["BertForMaskedLM"]},
                           siblings=[SimpleNamespace(rfilename="model.safetensors", size=10)])
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", lambda self, *a, **k: info)
    with pytest.raises(ModelError, match="not a causal language model"):
        importing.download_from_hub(db, tmp_path, "google-bert/bert-base-uncased")


def test_progress_adapter_reports_fractions():
    reports = []
    bar_class = importing.progress_tqdm(lambda f, m: reports.append((f, m)), total_bytes=1000, interval=0)
    with bar_class(total=2, desc="Fetching 2 files") as files, bar_class(total=0, unit="B") as data:
        data.update(250)
        data.update(750)
        files.update(2)
    assert reports[0][0] == 0.25 and reports[-1][0] == 1.0 and "2/2 files" in reports[-1][1]


def test_publish_offline_and_unreachable_never_show_token(tiny_home, tmp_path, db, monkeypatch, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    row = importing.import_local(db, tmp_path, clone(tiny_home[1], tmp_path / "pub"))
    with pytest.raises(ModelError, match="offline mode is on") as offline_error:
        publish.publish_model(db, row["id"], "me/pub", token=FAKE_TOKEN)
    with pytest.raises(ModelError, match="unknown snapshot"):
        publish.publish_snapshot(db, "snap-nope", "me/data", token=FAKE_TOKEN)
    import huggingface_hub.constants as constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)  # from the environment this time
    with pytest.raises(ModelError, match="Hub is unreachable") as unreachable:
        publish.publish_model(db, row["id"], "me/pub")
    out = capsys.readouterr()
    for text in (str(offline_error.value), str(unreachable.value), caplog.text, out.out, out.err):
        assert FAKE_TOKEN not in text and "FAKEtoken" not in text


def test_publish_with_stand_in_hub_generates_card(tiny_home, tmp_path, db, monkeypatch):
    import huggingface_hub

    folder = clone(tiny_home[1], tmp_path / "dapt")
    (folder / "README.md").unlink()
    inspect_folder(folder)  # leaves .frbio_hash.json, which must not be uploaded
    db["snapshots"].insert({"id": "snap-nc", "path": str(tmp_path), "recipe": "{}", "commercial_use": 0,
                            "licenses": json.dumps(["CC-BY-NC-4.0", "etalab-2.0"])})
    db["models"].insert({"id": "smol", "name": "smol", "kind": "base", "path": str(tmp_path), "origin": "default",
                         "parents": "[]", "commercial_use": 1})
    register_model(db, folder, kind="dapt", parents=["smol"], snapshot_id="snap-nc", license="apache-2.0")
    calls = {}

    def create_repo(self, repo_id, **kw):
        calls["repo"] = (repo_id, kw, self.token)
        return f"https://huggingface.co/{repo_id}"

    def create_commit(self, repo_id, operations, **kw):
        calls["ops"] = {op.path_in_repo: op for op in operations}
        return SimpleNamespace(oid="c" * 40)

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "create_commit", create_commit)
    result = publish.publish_model(db, "dapt", "me/frbio-dapt", token=FAKE_TOKEN)
    assert result["card"] == "generated" and result["commit"] == "c" * 40
    assert calls["repo"][0] == "me/frbio-dapt" and calls["repo"][1]["private"] is True
    assert calls["repo"][2] == FAKE_TOKEN and FAKE_TOKEN not in json.dumps(result)
    assert ".frbio_hash.json" not in calls["ops"] and "model.safetensors" in calls["ops"]
    card = calls["ops"]["README.md"].path_or_fileobj.decode()
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card and "snap-nc" in card
    assert "NON-COMMERCIAL" in card and "CC-BY-NC-4.0" in card and "license: apache-2.0" in card


def test_write_model_card_round_trips_licence(tmp_path):
    from backend.models.cards import write_model_card
    from backend.models.inspect import read_license

    path = write_model_card(tmp_path, title="m", base_models=["a/b", "c/d"], method="slerp",
                            snapshot={"id": "snap-1", "commercial_use": True, "licenses": [{"license": "mit"}]},
                            hyperparameters={"t": 0.5}, metrics={"ppl": 12.345678}, license="etalab-2.0")
    text = path.read_text()
    assert "license: etalab-2.0" in text and "base_model:\n- a/b\n- c/d" in text and "| ppl | 12.3457 |" in text
    assert read_license(tmp_path) == "etalab-2.0"
    write_model_card(tmp_path, title="m", license="CeCILL-B")
    assert "license: other\nlicense_name: CeCILL-B" in (tmp_path / "README.md").read_text()
    assert read_license(tmp_path) == "CeCILL-B"


# --- CLI -----------------------------------------------------------------------------------------------------------

def run_cli(*args, home):
    env = {**os.environ, "FRBIO_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "backend", "models", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_tiny_list_info_and_errors(tmp_path, tiny_home):
    home = tmp_path / "home"
    out = run_cli("tiny", "--name", "cli-tiny", "--byte-tokenizer", "--json", home=home)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["id"] == "cli-tiny"
    out = run_cli("import", str(tiny_home[1]), "--name", "imported", "--json", home=home)
    assert out.returncode == 0, out.stderr
    out = run_cli("list", "--json", home=home)
    assert out.returncode == 0, out.stderr
    assert [(r["id"], r["kind"]) for r in json.loads(out.stdout)] == [("cli-tiny", "tiny"), ("imported", "base")]
    out = run_cli("info", "cli-tiny", "--json", home=home)
    info = json.loads(out.stdout)
    assert info["architecture"] == "LlamaForCausalLM" and [r["id"] for r in info["lineage"]] == ["cli-tiny"]
    for bad in (("info", "nope"), ("import", str(tmp_path / "missing")), ("download", "a/b"),
                ("publish", "cli-tiny", "me/x")):
        out = run_cli(*bad, "--json", home=home)
        assert out.returncode == 2, (bad, out.stderr)
        assert json.loads(out.stdout)["error"] and out.stderr.startswith("error: ")
        assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) == 1
