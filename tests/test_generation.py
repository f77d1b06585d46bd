"""Side-by-side generation on tiny random models: panes stream growing text and end on exactly what each model's
non-streaming `generate` gives; seeds make sampling reproducible; the chat template only for instruct models; Stop
halts every pane; a model that cannot load or a prompt too long fails its own pane only."""
from __future__ import annotations

import threading

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from backend.generation.config import GenerateConfig, GenerationError, parse_generate_config
from backend.generation.decode import generate_kwargs
from backend.generation.models_cache import ModelCache
from backend.generation.prompting import registered_instruct
from backend.generation.stream import end_run, generate_all, new_run, side_by_side, stop_run
from backend.models.importing import make_tiny_model
from backend.models.registry import register_model
from frbio_core.registry import connect

PROMPT = "Le patient présente une fièvre depuis trois jours."


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """Tiny byte-tokenizer Llamas: 'tiny-base' and 'tiny-instruct' (different weights), 'tiny-dapt-instruct'
    (the instruct weights registered as a DAPT model) and 'tiny-merged' (a merge of the instruct model and its DAPT)."""
    home = tmp_path_factory.mktemp("gen_home")
    db = connect(home / "frbio.db")
    make_tiny_model(home, name="tiny-base", seed=1, tokenizer_from=None, db=db)
    inst = make_tiny_model(home, name="tiny-instruct", seed=2, tokenizer_from=None, db=db)
    register_model(db, inst["path"], model_id="tiny-dapt-instruct", kind="dapt", parents=["tiny-instruct"])
    register_model(db, inst["path"], model_id="tiny-merged", kind="merged",  # the paper's merge: instruct + its DAPT
                   parents=["tiny-instruct", "tiny-dapt-instruct"])
    return home


@pytest.fixture
def db(home):
    return connect(home / "frbio.db")


def reference(db, model_id: str, prompt: str, cfg: GenerateConfig, chat: bool) -> str:
    """The model's own non-streaming generate on the same input."""
    from backend.models.registry import get_model

    path = get_model(db, model_id)["path"]
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    if chat:
        text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    else:
        ids = tok(prompt, return_tensors="pt")["input_ids"]
    torch.manual_seed(cfg.seed)
    out = model.generate(ids, attention_mask=torch.ones_like(ids), **generate_kwargs(cfg, cfg.max_new_tokens))
    return tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


@pytest.mark.parametrize("strategy", ["round_robin", "threads"])
def test_panes_stream_growing_text_and_equal_generate(db, strategy):
    cfg = GenerateConfig(max_new_tokens=40, strategy=strategy)
    history: dict[str, list[str]] = {"tiny-base": [], "tiny-instruct": []}
    for panes in side_by_side(db, ModelCache(), ["tiny-base", "tiny-instruct"], PROMPT, cfg):
        for p in panes:
            if not history[p.model] or history[p.model][-1] != p.text:
                history[p.model].append(p.text)
    assert [p.status for p in panes] == ["done", "done"]
    for pane, texts in zip(panes, history.values()):
        assert len(texts) >= 10, f"{pane.model}: the text should grow token by token, saw {len(texts)} versions"
        assert all(b.startswith(a) for a, b in zip(texts, texts[1:])), "each update extends the previous text"
        assert pane.text == reference(db, pane.model, PROMPT, cfg, chat=pane.format == "chat")
        assert pane.new_tokens >= 1 and pane.ttft_s is not None
    assert panes[0].format == "raw" and panes[1].format == "chat"
    assert panes[0].text != panes[1].text


def test_seed_makes_sampling_reproducible(db):
    cfg = parse_generate_config({"max_new_tokens": 30, "seed": 7}, preset="creative")
    first = generate_all(db, ModelCache(), ["tiny-base", "tiny-instruct"], PROMPT, cfg)
    again = generate_all(db, ModelCache(), ["tiny-base", "tiny-instruct"], PROMPT, cfg.model_copy(
        update={"strategy": "threads"}))
    other = generate_all(db, ModelCache(), ["tiny-base", "tiny-instruct"], PROMPT, cfg.model_copy(update={"seed": 8}))
    assert [p.text for p in first] == [p.text for p in again]
    assert [p.text for p in first] != [p.text for p in other]
    # each pane draws from its own generator seeded like `torch.manual_seed(seed)` before `generate`
    assert first[0].text == reference(db, "tiny-base", PROMPT, cfg, chat=False)


def test_same_model_twice_gets_the_same_seed(db):
    cfg = parse_generate_config({"max_new_tokens": 20, "seed": 3}, preset="balanced")
    a, b = generate_all(db, ModelCache(), ["tiny-base", "tiny-base"], PROMPT, cfg)
    assert a.text == b.text and a.status == b.status == "done"


def test_chat_template_only_for_instruct_models(db):
    from backend.models.registry import get_model

    assert registered_instruct(db, get_model(db, "tiny-instruct"))
    assert not registered_instruct(db, get_model(db, "tiny-base"))
    assert not registered_instruct(db, get_model(db, "tiny-dapt-instruct"))  # DAPT → raw completion
    assert registered_instruct(db, get_model(db, "tiny-merged"))  # merged with an instruct ancestor

    ids = ["tiny-base", "tiny-instruct", "tiny-dapt-instruct", "tiny-merged"]
    cfg = GenerateConfig(max_new_tokens=3)
    auto = generate_all(db, ModelCache(), ids, PROMPT, cfg)
    assert [p.format for p in auto] == ["raw", "chat", "raw", "chat"]
    n_raw = auto[0].prompt_tokens
    assert auto[1].prompt_tokens > n_raw + 5  # the template's role markers around the same prompt
    assert auto[2].prompt_tokens == n_raw
    forced = generate_all(db, ModelCache(), ids, PROMPT, cfg.model_copy(update={"prompt_format": "raw"}))
    assert {p.format for p in forced} == {"raw"}
    chat = generate_all(db, ModelCache(), ids, PROMPT, cfg.model_copy(update={"prompt_format": "chat"}))
    assert {p.format for p in chat} == {"chat"}


@pytest.mark.parametrize("strategy", ["round_robin", "threads"])
def test_stop_halts_every_pane(db, strategy):
    run_id, stop = new_run()
    cfg = GenerateConfig(max_new_tokens=400, strategy=strategy)
    for panes in side_by_side(db, ModelCache(), ["tiny-base", "tiny-instruct"], PROMPT, cfg, stop):
        if all(p.new_tokens >= 5 for p in panes):
            assert stop_run(run_id)
    assert [p.status for p in panes] == ["stopped", "stopped"]  # neither reached its end (EOS or 400 tokens)
    assert all(p.finish_reason == "stopped" and 0 < p.new_tokens < 400 and p.text for p in panes)
    end_run(run_id)
    assert not stop_run(run_id)


def test_closing_the_stream_releases_models(db):
    cache = ModelCache()
    stream = side_by_side(db, cache, ["tiny-base"], PROMPT, GenerateConfig(max_new_tokens=500, strategy="threads"))
    for panes in stream:
        if panes[0].new_tokens > 3:
            break
    stream.close()  # what the UI does when its Stop cancels the event
    assert threading.active_count() < 10
    assert [m["in_use"] for m in cache.loaded()] == [False]


def test_a_model_that_cannot_load_fails_only_its_pane(db, home, tmp_path):
    broken = make_tiny_model(home, name="tiny-broken", seed=5, tokenizer_from=None, db=db)
    from pathlib import Path

    (Path(broken["path"]) / "model.safetensors").write_bytes(b"not a safetensors file")
    panes = generate_all(db, ModelCache(), ["tiny-base", "no-such-model", "tiny-broken"], PROMPT,
                         GenerateConfig(max_new_tokens=5))
    assert [p.status for p in panes] == ["done", "error", "error"]
    assert "unknown model 'no-such-model'" in panes[1].error
    assert panes[2].error.startswith("cannot load model 'tiny-broken'")
    assert panes[0].new_tokens == 5


def test_prompt_longer_than_the_context(db):
    long_prompt = "La douleur thoracique " * 40  # 880 bytes: tiny models have a 512-token context
    [pane] = generate_all(db, ModelCache(), ["tiny-base"], long_prompt, GenerateConfig(max_new_tokens=5))
    assert pane.status == "error" and "longer than this model's context of 512 tokens" in pane.error
    [cut] = generate_all(db, ModelCache(), ["tiny-base"], "x" * 500, GenerateConfig(max_new_tokens=50))
    assert cut.status == "done" and cut.new_tokens <= 12 and "answer limited to" in cut.note


def test_bad_requests_are_refused_clearly(db):
    with pytest.raises(GenerationError, match="at most 4 models"):
        list(side_by_side(db, ModelCache(), ["a", "b", "c", "d", "e"], PROMPT, GenerateConfig()))
    with pytest.raises(GenerationError, match="prompt is empty"):
        list(side_by_side(db, ModelCache(), ["tiny-base"], "  ", GenerateConfig()))
    with pytest.raises(GenerationError, match="temperature"):
        parse_generate_config({"temperature": -1})
    with pytest.raises(GenerationError, match="unknown preset"):
        parse_generate_config({}, preset="wild")
    assert parse_generate_config({"temperature": 1.3}, preset="fair").do_sample is False
