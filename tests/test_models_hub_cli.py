"""Model registry and the Hub: download and publish (offline and unreachable paths, the token never shown; success
paths against a stand-in for the Hub API), model cards, and the `models` CLI. (Inspection, local import and bad
folders: test_models_registry.py.)"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from backend.models import hub, importing, publish
from backend.models.inspect import inspect_folder
from backend.models.registry import ModelError, register_model
from tests.data_helpers import clone

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FAKE_TOKEN = "hf_FAKEtokenDoNotLeak1234567890abcd"


# --- the Hub: offline, unreachable, and a stand-in for success ---------------------------------------------------

def make_hub_unreachable(monkeypatch) -> None:
    """Offline mode off, the Hub endpoint a closed local port: connection refused at once."""
    import huggingface_hub.constants as constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")


@pytest.fixture
def unreachable_hub(monkeypatch):
    make_hub_unreachable(monkeypatch)


def test_download_offline_message(tmp_path, db):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(ModelError, match=r"offline mode is on \(HF_HUB_OFFLINE=1\).*Hub unreachable/offline"):
        hub.download_from_hub(db, tmp_path, "HuggingFaceTB/SmolLM2-135M")
    with pytest.raises(ModelError, match="not a Hub model id"):
        hub.download_from_hub(db, tmp_path, "not a repo")


def test_download_unreachable_fails_fast_without_token(unreachable_hub, tmp_path, db, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ModelError, match="Hub is unreachable") as info:
        hub.download_from_hub(db, tmp_path, "HuggingFaceTB/SmolLM2-135M", token=FAKE_TOKEN)
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
    row = hub.download_from_hub(db, tmp_path, "someone/Tiny-Model", token=FAKE_TOKEN,
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
    assert hub.download_from_hub(db, tmp_path, "someone/Tiny-Model")["content_hash"] == row["content_hash"]


def test_download_refuses_non_causal_repo(tmp_path, db, monkeypatch):
    import huggingface_hub

    info = SimpleNamespace(sha="b" * 40, tags=[], card_data=None, config={"architectures": ["BertForMaskedLM"]},
                           siblings=[SimpleNamespace(rfilename="model.safetensors", size=10)])
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", lambda self, *a, **k: info)
    with pytest.raises(ModelError, match="not a causal language model"):
        hub.download_from_hub(db, tmp_path, "google-bert/bert-base-uncased")


def test_progress_adapter_reports_fractions():
    reports = []
    bar_class = hub.progress_tqdm(lambda f, m: reports.append((f, m)), total_bytes=1000, interval=0)
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
    make_hub_unreachable(monkeypatch)
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
    assert "base_model_relation: finetune" in card and "datasets:" not in card   # the snapshot is not on the Hub
    # once its snapshot is published, the model's card names that dataset repository
    publish.publish_snapshot(db, "snap-nc", "me/frbio-corpus", token=FAKE_TOKEN)
    publish.publish_model(db, "dapt", "me/frbio-dapt", token=FAKE_TOKEN)
    card = calls["ops"]["README.md"].path_or_fileobj.decode()
    assert "datasets:\n- me/frbio-corpus" in card


def test_write_model_card_round_trips_licence(tmp_path):
    from huggingface_hub import ModelCard

    from backend.models.cards import write_model_card
    from backend.models.inspect import read_license

    parents = [{"id": "a", "origin": "hub:org/a"}, {"id": "c-local", "origin": "job:job-000001"}]
    path = write_model_card(tmp_path, title="m", parents=parents, relation="merge", method="slerp",
                            snapshot={"id": "snap-1", "commercial_use": True, "licenses": [{"license": "mit"}]},
                            hyperparameters={"t": 0.5}, metrics={"ppl": 12.345678}, license="etalab-2.0")
    text = path.read_text()
    data = ModelCard.load(path).data
    assert data.license == "etalab-2.0" and data.base_model == "org/a" and data.base_model_relation == "merge"
    assert "`c-local`" in text and "c-local" not in str(data.to_dict())   # a local parent: the body only
    assert "| ppl | 12.3457 |" in text and read_license(tmp_path) == "etalab-2.0"
    write_model_card(tmp_path, title="m", license="CeCILL-B")
    data = ModelCard.load(tmp_path / "README.md").data
    assert data.license == "other" and data.license_name == "cecill-b" and data.base_model is None
    assert read_license(tmp_path) == "cecill-b"


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
