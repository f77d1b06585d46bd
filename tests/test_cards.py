"""Cards as the Hugging Face Hub reads them, checked offline through huggingface_hub's own card classes: licence
identifiers from the Hub's list (`other` with a name and link otherwise), `base_model` as Hub ids only where a
parent comes from the Hub, `base_model_relation`, and a published model's evaluations as `model-index` entries that
huggingface_hub parses back to the registry's scores (a real evaluation of a tiny model)."""
from __future__ import annotations

import inspect
from types import SimpleNamespace

from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.repocard_data import model_index_to_eval_results

from backend.default_model import BASE_MODEL
from backend.hub_licences import HUB_LICENCES, card_fields, identifiers
from backend.models.cards import model_card

# the fields huggingface_hub's ModelCardData declares, and the Hub card spec's `base_model_relation`, which it keeps
# as an extra key (https://huggingface.co/docs/hub/model-cards#specifying-a-base-model)
FIELDS = set(inspect.signature(ModelCardData.__init__).parameters) | {"model-index", "base_model_relation"}
DEFAULT = {"id": "smollm2-135m-instruct", "origin": "default"}
DAPT = {"id": "smollm2-dapt", "origin": "job:job-000003"}


def card(**fields) -> ModelCard:
    return ModelCard(model_card(title="m", **fields))


def test_the_sources_licences_map_to_hub_identifiers():
    assert identifiers("CC BY-SA 3.0 / GFDL") == [("cc-by-sa-3.0", None, None), ("gfdl", None, None)]
    assert identifiers("CC BY-NC-SA 3.0 / CC BY-NC-ND 4.0") == [("cc-by-nc-sa-3.0", None, None),
                                                                 ("cc-by-nc-nd-4.0", None, None)]
    assert identifiers("Licence Ouverte / Etalab")[0][:2] == ("other", "licence-ouverte-etalab")
    assert identifiers("CC BY-ND 3.0") == [("other", "cc-by-nd-3.0", None)]      # a CC licence the Hub does not list
    fields = card_fields(["CC BY 4.0", "Licence Ouverte / Etalab", "GFDL"])
    assert fields["license"] == ["cc-by-4.0", "other", "gfdl"] and set(fields["license"]) <= HUB_LICENCES
    assert fields["license_link"] == "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
    assert card_fields(["apache-2.0 AND cc-by-4.0"], single=True) == {"license": "other",
                                                                      "license_name": "apache-2.0-and-cc-by-4.0"}


def test_a_dapt_card_names_its_hub_base_and_a_merge_card_its_relation():
    dapt = card(parents=[DEFAULT], relation="finetune", license="apache-2.0", method="dapt")
    assert dapt.data.base_model == BASE_MODEL and dapt.data.base_model_relation == "finetune"
    assert dapt.data.license == "apache-2.0" and dapt.data.language == ["fr"]
    assert dapt.data.pipeline_tag == "text-generation" and set(dapt.data.to_dict()) <= FIELDS
    merged = card(parents=[DEFAULT, DAPT], relation="merge", license="apache-2.0")
    assert merged.data.base_model == BASE_MODEL and merged.data.base_model_relation == "merge"
    assert f"`{DAPT['id']}`" in merged.text and DAPT["id"] not in str(merged.data.to_dict())  # local: body only
    local = card(parents=[DAPT], relation="merge")        # no Hub parent: no base_model, no relation
    assert local.data.base_model is None and local.data.get("base_model_relation") is None
    assert local.data.license == "unknown"


def test_a_published_models_card_carries_its_evaluations_as_model_index(make_home, shared_data, tmp_path,
                                                                         monkeypatch):
    from backend.evaluation.config import EvalConfig
    from backend.evaluation.runner import run_eval
    from backend.models.importing import make_tiny_model
    from backend.models.publish import model_card_for
    from backend.models.registry import get_model
    from backend.studio import Studio
    from frbio_core.settings import load_settings
    from tests.test_eval_runner import small_data

    monkeypatch.delenv("FRBIO_BENCH_DIR", raising=False)
    home = make_home()
    studio = Studio(load_settings(home=str(home), data=[str(small_data(shared_data, tmp_path / "data"))]))
    make_tiny_model(home, name="tiny-card", seed=1, db=studio.db)
    done = run_eval(studio.db, studio.settings, EvalConfig(model="tiny-card", tasks=["sib200_fr"], limit=4))
    acc = done["evals"][0]["metrics"]["acc"]
    published = ModelCard(model_card_for(studio.db, get_model(studio.db, "tiny-card")))
    name, results = model_index_to_eval_results(published.data.to_dict()["model-index"])
    assert name == "tiny-card" and [(r.dataset_type, r.metric_type, r.metric_value) for r in results] == [
        ("frbio_sib200_fr", "acc", acc)]
    assert published.data.license in HUB_LICENCES and set(published.data.to_dict()) <= FIELDS
    assert f"| sib200_fr | acc | {acc:.4f} | 4 |" in published.text

    # publishing the model uploads its own card (written when it was made) with the evaluation added
    import huggingface_hub

    from backend.models import publish

    sent = {}
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", lambda self, repo_id, **kw: f"https://hf.co/{repo_id}")
    monkeypatch.setattr(huggingface_hub.HfApi, "create_commit", lambda self, repo_id, operations, **kw: (
        sent.update({op.path_in_repo: op for op in operations}) or SimpleNamespace(oid="c" * 40)))
    result = publish.publish_model(studio.db, "tiny-card", "me/tiny-card", token="hf_" + "x" * 30)
    uploaded = ModelCard(sent["README.md"].path_or_fileobj.decode())
    assert result["card"] == "updated" and list(sent).count("README.md") == 1
    assert model_index_to_eval_results(uploaded.data.to_dict()["model-index"])[1][0].metric_value == acc
    assert "Tiny random LlamaForCausalLM for tests" in uploaded.text             # the card's own body is kept
