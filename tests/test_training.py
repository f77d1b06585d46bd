"""DAPT training (backend.training) with a tiny random Llama (SmolLM2's tokenizer) on a real snapshot built from two
small real sources plus French and English general-domain validation text: loss decreases; exact resume; the last
K checkpoints, written atomically; LoRA; the saved model's folder, card and lineage; invalid configs refused; the
estimate; packing; the CLI. Runs call the job kind's runner in-process (test_training_resume.py goes through the
real scheduler and worker processes)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from backend.studio import Studio
from frbio_core.errors import UserError
from frbio_core.settings import Settings
from jobs import store
from jobs.kinds import get_kind
from tests.data_helpers import home_with_catalogue, reporter, run_in_process

SOURCES = ["mantra_gsc", "pxcorpus"]
GENERAL = ["UD_French-Sequoia.dev", "UD_English-EWT.dev"]
TINY = {"base_model": "tiny", "learning_rate": 3e-3, "micro_batch_size": 4, "block_size": 128, "eval_batches": 2,
        "eval_every": 10, "save_every": 10, "max_steps": 30}


def build_env(root: Path, shared: Path, default_home: Path) -> dict:
    """A data folder (two small domain sources, French and English general text), a home holding the default model
    (symlinked) and a tiny random model, the catalogue scanned and a snapshot built."""
    from backend.corpus import snapshot
    from backend.corpus.recipe import Recipe
    from backend.default_model import DEFAULT_MODEL_NAME
    from backend.models.importing import make_tiny_model

    home, db = home_with_catalogue(shared, root, default_home, SOURCES, GENERAL)
    snap = snapshot.build_snapshot(db, home, Recipe(name="tiny-train", sources=SOURCES))
    make_tiny_model(home, "tiny", seed=0, tokenizer_from=home / "models" / DEFAULT_MODEL_NAME, db=db)
    settings = Settings(home=str(home), data=[str(root / "data")])
    studio = Studio(settings)

    def submit(cfg: dict) -> str:
        """A train job, checked as the app and the CLI check it (the kind's pre-launch check)."""
        return store.submit(db, home, "train", cfg, context=studio)

    return {"db": db, "home": home, "snapshot": snap["snapshot_id"], "settings": settings, "summary": snap,
            "studio": studio, "submit": submit}


@pytest.fixture(scope="module")
def env(shared_data, tmp_path_factory, default_model_home):
    return build_env(tmp_path_factory.mktemp("training"), shared_data, default_model_home)


def config(env, **overrides) -> dict:
    return {**TINY, "snapshot": env["snapshot"], **overrides}


def context(env, job_id: str, stop_after: int | None = None):
    """The worker's Reporter for a job, in this process; `stop_after`: ask it to stop once that step is recorded."""
    return reporter(env["db"], env["home"], store.get(env["db"], job_id), stop_after)


def run(env, cfg: dict, stop_after: int | None = None, job_id: str | None = None) -> tuple[str, dict]:
    job_id = job_id or env["submit"](cfg)
    return job_id, run_in_process(env["settings"], env["db"], job_id, stop_after)


def metrics(env, job_id: str) -> list[dict]:
    return store.read_metrics(store.job_dir(env["home"], job_id))


def losses(env, job_id: str) -> list[tuple[int, float]]:
    return [(m["step"], m["loss"]) for m in metrics(env, job_id) if "loss" in m]


# ------------------------------------------------------------------------------------------- full runs


def test_full_run_loss_decreases_and_the_model_is_saved_with_card_and_lineage(env):
    from backend.models.registry import get_model, lineage

    job_id, result = run(env, config(env))
    records = metrics(env, job_id)
    steps = losses(env, job_id)
    assert [s for s, _ in steps] == list(range(1, 31))
    first, last = np.mean([l for _, l in steps[:5]]), np.mean([l for _, l in steps[-5:]])
    assert last < first - 0.5, (first, last)
    data = next(m for m in records if m.get("stage") == "data")
    assert data["padding_fraction"] == 0.0 and data["padding_tokens"] == 0 and data["blocks"] > 400
    train = [m for m in records if "loss" in m]
    assert all({"lr", "tokens_per_s", "tokens_seen", "grad_norm"} <= set(m) for m in train)
    assert train[0]["lr"] == pytest.approx(3e-3) and train[-1]["lr"] < 1e-4          # cosine, no warm-up
    assert train[-1]["tokens_seen"] == 30 * 4 * 128
    evals = [m for m in records if "domain_ppl" in m]
    assert [m["step"] for m in evals] == [0, 10, 20, 30]
    assert all({"general_ppl", "general_ppl_en"} <= set(m) for m in evals)        # French and English apart
    assert evals[-1]["domain_ppl"] < evals[0]["domain_ppl"] / 2

    assert result["model_id"] == f"tiny-dapt-{job_id}" and result["steps"] == 30
    assert result["padding_fraction"] == 0.0 and result["domain_ppl"] == evals[-1]["domain_ppl"]
    row = get_model(env["db"], result["model_id"])
    assert row["kind"] == "dapt" and row["parents"] == ["tiny"] and row["snapshot_id"] == env["snapshot"]
    assert row["job_id"] == job_id and row["origin"] == f"job:{job_id}" and row["commercial_use"] == 1
    assert [r["id"] for r in lineage(env["db"], row["id"])] == [row["id"], "tiny"]
    folder = Path(row["path"])
    assert folder.parent == env["home"] / "models" and (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file() and not list(folder.parent.glob(".*tmp*"))
    card = (folder / "README.md").read_text()
    # `tiny` was made here, not downloaded: named in the body, not as the Hub's `base_model`
    assert "Base model: `tiny`" in card and "base_model:" not in card
    assert env["snapshot"] in card and "Commercial use allowed" in card
    assert "| learning_rate | 0.003 |" in card and "| domain_ppl |" in card and "initial_domain_ppl" in card
    # the saved folder is a plain model that loads and scores as the run's final evaluation did
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.use_cache is True
    assert [p.name for p in sorted((store.job_dir(env["home"], job_id) / "checkpoints").iterdir())] == \
        ["step-00000020", "step-00000030"]                                               # keep_last 2
    # the token cache sits in the snapshot folder and is reused by the next run
    assert data["cache_hit"] in (True, False) and Path(data["token_cache"]).is_dir()


def test_exact_resume_after_a_stop_gives_the_losses_of_an_uninterrupted_run(env):
    cfg = config(env, precision="fp32", max_steps=9, save_every=4, eval_every=3, micro_batch_size=2, grad_accum=2,
                 block_size=64, keep_last=3, eval_batches=1)
    straight, _ = run(env, cfg)
    stopped, partial = run(env, cfg, stop_after=6)
    assert partial["stopped_at_step"] == 6 and partial["checkpoint_step"] == 4
    folder = store.job_dir(env["home"], stopped)
    assert [p.name for p in sorted((folder / "checkpoints").iterdir())] == ["step-00000004"]
    assert not list(env["db"]["models"].rows_where("job_id = ?", [stopped]))          # no model before the end
    _, resumed = run(env, cfg, job_id=stopped)
    assert resumed["resumed_from"] == 4 and resumed["steps"] == 9
    assert losses(env, stopped) == losses(env, straight)                                # bitwise, steps 1..9 once
    ppl = lambda job: [(m["step"], m["domain_ppl"]) for m in metrics(env, job) if "domain_ppl" in m]  # noqa: E731
    assert ppl(stopped) == ppl(straight)
    assert any(m.get("event") == "resumed" and m["from_step"] == 4 for m in metrics(env, stopped))
    assert [p.name for p in sorted((folder / "checkpoints").iterdir())] == \
        ["step-00000004", "step-00000008", "step-00000009"]


def test_lora_trains_only_the_adapters_and_saves_a_merged_model_with_the_adapter(env):
    import torch
    from safetensors.torch import load_file

    from backend.models.registry import get_model

    job_id, result = run(env, config(env, method="lora", learning_rate=1e-2, max_steps=8, save_every=4,
                                      eval_every=0, lora_r=4, lora_alpha=8, output_name="tiny-lora-test"))
    assert result["model_id"] == "tiny-lora-test"
    ckpt = load_file(store.job_dir(env["home"], job_id) / "checkpoints" / "step-00000008" / "weights.safetensors")
    assert ckpt and all("lora_" in name for name in ckpt)                    # only adapters are trained/saved
    folder = Path(get_model(env["db"], "tiny-lora-test")["path"])
    assert (folder / "adapter" / "adapter_config.json").is_file()
    assert (folder / "adapter" / "adapter_model.safetensors").is_file()
    merged = load_file(folder / "model.safetensors")
    base = load_file(env["home"] / "models" / "tiny" / "model.safetensors")
    assert not any("lora" in k for k in merged) and set(merged) == set(base)
    changed = [k for k in base if not torch.equal(base[k], merged[k])]
    assert changed and all("proj" in k for k in changed)                      # only adapted projections moved
    evals = [m for m in metrics(env, job_id) if "domain_ppl" in m]
    assert [m["step"] for m in evals] == [0, 8] and evals[1]["domain_ppl"] < evals[0]["domain_ppl"]


# ------------------------------------------------------------------------------------------- checkpoints


def test_checkpoints_are_atomic_and_a_failed_write_leaves_the_previous_ones(tmp_path, monkeypatch):
    import torch

    from backend.training import checkpoint as ckpt

    weights = {"w": torch.arange(6.0).reshape(2, 3)}
    for step in (1, 2, 3):
        ckpt.save_checkpoint(tmp_path, step, weights, {"state": {}, "param_groups": []}, {"last_epoch": step},
                             {"tokens_seen": step}, keep_last=2)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [2, 3]

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        ckpt.save_checkpoint(tmp_path, 4, weights, {}, {}, {}, keep_last=2, write_weights=full_disk)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [2, 3] and not list(tmp_path.glob(".tmp-*"))
    # a write killed mid-way (a temporary folder, no marker) and a damaged newest checkpoint are both skipped
    (tmp_path / ".tmp-step-00000005-1-abc").mkdir()
    (ckpt.step_dir(tmp_path, 3) / ckpt.STATE).write_bytes(b"garbage")
    notes = []
    state = ckpt.load_latest(tmp_path, log=notes.append)
    assert state["meta"]["step"] == 2 and torch.equal(state["weights"]["w"], weights["w"])
    assert "step-00000003 cannot be read" in notes[0] and not list(tmp_path.glob(".tmp-*"))


# ------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("overrides, message", [
    ({"snapshot": "snap-000000000000"}, "unknown snapshot 'snap-000000000000'"),
    ({"snapshot": ""}, "snapshot: required"),
    ({"base_model": "no-such-model"}, "base_model: unknown model 'no-such-model'"),
    ({"block_size": 1024}, "block_size: 1024 is above the context length of 'tiny' (512"),
    ({"learning_rate": -1e-4}, "learning_rate: Input should be greater than 0"),
    ({"micro_batch_size": 1024, "block_size": 512}, "micro_batch_size: a micro-batch of 1024 × 512 tokens does not fit"),
    ({"method": "lora", "lora_target_modules": ["c_attn"]}, "lora_target_modules: 'tiny' has no module named c_attn"),
    ({"output_name": "tiny"}, "output_name: a model named 'tiny' already exists"),
    ({"output_name": "My Model!"}, "output_name: 'My Model!' would be stored as 'my-model'"),
    ({"max_steps": 0}, "max_steps: Input should be greater than or equal to 1"),
    ({"learning_rat": 1e-3}, "learning_rat: Extra inputs are not permitted"),
    ({"warmup_steps": 500, "max_steps": 10}, "warmup_steps (500) is more than max_steps (10)"),
])
def test_invalid_configs_are_refused_before_a_row_is_written(env, overrides, message):
    before = len(store.list_jobs(env["db"], limit=None))
    with pytest.raises(UserError) as info:
        env["submit"](config(env, **overrides))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert len(store.list_jobs(env["db"], limit=None)) == before


def test_a_corrupt_base_model_folder_is_refused_before_launch(env):
    from backend.models.registry import register_model

    folder = env["home"] / "models" / "tiny-broken"
    shutil.copytree(env["home"] / "models" / "tiny", folder)
    register_model(env["db"], folder, model_id="tiny-broken", kind="tiny")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])                      # truncated after registration
    with pytest.raises(UserError, match="base_model: 'tiny-broken' cannot be used: .*corrupt or truncated"):
        env["submit"](config(env, base_model="tiny-broken"))


def test_compile_and_attention_choices():
    from backend.training.config import TrainConfig
    from backend.training.model import attention_for, compile_enabled

    cfg = TrainConfig(snapshot="snap-x")                                  # defaults: auto, 100 steps, block 256
    assert compile_enabled(cfg, 134_515_008) and not compile_enabled(cfg, 3_000_000)
    assert not compile_enabled(cfg.model_copy(update={"max_steps": 10}), 134_515_008)
    assert compile_enabled(cfg.model_copy(update={"compile": "on"}), 1) is True
    assert not compile_enabled(cfg.model_copy(update={"compile": "off"}), 134_515_008)
    assert attention_for(cfg, "cpu", compiling=True) == "eager"
    assert attention_for(cfg, "cpu", compiling=False) == attention_for(cfg, "cuda", compiling=True) == "sdpa"
    assert attention_for(cfg.model_copy(update={"block_size": 2048}), "cpu", compiling=True) == "sdpa"
    assert attention_for(cfg.model_copy(update={"attention": "sdpa"}), "cpu", compiling=True) == "sdpa"


# ------------------------------------------------------------------------------------------- data


def test_packing_sampler_and_eval_blocks():
    from backend.training.data import BlockSampler, PackedBlocks, eval_blocks, pack

    stream = pack([[5, 6, 7], [8], [9, 10]], eos=0, dtype=np.uint16)
    assert stream.tolist() == [5, 6, 7, 0, 8, 0, 9, 10, 0]
    blocks = PackedBlocks(np.arange(103, dtype=np.uint16), 10)
    assert blocks.n_blocks == 10 and blocks.dropped_tokens == 3 and blocks.stats()["padding_fraction"] == 0.0
    sampler = BlockSampler(10, seed=3, micro_batch=4, grad_accum=2)
    order = [i for step in range(5) for micro in range(2) for i in sampler.indices(step, micro)]
    assert sorted(order[:10]) == list(range(10)) and sorted(order[10:20]) == list(range(10))  # each epoch: all once
    assert order[:10] != order[10:20]                                                          # reshuffled per epoch
    fresh = BlockSampler(10, seed=3, micro_batch=4, grad_accum=2)                              # a resumed process
    assert fresh.indices(3, 1) == sampler.indices(3, 1)
    assert BlockSampler(10, seed=4, micro_batch=4, grad_accum=2).indices(0, 0) != sampler.indices(0, 0)
    ranks = [BlockSampler(10, 3, 2, 1, world=2, rank=r).indices(0, 0) for r in (0, 1)]
    assert not set(ranks[0]) & set(ranks[1])                                                   # ranks do not overlap
    assert blocks.gather([2]).tolist() == [list(range(20, 30))]
    tail = eval_blocks(np.arange(25), 10, max_blocks=5)
    assert [len(b) for b in tail] == [10, 10, 5] and len(eval_blocks(np.arange(25), 10, 2)) == 2


def test_token_streams_are_cached_once_and_split_general_by_language(env, tmp_path):
    from transformers import AutoTokenizer

    from backend.training.data import load_streams

    tokenizer = AutoTokenizer.from_pretrained(env["home"] / "models" / "tiny")
    folder = env["home"] / "snapshots" / env["snapshot"]
    streams, cache, _ = load_streams(folder, tokenizer, len(tokenizer))
    again, cache2, hit = load_streams(folder, tokenizer, len(tokenizer))
    assert hit and cache2 == cache and set(again) == {"train", "domain", "general", "general_en"}
    assert streams["train"].dtype == np.uint16 and np.array_equal(again["train"], streams["train"])
    eos = tokenizer.eos_token_id
    n_docs = env["summary"]["out"]["train"]["docs"]
    assert int((np.asarray(again["train"]) == eos).sum()) >= n_docs
    assert abs(len(again["train"]) - n_docs - env["summary"]["out"]["train"]["tokens"]) < 0.01 * len(again["train"])


# ------------------------------------------------------------------------------------------- estimate


def test_memory_and_time_estimate(env):
    from backend.training.config import TrainConfig
    from backend.training.estimate import GIB, describe, estimate, estimate_config, model_shape

    cfg = TrainConfig(snapshot=env["snapshot"], micro_batch_size=8, block_size=256)
    smol = json.loads((env["home"] / "models" / "smollm2-135m-instruct" / "config.json").read_text())
    shape = model_shape(smol)
    assert abs(shape["n_params"] - 134_515_008) / 134_515_008 < 0.01
    full = estimate(shape, cfg, ["cpu"])["devices"]["cpu"]
    m = full["memory"]
    assert m["optimizer"] == 2 * m["gradients"] == 8 * shape["n_params"]
    assert m["activations_with_checkpointing"] < m["activations_without_checkpointing"] / 5
    assert 2 * GIB < m["total"] < 12 * GIB and full["fits"] is True
    lora = estimate(shape, cfg.model_copy(update={"method": "lora"}), ["cpu"])["devices"]["cpu"]["memory"]
    assert lora["trainable_parameters"] < shape["n_params"] / 20 and lora["optimizer"] < m["optimizer"] / 20
    huge = estimate(shape, cfg.model_copy(update={"micro_batch_size": 1024, "block_size": 2048}), ["cpu"])
    assert huge["devices"]["cpu"]["fits"] is False and "DOES NOT FIT" in describe(huge)
    timed = estimate_config(env["db"], env["home"], cfg.model_copy(update={"base_model": "tiny", "block_size": 128}),
                            devices=["cpu"])
    t = timed["devices"]["cpu"]["time"]
    assert t["method"] == "FLOPs model" and t["seconds"] > 0 and t["tokens_per_s"] < t["ceiling_tokens_per_s"]
    assert (env["home"] / "cache" / "device_flops.json").is_file()                         # measured once, cached
    from backend.training.estimate import measure_warmup

    warm = measure_warmup(env["home"] / "models" / "tiny", cfg.model_copy(update={"base_model": "tiny",
                          "block_size": 64, "micro_batch_size": 2, "max_steps": 10}), steps=2)
    assert warm["method"] == "measured warm-up (2 steps)" and warm["tokens_per_s"] > 0 and warm["tokens"] == 1280


# ------------------------------------------------------------------------------------------- CLI


def test_cli_submits_a_train_job_from_a_yaml_file_with_flag_overrides(env, tmp_path, capsys):
    from backend.__main__ import main

    path = tmp_path / "train.yaml"
    path.write_text(f"snapshot: {env['snapshot']}\nbase_model: tiny\nblock_size: 128\nmax_steps: 5\n")
    argv = ["--home", str(env["home"]), f"--data={env['settings'].data[0]}", "train", "--config", str(path),
            "--max-steps", "7", "--method", "lora", "--json"]
    assert main(argv) == 0
    job_id = json.loads(capsys.readouterr().out)["id"]
    row = store.get(env["db"], job_id)
    assert row["kind"] == "train" and row["status"] == "queued"
    assert row["config"]["max_steps"] == 7 and row["config"]["method"] == "lora" and row["config"]["block_size"] == 128
    assert store.cancel_queued(env["db"], job_id)
    assert main(argv[:-1] + ["--block-size", "4096"]) == 2
    err = capsys.readouterr().err
    assert "above the context length" in err and "Traceback" not in err
    assert main(argv + ["--estimate"]) == 0
    estimate = json.loads(capsys.readouterr().out)
    assert estimate["devices"]["cpu"]["fits"] is True and estimate["devices"]["cpu"]["time"]["seconds"] > 0
    path.write_text("- not\n- a mapping\n")
    assert main(argv) == 2 and "a train config is a mapping" in capsys.readouterr().err
    # "Show command": the flags of a config, which submit the same config
    import shlex

    from backend.action_cli import command_line
    from backend.training.job import TRAIN

    wanted = config(env, method="lora", lora_target_modules=["q_proj", "v_proj"], gradient_checkpointing=True)
    line = command_line(TRAIN, wanted, device="cpu")
    assert line.startswith("python -m backend train --base-model tiny --snapshot snap-")
    assert "--gradient-checkpointing" in line and "--lora-target-modules q_proj v_proj" in line
    assert main(argv[:3] + shlex.split(line)[3:] + ["--json"]) == 0
    row = store.get(env["db"], json.loads(capsys.readouterr().out)["id"])
    assert row["requested_device"] == "cpu" and row["config"] == get_kind("train").validate(wanted).model_dump()
    store.cancel_queued(env["db"], row["id"])
