"""The cache of loaded models (least recently used unloaded beyond the memory budget, models in use never), the
French prompt presets and the `generate` command line."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backend.generation.config import GenerateConfig, GenerationError
from backend.generation.models_cache import MB, ModelCache
from backend.generation.presets import load_prompts
from backend.generation.stream import generate_all
from backend.models.importing import make_tiny_model
from frbio_core.registry import connect
from tests.data_helpers import home_with_tiny_models

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cache_home")
    db = home_with_tiny_models(home, ["tiny-a", "tiny-b", "tiny-c"])
    make_tiny_model(home, name="tiny-big", seed=9, hidden=256, intermediate=512, layers=4, tokenizer_from=None, db=db)
    return home


@pytest.fixture
def db(home):
    return connect(home / "frbio.db")


def tiny_mb(db) -> float:
    cache = ModelCache(budget_mb=1024)
    with cache.use(db, "tiny-a") as entry:
        return entry.bytes / MB


def test_least_recently_used_model_is_unloaded_over_budget(db):
    one = tiny_mb(db)
    cache = ModelCache(budget_mb=1)
    cache.budget = int(2.5 * one * MB)  # room for two tiny models, not three
    for model in ("tiny-a", "tiny-b", "tiny-a", "tiny-c"):  # a used again after b: b is the least recent
        with cache.use(db, model):
            pass
    assert [m["model"] for m in cache.loaded()] == ["tiny-c", "tiny-a"]
    assert cache.evicted == ["tiny-b"]
    assert cache.used <= cache.budget
    with cache.use(db, "tiny-a") as entry:  # still loaded: the same objects, no reload
        assert entry.model is cache._models[next(k for k in cache._models if k[0] == "tiny-a")].model
    assert cache.evicted == ["tiny-b"]


def test_models_in_use_are_never_unloaded(db):
    one = tiny_mb(db)
    cache = ModelCache(budget_mb=1)
    cache.budget = int(1.5 * one * MB)  # one tiny model at a time
    with cache.use(db, "tiny-a"):
        with pytest.raises(GenerationError, match="memory budget too small for these models at once"):
            cache.acquire(db, "tiny-b")
        assert [m["model"] for m in cache.loaded()] == ["tiny-a"]
    with cache.use(db, "tiny-b"):  # a is free now: unloaded to make room
        pass
    assert [m["model"] for m in cache.loaded()] == ["tiny-b"] and cache.evicted == ["tiny-a"]


def test_model_larger_than_the_budget_is_refused_in_its_pane(db):
    cfg = GenerateConfig(max_new_tokens=4)  # tiny-a: ~0.3 MB of float32 weights; tiny-big: ~9 MB
    panes = generate_all(db, ModelCache(budget_mb=1), ["tiny-a", "tiny-big"], "Bonjour", cfg)
    assert [p.status for p in panes] == ["done", "error"]
    assert re.search(r"'tiny-big' needs about \d+ MB, more than the memory budget for loaded models \(1 MB\): the "
                     r"operator can raise it \(--generate-memory-mb\)",
                     panes[1].error)
    panes = generate_all(db, ModelCache(budget_mb=64), ["tiny-a", "tiny-big"], "Bonjour", cfg)
    assert [p.status for p in panes] == ["done", "done"]


def test_lowering_the_budget_unloads_free_models(db):
    cache = ModelCache(budget_mb=64)
    for model in ("tiny-a", "tiny-b", "tiny-c"):
        with cache.use(db, model):
            pass
    assert len(cache.loaded()) == 3
    cache.budget = 1  # set_budget takes MB; a budget below any model keeps none
    cache._make_room(0)
    assert cache.loaded() == [] and cache.evicted == ["tiny-a", "tiny-b", "tiny-c"]


def test_french_clinical_prompt_presets():
    prompts = load_prompts()
    assert 10 <= len(prompts) <= 15
    assert len({p["id"] for p in prompts}) == len(prompts)
    assert {p["style"] for p in prompts} == {"question", "completion"}
    text = " ".join(p["title"] + " " + p["text"] for p in prompts)
    for word in ("patient", "diagnostic", "traitement", "interaction", "é"):
        assert word in text.lower()


def run_cli(*args, home):
    env = {**os.environ, "FRBIO_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_generate_json(home):
    out = run_cli("generate", "--models", "tiny-a,tiny-b", "--prompt", "Le patient", "--max-new-tokens", "6",
                  "--json", home=home)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert [p["model"] for p in result["panes"]] == ["tiny-a", "tiny-b"]
    assert all(p["status"] == "done" and p["new_tokens"] == 6 and p["text"] for p in result["panes"])
    assert result["settings"]["do_sample"] is False

    bad = run_cli("generate", "--models", "tiny-a,nope", "--prompt", "Le patient", "--max-new-tokens", "3", "--json",
                  home=home)
    assert bad.returncode == 2 and "error: nope: unknown model 'nope'" in bad.stderr
    assert json.loads(bad.stdout)["panes"][0]["status"] == "done"
    worse = run_cli("generate", "--models", "nope", "--prompt", "x", "--json", home=home)
    assert worse.returncode == 2 and "unknown model 'nope'" in json.loads(worse.stdout)["error"]
    wrong = run_cli("generate", "--models", "tiny-a", "--prompt", "x", "--temperature", "9", home=home)
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: Invalid generation settings: temperature")


def test_the_memory_budget_and_threads_are_the_operators_not_a_request_field(tmp_path):
    """Row 8 of issue 13: a request cannot change the budget shared by everyone, nor the threads."""
    from backend.generation.config import parse_generate_config
    from backend.generation.models_cache import shared_cache
    from frbio_core.settings import Settings

    settings = Settings(home=str(tmp_path), generate_memory_mb=2048, generate_threads=2)
    cache = shared_cache(settings)
    cfg = parse_generate_config({"memory_budget_mb": 10 ** 12, "num_threads": 256, "max_new_tokens": 4})
    assert cfg.max_new_tokens == 4 and "memory_budget_mb" not in cfg.model_dump() and "num_threads" not in \
        cfg.model_dump()                                   # not a field of a request: nothing a form could send
    assert shared_cache(settings) is cache and (cache.budget, cache.threads) == (2048 * MB, 2)
