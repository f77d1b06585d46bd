"""Merge methods come from mergekit's registry (backend.merge.methods) and the merge config translates both ways
to mergekit's YAML (backend.merge.config): every registered method is offered or left out with a reason; the
generated forms have one field per mergekit parameter with bounds; BioMistral's per-layer SLERP schedule survives
the round trip; bad parameters are refused naming the field."""
from __future__ import annotations

import pytest

from frbio_core import registry
from backend.merge import methods as m
from backend.merge.config import MergeConfig, from_mergekit, mergekit_config, parse_merge_config
from backend.merge.methods import MergeError
from tests.merge_models import tiny_models


def test_every_registered_method_is_offered_or_left_out_with_a_reason():
    from mergekit import merge_methods

    registered = {method.spec.name for method in merge_methods.registered_methods()}
    offered, left_out = set(m.methods()), m.left_out()
    assert offered | set(left_out) == registered and not offered & set(left_out)
    assert {"slerp", "linear", "task_arithmetic", "ties", "dare_ties", "dare_linear", "della"} <= offered
    assert list(m.methods())[0] == "slerp"                       # the paper's method first
    assert "exactly 1" in left_out["passthrough"] and "3 or more" in left_out["model_stock"]


def test_generated_form_has_one_field_per_mergekit_parameter():
    from mergekit import merge_methods

    for name, info in m.methods().items():
        spec_names = {p.name for p in merge_methods.get(name).spec.parameters}
        fields = set(info.config.model_fields)
        assert spec_names <= fields, name
        for field in fields - spec_names:   # only the studio's own extras: schedules and the base's weight
            assert field.startswith("base_") or field.endswith(("_attention", "_mlp")), (name, field)
    slerp = m.method_info("slerp").config.model_fields["t"]
    assert [getattr(x, "ge", None) for x in slerp.metadata if hasattr(x, "ge")] == [0.0]
    assert m.method_info("ties").config.__name__ == "TiesParameters"
    assert m.method_info("dare_ties").config.model_fields["rescale"].default is True   # mergekit's default


@pytest.mark.parametrize("method, params, message", [
    ("ties", {"density": 0}, "density: Input should be greater than 0"),
    ("dare_ties", {"density": 1.2}, "density: Input should be less than or equal to 1"),
    ("slerp", {"t": -0.1}, "t: Input should be greater than or equal to 0"),
    ("slerp", {"t_attention": "0, 0.5, 2"}, "schedule values of 't' must lie in [0.0, 1.0]"),
    ("slerp", {"weight": 0.5}, "weight: Extra inputs are not permitted"),
])
def test_bad_parameters_are_refused_naming_the_field(method, params, message):
    with pytest.raises(MergeError) as err:
        parse_merge_config({"dapt_model": "d", "method": method, "parameters": params})
    assert message in str(err.value)


def test_unknown_and_left_out_methods_are_refused():
    with pytest.raises(MergeError, match="'tie' is not a mergekit merge method"):
        parse_merge_config({"dapt_model": "d", "method": "tie"})
    with pytest.raises(MergeError, match="passthrough.*not offered here"):
        parse_merge_config({"dapt_model": "d", "method": "passthrough"})
    with pytest.raises(MergeError, match="dapt_model"):
        parse_merge_config({"method": "slerp"})


def test_linear_base_weight_follows_as_complement_and_sweep_point(tmp_path):
    config = mergekit_config("linear", {"weight": 0.3}, tmp_path / "b", tmp_path / "d")
    assert config["models"][0]["parameters"] == {"weight": 0.7}
    assert config["models"][1]["parameters"] == {"weight": 0.3} and "base_model" not in config
    explicit = mergekit_config("linear", {"weight": 0.3, "base_weight": 1.0}, tmp_path / "b", tmp_path / "d")
    assert explicit["models"][0]["parameters"] == {"weight": 1.0}
    point = m.with_main("linear", {"weight": 0.3, "base_weight": 1.0, "weight_mlp": [0, 1]}, 0.8)
    assert point["weight"] == 0.8 and point["base_weight"] is None and point["weight_mlp"] == []
    with pytest.raises(MergeError, match="no interpolation parameter"):
        m.with_main("arcee_fusion", {}, 0.5)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    home = tmp_path_factory.mktemp("merge_methods")
    db = registry.connect(home / "frbio.db")
    tiny_models(home, db)
    return db


BIOMISTRAL = {"merge_method": "slerp", "base_model": "tiny-base",
              "models": [{"model": "tiny-base"}, {"model": "tiny-dapt"}],
              "parameters": {"t": [{"filter": "self_attn", "value": [0, 0.5, 0.3, 0.7, 1]},
                                   {"filter": "mlp", "value": [1, 0.5, 0.7, 0.3, 0]}, {"value": 0.5}]}}


def test_biomistral_slerp_yaml_round_trip(db):
    from backend.models.registry import get_model

    fields = from_mergekit(db, BIOMISTRAL)
    cfg = MergeConfig.model_validate(fields)
    assert cfg.base_model == "tiny-base" and cfg.dapt_model == "tiny-dapt"
    assert cfg.parameters == {"t": 0.5, "t_attention": [0, 0.5, 0.3, 0.7, 1], "t_mlp": [1, 0.5, 0.7, 0.3, 0]}
    out = mergekit_config(cfg.method, cfg.parameters, get_model(db, "tiny-base")["path"],
                          get_model(db, "tiny-dapt")["path"])
    assert out["parameters"]["t"] == BIOMISTRAL["parameters"]["t"]
    assert out["base_model"] == get_model(db, "tiny-base")["path"]       # absolute paths for mergekit


def test_mergekit_yaml_with_paths_and_per_model_parameters(db):
    from backend.models.registry import get_model

    dapt_path = get_model(db, "tiny-dapt")["path"]
    fields = from_mergekit(db, {"merge_method": "ties", "base_model": "tiny-base",
                                "models": [{"model": dapt_path, "parameters": {"weight": 0.7, "density": 0.4}}],
                                "parameters": {"normalize": False}, "random_seed": 3})
    assert fields == {"base_model": "tiny-base", "dapt_model": "tiny-dapt", "method": "ties", "seed": 3,
                      "parameters": {"normalize": False, "weight": 0.7, "density": 0.4}}


@pytest.mark.parametrize("data, message", [
    ({"merge_method": "slerp", "base_model": "tiny-base", "models": []}, "models: the list is empty"),
    ({"merge_method": "slerp", "base_model": "tiny-base", "models": [{"model": "nope"}]},
     "unknown model 'nope'"),
    ({"merge_method": "ties", "models": [{"model": "tiny-base"}, {"model": "tiny-dapt"}]},
     "base_model: TIES needs the base model"),
    ({"merge_method": "linear", "models": [{"model": "tiny-base"}, {"model": "tiny-dapt"},
                                           {"model": "tiny-other"}]}, "a base and one DAPT model; got 2"),
    ({"merge_method": "slerp", "base_model": "tiny-base", "models": [{"model": "tiny-dapt"}],
      "parameters": {"t": [0, 1]}}, "parameters.t: only a number"),
    ({"merge_method": "slerp", "base_model": "tiny-base", "models": [{"model": "tiny-dapt"}], "dtype": "bfloat16"},
     "dtype: not supported"),
    ({"merge_method": "slerp", "base_model": "tiny-base", "models": [{"model": "tiny-dapt"}],
      "parameters": {"density": 0.5}}, "density is not a parameter of SLERP"),
])
def test_mergekit_yaml_the_studio_cannot_represent_is_refused(db, data, message):
    with pytest.raises(MergeError) as err:
        from_mergekit(db, data)
    assert message in str(err.value)
