"""Every artefact has an owner and an id that is never reused (issue 13, rows 1, 2, 4, 7, 12, 13): what bob, a
logged-in colleague, tried against alice's work is refused with the owner named, audited, and leaves her rows and
files as they were; her own `replace` (or an admin's) goes through, audited."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from backend.corpus import catalogue
from backend.errors import CorpusInputError, ModelError
from backend.models import importing, publish
from backend.models.registry import find_model, get_model, register_model
from frbio_core import registry, users
from frbio_core.errors import PermissionDenied
from tests.data_helpers import clone

FAKE_TOKEN = "hf_FAKEtokenFAKEtokenFAKEtoken1234"


@pytest.fixture
def team(db):
    users.add_user(db, "alice", "long enough")
    users.add_user(db, "bob", "long enough")
    users.add_user(db, "root", "long enough", admin=True)
    return db


def refusals(db, actor: str) -> list[dict]:
    return [r for r in users.list_audit(db, actor=actor, action="refused")]


def alices_dapt(db, tiny_home, tmp_path) -> dict:
    folder = clone(tiny_home[1], tmp_path / "alice-dapt")
    return register_model(db, folder, model_id="alice-dapt", kind="dapt", parents=[], license="apache-2.0",
                          commercial_use=False, owner="alice", snapshot_id="snap-research")


def test_an_existing_model_id_is_never_rewritten_by_someone_else(team, tiny_home, tmp_path):
    db = team
    before = alices_dapt(db, tiny_home, tmp_path)
    other = clone(tiny_home[1], tmp_path / "bobs")
    with pytest.raises(ModelError, match="a model with id 'alice-dapt' already exists \\(owner: alice\\)"):
        register_model(db, other, model_id="alice-dapt", owner="bob")
    with pytest.raises(PermissionDenied, match="it belongs to alice"):
        register_model(db, other, model_id="alice-dapt", owner="bob", replace=True, actor="bob")
    with pytest.raises(ModelError, match="already exists \\(owner: alice\\)"):       # models tiny --name
        importing.make_tiny_model(tmp_path / "home", name="alice-dapt", tokenizer_from=None, db=db, owner="bob")
    row = get_model(db, "alice-dapt")
    assert (row["owner"], row["kind"], row["commercial_use"], row["snapshot_id"], row["path"]) == \
        ("alice", "dapt", 0, "snap-research", before["path"])
    assert not (tmp_path / "home" / "models" / "alice-dapt").exists()
    assert refusals(db, "bob")[0]["detail"]["attempted"] == "replace"

    mine = register_model(db, other, model_id="alice-dapt", owner="alice", replace=True, actor="alice")
    assert mine["path"] == str(other.resolve())
    assert users.list_audit(db, action="model_replace")[0]["actor"] == "alice"


def test_a_hub_download_under_a_taken_id_is_refused_before_any_download(team, tiny_home, tmp_path):
    from backend.models import hub

    alices_dapt(team, tiny_home, tmp_path)
    with pytest.raises(ModelError, match="'alice-dapt' already exists \\(owner: alice\\)"):
        hub.download_from_hub(team, tmp_path, "someone/model", name="alice-dapt", owner="bob")


def test_importing_a_server_folder_is_for_admins_under_the_import_roots(team, tiny_home, tmp_path):
    db = team
    root = tmp_path / "imports"
    inside = clone(tiny_home[1], root / "shared-model")
    secret = tmp_path / "private" / "model"
    clone(tiny_home[1], secret)
    home = tmp_path / "home"
    with pytest.raises(PermissionDenied, match="only an admin can register a folder of the server"):
        importing.import_local(db, home, inside, actor="bob", roots=[str(root)])
    missing, existing = tmp_path / "private" / "nothing-here", secret
    messages = []
    for path in (missing, existing):           # the same words whether the folder exists or not
        with pytest.raises(ModelError) as info:
            importing.import_local(db, home, path, actor="root", roots=[str(root)])
        messages.append(str(info.value).replace(str(path), "PATH"))
    assert messages[0] == messages[1] and "is not under an import root" in messages[0]
    with pytest.raises(ModelError, match="importing a folder of the server is off"):
        importing.import_local(db, home, inside, actor="root", roots=[])
    escape = root / "escape"
    escape.symlink_to(secret, target_is_directory=True)
    with pytest.raises(ModelError, match="is not under an import root"):   # a link out of the root is out of it
        importing.import_local(db, home, escape, actor="root", roots=[str(root)])

    row = importing.import_local(db, home, inside, actor="root", roots=[str(root)], copy=True)
    assert row["owner"] == "root" and users.list_audit(db, action="model_import")[0]["actor"] == "root"
    assert [r["detail"]["attempted"] for r in refusals(db, "bob")] == ["register a folder of the server as a model"]


def test_a_copy_never_follows_a_link_out_of_the_source_folder(db, tiny_home, tmp_path):
    source = clone(tiny_home[1], tmp_path / "src")
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    (source / "notes.txt").symlink_to(tmp_path / "passwd")
    with pytest.raises(ModelError, match="the folder holds a link out of it \\(notes.txt\\): not copied"):
        importing.import_local(db, tmp_path / "home", source, copy=True)
    assert find_model(db, "src") is None and not (tmp_path / "home" / "models" / "src").exists()


def test_only_the_owner_or_an_admin_publishes_with_their_own_token(team, tiny_home, tmp_path, monkeypatch):
    import huggingface_hub

    db = team
    alices_dapt(db, tiny_home, tmp_path)
    pushed = []
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_TOKEN", "hf_SERVERtokenSERVERtoken12345")   # the operator's, never lent by default
    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", lambda self, repo_id, **kw: pushed.append(
        (repo_id, kw["private"], self.token)) or f"https://huggingface.co/{repo_id}")
    monkeypatch.setattr(huggingface_hub.HfApi, "create_commit", lambda self, repo_id, operations, **kw:
                        SimpleNamespace(oid="c" * 40))
    with pytest.raises(PermissionDenied, match="it belongs to alice"):
        publish.publish_model(db, "alice-dapt", "bob/stolen", token=FAKE_TOKEN, actor="bob", server_token=False)
    with pytest.raises(ModelError, match="give your own Hugging Face token"):
        publish.publish_model(db, "alice-dapt", "alice/dapt", actor="alice", server_token=False)
    assert pushed == []
    publish.publish_model(db, "alice-dapt", "alice/dapt", token=FAKE_TOKEN, actor="alice", server_token=False)
    assert pushed == [("alice/dapt", True, FAKE_TOKEN)]                 # private by default, her token
    row = users.list_audit(db, action="publish")[0]
    assert (row["actor"], row["target"], row["detail"]["repo_id"], row["detail"]["private"]) == \
        ("alice", "alice-dapt", "alice/dapt", True)
    assert [r["detail"]["attempted"] for r in refusals(db, "bob")] == ["publish to 'bob/stolen'"]


def jsonl(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), "utf-8")
    return path


def test_an_uploaded_source_name_is_never_taken_over(team, tmp_path):
    db, uploads = team, tmp_path / "uploads"
    first = jsonl(tmp_path / "a.jsonl", ["Patient de 54 ans, fièvre et toux depuis trois jours."] * 3)
    rows = catalogue.import_upload(db, uploads, first, "notes", "CC-BY-NC-4.0", False, "clinical", owner="alice")
    assert rows[0]["owner"] == "alice"
    other = jsonl(tmp_path / "b.jsonl", ["Texte remplacé."])
    for owner, replace, message in (("bob", False, "a source named 'notes' already exists \\(owner: alice\\)"),
                                    ("bob", True, "it belongs to alice")):
        with pytest.raises((CorpusInputError, PermissionDenied), match=message):
            catalogue.import_upload(db, uploads, other, "notes", "CC-BY-4.0", True, "x", owner=owner, replace=replace)
    txt = tmp_path / "notes.txt"                              # the same name with another suffix: no 'notes/notes'
    txt.write_text("Un autre texte.\n\nEt un second.", "utf-8")
    with pytest.raises(CorpusInputError, match="already exists"):
        catalogue.import_upload(db, uploads, txt, "notes", "CC-BY-4.0", True, "x", owner="alice")
    row = catalogue.get_source(db, "notes")
    assert (row["owner"], row["license"], row["commercial_use"], row["n_docs"]) == ("alice", "CC-BY-NC-4.0", 0, 3)
    assert sorted(p.name for p in (uploads / "notes").iterdir()) == ["notes.jsonl"]

    catalogue.import_upload(db, uploads, txt, "notes", "CC-BY-4.0", True, "x", owner="alice", replace=True)
    assert [r["name"] for r in catalogue.list_sources(db)] == ["notes"]
    assert sorted(p.name for p in (uploads / "notes").iterdir()) == ["notes.txt"]
    assert [r["action"] for r in users.list_audit(db, target="notes")] == ["source_replace", "refused", "source_add"]
    assert not [p for p in uploads.iterdir() if p.name.startswith(".")]


def test_ten_parallel_uploads_of_one_name_one_wins_the_others_say_so(db, tmp_path):
    uploads, results, barrier = tmp_path / "uploads", {}, threading.Barrier(10)
    files = [jsonl(tmp_path / f"f{i}.jsonl", [f"Document numéro {i} du lot parallèle."] * (i + 1)) for i in range(10)]

    def add(i: int) -> None:
        conn = registry.connect(db.conn.execute("PRAGMA database_list").fetchone()[2])
        barrier.wait()
        try:
            results[i] = catalogue.import_upload(conn, uploads, files[i], "lot", "CC-BY-4.0", True, "x",
                                                 owner=f"user{i}")[0]
        except CorpusInputError as exc:
            results[i] = str(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    won = [i for i, r in results.items() if isinstance(r, dict)]
    assert len(won) == 1, results
    assert all("'lot'" in r and ("already exists" in r or "just added by someone else" in r)
               for i, r in results.items() if i != won[0])
    row = catalogue.get_source(db, "lot")
    assert row["owner"] == f"user{won[0]}" and row["n_docs"] == won[0] + 1   # the winner's content, intact
    assert [p.name for p in uploads.iterdir()] == ["lot"] and os.listdir(uploads / "lot") == ["lot.jsonl"]
