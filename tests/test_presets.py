"""Saved presets (backend/presets.py): saved from a run, run again from the command line with `--preset` (the config
file and the flags over its fields), compared with the run they came from; one person's presets are theirs."""
import json

import pytest

from backend.corpus.job import BUILD
from backend.presets import PresetError, compare_with_run, delete, get, list_presets, runs_for, save
from backend.studio import Studio
from frbio_core import users
from frbio_core.settings import Settings
from frbio_core.users import PermissionDenied
from jobs import store
from test_cli import data  # noqa: F401  (the real-data folder fixture)


def cli(capsys, home, data, *args) -> tuple[int, str, str]:
    """`python -m backend ARGS` in this process (its jobs still run in worker processes)."""
    from backend.__main__ import main

    capsys.readouterr()
    try:
        code = main(["--home", str(home), f"--data={data}", *args])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_preset_saved_from_a_run_runs_again_from_the_cli_and_says_what_it_changes(make_home, data, capsys):
    home = make_home()
    code, first, err = cli(capsys, home, data, "corpus", "build", "--name", "demo", "--seed", "3", "--sources",
                           "mantra_gsc", "--as", "alice", "--json")
    assert code == 0, err
    db = Studio(Settings(home=str(home), data=[str(data)])).db
    run = store.list_jobs(db, kind="corpus_build")[0]
    code, saved, _ = cli(capsys, home, data, "presets", "save", "mix", "--action", "corpus-build", "--from-job",
                         run["id"], "--as", "alice")
    assert code == 0 and f"saved corpus-build preset 'mix' (from {run['id']})" in saved

    # the preset's fields, a flag over them; the run's settings otherwise
    code, again, err = cli(capsys, home, data, "corpus", "build", "--preset", "mix", "--as", "alice", "--seed", "4",
                           "--json")
    assert code == 0, err
    second = store.list_jobs(db, kind="corpus_build")[0]
    assert second["id"] != run["id"] and second["config"]["name"] == "demo" and second["config"]["seed"] == 4
    assert second["config"] == {**run["config"], "seed": 4}
    assert json.loads(again)["snapshot_id"] != json.loads(first)["snapshot_id"]

    # compared with the run it came from: nothing changed; a form with another seed: that field only
    code, shown, _ = cli(capsys, home, data, "presets", "show", "mix", "--action", "corpus-build", "--compare",
                         "--json")
    assert code == 0 and json.loads(shown)["changed_from_run"] == []
    preset = get(db, "corpus-build", "mix", "alice")
    _, changed = compare_with_run(db, BUILD, preset, {**preset["config"], "seed": 9})
    assert changed == [{"field": "seed", "value": 9, "other": 3}]

    # one clear line, nothing written: an unknown preset, a name taken, a job of another action, a bad name
    for args, line in [
            (("corpus", "build", "--preset", "nope", "--as", "alice"), "no corpus snapshot preset named 'nope'"),
            (("presets", "save", "mix", "--action", "corpus-build", "--from-job", run["id"], "--as", "alice"),
             "you already have a corpus snapshot preset named 'mix'"),
            (("presets", "save", "x", "--action", "train", "--from-job", run["id"]), "is a corpus_build job, not"),
            (("presets", "save", "bad/name", "--action", "corpus-build", "--from-job", run["id"]), "is not a name")]:
        code, _, err = cli(capsys, home, data, *args)
        assert code == 2 and line in err and len(err.strip().splitlines()) == 1, err
    assert len(store.list_jobs(db, kind="corpus_build")) == 2 and len(list_presets(db)) == 1

    # the runs a form may start from: on a single-user install every run (the command line's too), else one's own
    runs = [r["id"] for r in store.list_jobs(db, kind="corpus_build")]
    assert runs_for(db, BUILD, "local") == runs and runs_for(db, BUILD, "bob") == []
    users.add_user(db, "alice", "a long enough password")
    assert runs_for(db, BUILD, "local") == [] and runs_for(db, BUILD, "alice") == runs


def test_presets_are_their_owners_and_every_change_is_audited(make_home, small_data):
    studio = Studio(Settings(home=str(make_home()), data=[str(small_data)]))
    db = studio.db
    for name, admin in (("alice", False), ("bob", False), ("root", True)):
        users.add_user(db, name, "a long enough password", admin=admin)
    save(db, "alice", BUILD, "mine", {"name": "a"})
    save(db, "bob", BUILD, "mine", {"name": "b"})
    assert get(db, "corpus-build", "mine", "alice")["config"]["name"] == "a"
    with pytest.raises(PresetError, match="say whose, e.g. alice/mine, bob/mine|say whose, e.g. bob/mine, alice/mine"):
        get(db, "corpus-build", "mine")
    assert get(db, "corpus-build", "bob/mine")["config"]["name"] == "b"
    with pytest.raises(PermissionDenied):
        delete(db, "bob", "corpus-build", "alice/mine")
    with pytest.raises(PermissionDenied):
        save(db, "nobody", BUILD, "x", {"name": "x"})
    delete(db, "root", "corpus-build", "alice/mine")
    assert [p["owner"] for p in list_presets(db, action="corpus-build")] == ["bob"]
    with pytest.raises(PresetError, match="replace it"):
        save(db, "bob", BUILD, "mine", {"name": "c"})
    save(db, "bob", BUILD, "mine", {"name": "c"}, replace=True)
    assert get(db, "corpus-build", "mine", "bob")["config"]["name"] == "c"
    actions = [(r["actor"], r["action"]) for r in users.list_audit(db, limit=50)]
    assert ("bob", "refused") in actions and ("root", "preset_delete") in actions
    assert actions.count(("bob", "preset_save")) == 2
