"""Scale-out (jobs.scaleout): the generated accelerate config (checked by accelerate's own loader and launcher
argument handling), the launch argument lists, the multi-GPU slot policy, a real 2-process `accelerate launch` of
the worker on this CPU (rank 0 writes, rank 1 only runs; cancel and kill -9 leave no process behind), and the Slurm
path against stand-in sbatch/squeue/sacct/scancel commands on PATH.

No GPU and no Slurm here: real multi-GPU training and a real cluster are not exercised."""
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from backend.models.inspect import decoder_layer_class
from jobs import store
from jobs.kinds import KINDS, JobKind, Resources
from jobs.launchers import accelerate as launch, multiprocess as multi
from jobs.scheduler import Scheduler
from tests.data_helpers import wait_for

# ------------------------------------------------------------------------------------------------------ fixtures

class Probe(BaseModel):
    """A GPU-capable kind with the train config's scale-out fields; it never runs (spawn is stubbed or sbatch is
    a stand-in)."""
    model_config = ConfigDict(extra="forbid")
    num_gpus: int = 1
    strategy: Literal["ddp", "fsdp"] = "ddp"
    base_model: str | None = None


def probe_resources(context, cfg: Probe) -> Resources:
    """What the train kind answers for the same fields (backend.training.job.resources)."""
    wrap = decoder_layer_class(cfg.base_model) if cfg.strategy == "fsdp" and cfg.base_model else None
    return Resources(gpus=cfg.num_gpus, strategy=cfg.strategy, fsdp_wrap=wrap)


@pytest.fixture
def probe(monkeypatch):
    monkeypatch.setitem(KINDS, "scaleout_probe", JobKind("scaleout_probe", Probe, lambda context, cfg, job: {},
                                                         ("cuda", "cpu"), resources_of=probe_resources))
    return "scaleout_probe"


@pytest.fixture
def studio(small_studio):
    return small_studio


def tiny_llama_folder(tmp_path) -> Path:
    from backend.models.importing import make_tiny_model

    return Path(make_tiny_model(tmp_path / "tiny_home", tokenizer_from=None)["path"])


# ------------------------------------------------------------------------------------------ accelerate config

def validated(argv: list[str]):
    """Our argument list through accelerate's own parser and checks (what `accelerate launch` does before it
    starts anything), then the environment its multi-GPU launcher gives each process."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    assert argv[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    args, defaults, _ = _validate_launch_command(launch_command_parser().parse_args(argv[3:]))
    return args, defaults, prepare_multi_gpu_env(args)


def test_ddp_config_is_what_accelerate_expects(tmp_path):
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
    from accelerate.utils import DistributedType

    port = launch.free_port()
    path = launch.write_accelerate_config(tmp_path, Resources(gpus=2, strategy="ddp"), 2, port=port)
    assert path == tmp_path / "accelerate.yaml"
    data = yaml.safe_load(path.read_text())
    assert data["distributed_type"] == "MULTI_GPU" and data["num_processes"] == 2 and data["num_machines"] == 1
    assert data["compute_environment"] == "LOCAL_MACHINE" and data["mixed_precision"] == "bf16"
    assert data["main_process_port"] == port and data["gpu_ids"] == "all" and data["use_cpu"] is False
    assert "fsdp_config" not in data
    loaded = load_config_from_file(str(path))   # raises on any key accelerate does not know
    assert isinstance(loaded, ClusterConfig) and loaded.distributed_type == DistributedType.MULTI_GPU
    assert loaded.num_processes == 2 and loaded.main_process_port == port

    argv = launch.worker_command("job-000007", path)
    assert argv == [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(path),
                    "-m", "jobs.worker", "job-000007"]
    args, _, env = validated(argv)
    assert args.multi_gpu and not args.use_fsdp and args.num_processes == 2
    assert args.module and args.training_script == "jobs.worker" and args.training_script_args == ["job-000007"]
    assert args.nproc_per_node == "2" and args.master_port == str(port)
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16" and "ACCELERATE_USE_FSDP" not in env
    # fp32 when the config says so
    assert launch.accelerate_config(Resources(mixed_precision="no"), 2)["mixed_precision"] == "no"


def test_fsdp_config_is_full_shard_of_the_decoder_layer(tmp_path):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin, patch_environment
    from torch.distributed.fsdp import ShardingStrategy
    from transformers import AutoModelForCausalLM

    folder = tiny_llama_folder(tmp_path)
    assert decoder_layer_class(folder) == "LlamaDecoderLayer"
    qwen = tmp_path / "qwen3"
    qwen.mkdir()
    (qwen / "config.json").write_text(json.dumps({"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"]}))
    assert decoder_layer_class(qwen) == "Qwen3DecoderLayer"   # the paper's model
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"model_type": "nope", "architectures": ["NopeForCausalLM"]}))
    assert decoder_layer_class(odd) == "NopeDecoderLayer" and decoder_layer_class(None) is None

    resources = probe_resources(None, Probe(num_gpus=4, strategy="fsdp", base_model=str(folder)))
    (tmp_path / "job").mkdir()
    path = launch.write_accelerate_config(tmp_path / "job", resources, 4, port=0)
    data = yaml.safe_load(path.read_text())
    assert data["distributed_type"] == "FSDP" and data["num_processes"] == 4 and data["mixed_precision"] == "bf16"
    assert data["main_process_port"] == 0   # 0: accelerate picks a free port itself (what a Slurm node gets)
    fsdp = data["fsdp_config"]
    assert fsdp["fsdp_sharding_strategy"] == "FULL_SHARD" and fsdp["fsdp_version"] == 1
    assert fsdp["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert fsdp["fsdp_transformer_layer_cls_to_wrap"] == "LlamaDecoderLayer"
    assert fsdp["fsdp_state_dict_type"] == "FULL_STATE_DICT"
    assert load_config_from_file(str(path)).distributed_type == DistributedType.FSDP

    args, _, env = validated(launch.worker_command("job-000008", path))
    assert args.use_fsdp and args.num_processes == 4 and args.module
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_SHARDING_STRATEGY"] == "FULL_SHARD"
    assert env["FSDP_AUTO_WRAP_POLICY"] == "TRANSFORMER_BASED_WRAP"
    assert env["FSDP_TRANSFORMER_CLS_TO_WRAP"] == "LlamaDecoderLayer"
    assert env["FSDP_STATE_DICT_TYPE"] == "FULL_STATE_DICT" and env["ACCELERATE_MIXED_PRECISION"] == "bf16"
    # What each rank's FSDP plugin makes of that environment, and that the class is found in the real model.
    # (sync_module_states, which cpu_ram_efficient_loading implies, needs a GPU to exist: both are switched off
    # for this CPU check only.)
    fsdp_env = {k: v for k, v in env.items() if k.startswith(("FSDP_", "ACCELERATE_"))}
    with patch_environment(**{**fsdp_env, "FSDP_SYNC_MODULE_STATES": "false", "FSDP_CPU_RAM_EFFICIENT_LOADING": "false"}):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.sharding_strategy == ShardingStrategy.FULL_SHARD
    assert plugin.transformer_cls_names_to_wrap == ["LlamaDecoderLayer"]
    plugin.set_auto_wrap_policy(AutoModelForCausalLM.from_pretrained(folder))   # ValueError if the class is absent
    assert {c.__name__ for c in plugin.auto_wrap_policy.keywords["transformer_layer_cls"]} == {"LlamaDecoderLayer"}


def test_bad_resources_are_refused():
    for fields, expected in (({"gpus": 0}, "at least 1"), ({"strategy": "zero3"}, "not one of"),
                             ({"mixed_precision": "fp8"}, "not one of")):
        with pytest.raises(store.JobError, match=expected):
            Resources(**fields)
    assert Resources().gpus == 1 and Resources().strategy == "ddp" and Resources().devices == ("cpu",)


# ------------------------------------------------------------------------------------ launch plans, placement

def test_launch_plans_keep_the_plain_worker_for_one_process(studio, probe, tmp_path):
    folder = tiny_llama_folder(tmp_path)
    s = Scheduler(studio.settings, devices={"cuda:0": "0", "cuda:1": "3", "cpu": ""})
    big = store.submit(studio.db, studio.home, probe, {"num_gpus": 2, "strategy": "fsdp", "base_model": str(folder)})
    one = store.submit(studio.db, studio.home, probe, {"num_gpus": 1})
    corpus = store.submit(studio.db, studio.home, "corpus_build", {"name": "plain"})

    argv, env = s.launch_plan(big, "cuda:0,cuda:1")
    yaml_path = store.job_dir(studio.home, big) / "accelerate.yaml"
    assert argv == [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(yaml_path),
                    "-m", "jobs.worker", big]
    assert env["CUDA_VISIBLE_DEVICES"] == "0,3" and env["FRBIO_JOB_DEVICE"] == "cuda:0,cuda:1"
    data = yaml.safe_load(yaml_path.read_text())
    assert data["num_processes"] == 2 and data["fsdp_config"]["fsdp_transformer_layer_cls_to_wrap"] == "LlamaDecoderLayer"
    assert 0 < data["main_process_port"] < 65536
    validated(argv)

    argv, env = s.launch_plan(one, "cuda:1")
    assert argv == [sys.executable, "-m", "jobs.worker", one] and env["CUDA_VISIBLE_DEVICES"] == "3"
    argv, env = s.launch_plan(corpus, "cpu")
    assert argv == [sys.executable, "-m", "jobs.worker", corpus] and env["CUDA_VISIBLE_DEVICES"] == ""
    assert env["FRBIO_JOB_DEVICE"] == "cpu"
    for job_id in (one, corpus):
        assert not (store.job_dir(studio.home, job_id) / "accelerate.yaml").exists()


def test_multi_gpu_jobs_claim_slots_together_and_are_not_starved(studio, probe):
    s = Scheduler(studio.settings, devices={"cuda:0": "0", "cuda:1": "1", "cpu": ""}, stale_after=1e6)
    spawned = []
    s._spawn = lambda job_id, device: spawned.append((job_id, device))   # nothing runs: placement only
    db = studio.db

    def done(job_id):
        assert store.finish(db, job_id, "succeeded", attempt=1)

    a = store.submit(db, studio.home, probe, {"num_gpus": 1})
    assert s.tick() == [a] and spawned[-1] == (a, "cuda:0")
    b = store.submit(db, studio.home, probe, {"num_gpus": 2})
    c = store.submit(db, studio.home, probe, {"num_gpus": 1})
    e = store.submit(db, studio.home, probe, {"num_gpus": 1}, device="cpu")
    # b waits for a second GPU and keeps cuda:1 for itself: c, behind it, does not take it; the CPU job runs
    assert s.tick() == [e] and store.get(db, c)["status"] == "queued" and s.free_slots()["cuda:1"] == 1
    done(a)
    assert s.tick() == [b] and spawned[-1] == (b, "cuda:0,cuda:1")
    row = store.get(db, b)
    assert row["status"] == "running" and row["device"] == "cuda:0,cuda:1"
    assert s.busy() == {"cuda:0": 1, "cuda:1": 1, "cpu": 1}
    assert not multi.claim_devices(db, c, ["cuda:1"], s.slots)   # the claim itself counts b on each GPU
    assert not store.claim(db, c, "cpu", 1)
    assert s.tick() == []
    done(b)
    assert s.tick() == [c] and spawned[-1] == (c, "cuda:0")

    too_big = store.submit(db, studio.home, probe, {"num_gpus": 3})
    pinned = store.submit(db, studio.home, probe, {"num_gpus": 2}, device="cuda:1")
    s.tick()
    row = store.get(db, too_big)
    assert row["status"] == "failed" and row["resumable"] and "asks for 3 GPUs; this server has 2" in row["exit_reason"]
    assert "device 'any'" in store.get(db, pinned)["exit_reason"]
    # on a machine without GPUs a job on 2 GPUs is refused with the reason, not run on the CPU
    s.deactivate()   # one launching scheduler per home
    cpu_only = Scheduler(studio.settings, devices={"cpu": ""}, stale_after=1e6)
    cpu_only._spawn = lambda job_id, device: spawned.append((job_id, device))
    lone = store.submit(db, studio.home, probe, {"num_gpus": 2})
    done(e)
    cpu_only.tick()
    assert "this server has 0 (no GPU)" in store.get(db, lone)["exit_reason"]


# --------------------------------------------------------------------------- a real 2-process accelerate launch

def two_process_job(studio, seed: int) -> tuple[Scheduler, str]:
    """A corpus build started like a job on 2 GPUs: claimed on cuda:0+cuda:1 (names only: this machine has no GPU)
    and launched through `accelerate launch` with 2 processes, each running `python -m jobs.worker ID`."""
    s = Scheduler(studio.settings, devices={"cuda:0": "0", "cuda:1": "1", "cpu": ""}, interval=0.25)
    job_id = store.submit(studio.db, studio.home, "corpus_build", {"name": f"two-{seed}", "seed": seed})
    assert multi.claim_devices(studio.db, job_id, ["cuda:0", "cuda:1"], s.slots)
    s._spawn(job_id, "cuda:0,cuda:1")
    return s, job_id


def both_ranks_up(s, studio, job_id):
    s.reconcile()      # the scheduler records rank 0's reports (its heartbeat)
    row = store.get(studio.db, job_id)
    log = store.log_tail(store.job_dir(studio.home, job_id), 0)
    return row["heartbeat"] != row["started_at"] and "[rank 1] worker pid" in log


def test_accelerate_launch_runs_the_worker_on_each_rank_and_only_rank_0_reports(studio):
    s, job_id = two_process_job(studio, seed=5)
    launcher = s._children[job_id].pid
    row = store.wait(studio.db, job_id, timeout=180, poll=0.2, on_poll=s.reconcile)
    wait_for(lambda: not multi.job_process_groups(job_id, launcher), 30, "launcher and ranks exit")
    folder = store.job_dir(studio.home, job_id)
    log = store.log_tail(folder, 0)
    assert row["status"] == "succeeded", (row["exit_reason"], log)
    assert row["pid"] == launcher and row["pgid"] == launcher and row["device"] == "cuda:0,cuda:1"
    assert row["result"]["snapshot_id"].startswith("snap-")
    assert "corpus_build attempt 1 on cuda:0,cuda:1 (CUDA_VISIBLE_DEVICES='0,1')" in log
    assert "[rank 1] worker pid" in log and "WORLD_SIZE=2" in log
    assert log.count("] succeeded") == 1                         # one final status, from rank 0
    assert "[rank 1] snapshot snap-" in log                       # rank 1 ran the runner too
    metrics = store.read_metrics(folder)
    assert [m["stage"] for m in metrics].count("result") == 1   # rank 1 wrote no metrics
    assert yaml.safe_load((folder / "accelerate.yaml").read_text())["num_processes"] == 2
    s._reap()
    assert s.busy() == {"cuda:0": 0, "cuda:1": 0, "cpu": 0}


def test_cancel_and_kill_of_a_multi_process_job_leave_no_process(studio):
    s, job_id = two_process_job(studio, seed=11)
    wait_for(lambda: both_ranks_up(s, studio, job_id), 60, "both ranks running")
    launcher = store.get(studio.db, job_id)["pgid"]
    assert len(multi.job_process_groups(job_id, launcher)) >= 3   # launcher + one session per rank
    t = time.monotonic()
    row = s.cancel(job_id, by="alice")
    assert row["status"] == "cancelled" and row["resumable"]
    wait_for(lambda: not multi.job_process_groups(job_id, launcher), 5, "every process of the cancelled job gone")
    assert time.monotonic() - t < 5.5

    # kill -9 of the launcher: its ranks (in sessions of their own) are found by their command line and killed
    s2, job2 = two_process_job(studio, seed=12)
    wait_for(lambda: both_ranks_up(s2, studio, job2), 60, "both ranks running")
    launcher = store.get(studio.db, job2)["pgid"]
    os.kill(launcher, signal.SIGKILL)
    wait_for(lambda: s2.reconcile() or store.get(studio.db, job2)["status"] != "running", 10, "reconciled")
    row = store.get(studio.db, job2)
    assert row["status"] == "failed" and row["resumable"] and "gone without a final status" in row["exit_reason"]
    wait_for(lambda: not multi.job_process_groups(job2, launcher), 5, "orphaned ranks killed")
