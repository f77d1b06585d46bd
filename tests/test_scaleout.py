"""Scale-out (jobs.scaleout): the generated accelerate config (checked by accelerate's own loader and launcher
argument handling), the launch argument lists, the multi-GPU slot policy, a real 2-process `accelerate launch` of
the worker on this CPU (rank 0 writes, rank 1 only runs; cancel and kill -9 leave no process behind), and the Slurm
path against stand-in sbatch/squeue/sacct/scancel commands on PATH.

No GPU and no Slurm here: real multi-GPU training and a real cluster are not exercised."""
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from backend.settings import PROJECT_ROOT, Settings
from backend.studio import Studio
from jobs import store
from jobs.kinds import KINDS, JobKind
from jobs.scaleout import launch, local as multi, slurm
from jobs.scheduler import Scheduler

SMALL = ("mantra_gsc", "pxcorpus")


# ------------------------------------------------------------------------------------------------------ fixtures

class Probe(BaseModel):
    """A GPU-capable kind with the train config's scale-out fields; it never runs (spawn is stubbed or sbatch is
    a stand-in)."""
    model_config = ConfigDict(extra="forbid")
    num_gpus: int = 1
    strategy: Literal["ddp", "fsdp"] = "ddp"
    base_model: str | None = None


@pytest.fixture
def probe(monkeypatch):
    monkeypatch.setitem(KINDS, "scaleout_probe", JobKind("scaleout_probe", Probe, lambda ctx: {}, ("cuda", "cpu")))
    return "scaleout_probe"


@pytest.fixture(scope="session")
def small_data(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("scaleout_data")
    (root / "corpus").mkdir()
    for name in SMALL:
        shutil.copy(shared_data / "corpus" / f"{name}.jsonl.gz", root / "corpus")
    shutil.copy(shared_data / "corpus" / "sources.json", root / "corpus")
    return root


@pytest.fixture
def studio(make_home, small_data):
    s = Studio(Settings(home=str(make_home()), data=[str(small_data)]))
    s.scan_sources()
    return s


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not reached within {timeout} s")


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
    path = launch.write_accelerate_config(tmp_path, {"num_gpus": 2, "strategy": "ddp"}, 2, port=port)
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
    assert launch.accelerate_config({"bf16": False, "strategy": "ddp"}, 2)["mixed_precision"] == "no"


def test_fsdp_config_is_full_shard_of_the_decoder_layer(tmp_path):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin, patch_environment
    from torch.distributed.fsdp import ShardingStrategy
    from transformers import AutoModelForCausalLM

    folder = tiny_llama_folder(tmp_path)
    assert launch.decoder_layer_class(folder) == "LlamaDecoderLayer"
    qwen = tmp_path / "qwen3"
    qwen.mkdir()
    (qwen / "config.json").write_text(json.dumps({"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"]}))
    assert launch.decoder_layer_class(qwen) == "Qwen3DecoderLayer"   # the paper's model
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"model_type": "nope", "architectures": ["NopeForCausalLM"]}))
    assert launch.decoder_layer_class(odd) == "NopeDecoderLayer" and launch.decoder_layer_class(None) is None

    config = {"num_gpus": 4, "strategy": "fsdp", "base_model": str(folder)}
    (tmp_path / "job").mkdir()
    path = launch.write_accelerate_config(tmp_path / "job", config, 4, port=0)
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


def test_bad_scaleout_fields_are_refused(tmp_path):
    for config, expected in (({"num_gpus": 0}, "at least 1"), ({"num_gpus": "two"}, "whole number"),
                             ({"strategy": "zero3"}, "not one of")):
        with pytest.raises(store.JobError, match=expected):
            launch.gpus_requested(config) if "num_gpus" in config else launch.strategy_of(config)
    assert launch.gpus_requested({}) == 1 and launch.strategy_of({}) == "ddp"


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


def both_ranks_up(studio, job_id):
    row = store.get(studio.db, job_id)
    log = store.log_tail(store.job_dir(studio.home, job_id), 0)
    return row["heartbeat"] != row["started_at"] and "[rank 1] worker pid" in log


def test_accelerate_launch_runs_the_worker_on_each_rank_and_only_rank_0_writes(studio):
    s, job_id = two_process_job(studio, seed=5)
    launcher = s._children[job_id].pid
    row = store.wait(studio.db, job_id, timeout=180, poll=0.2)
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
    wait_for(lambda: both_ranks_up(studio, job_id), 60, "both ranks running")
    launcher = store.get(studio.db, job_id)["pgid"]
    assert len(multi.job_process_groups(job_id, launcher)) >= 3   # launcher + one session per rank
    t = time.monotonic()
    row = s.cancel(job_id, by="alice")
    assert row["status"] == "cancelled" and row["resumable"]
    wait_for(lambda: not multi.job_process_groups(job_id, launcher), 5, "every process of the cancelled job gone")
    assert time.monotonic() - t < 5.5

    # kill -9 of the launcher: its ranks (in sessions of their own) are found by their command line and killed
    s2, job2 = two_process_job(studio, seed=12)
    wait_for(lambda: both_ranks_up(studio, job2), 60, "both ranks running")
    launcher = store.get(studio.db, job2)["pgid"]
    os.kill(launcher, signal.SIGKILL)
    wait_for(lambda: s2.reconcile() or store.get(studio.db, job2)["status"] != "running", 10, "reconciled")
    row = store.get(studio.db, job2)
    assert row["status"] == "failed" and row["resumable"] and "gone without a final status" in row["exit_reason"]
    wait_for(lambda: not multi.job_process_groups(job2, launcher), 5, "orphaned ranks killed")


# ------------------------------------------------------------------------------------------------------- Slurm

STAND_INS = {
    "sbatch": """#!/bin/sh
d="$FAKE_SLURM_DIR"
if [ -f "$d/sbatch_fail" ]; then echo "sbatch: error: Batch job submission failed: Invalid account" >&2; exit 1; fi
n=$(cat "$d/counter" 2>/dev/null || echo 4241); n=$((n+1)); echo "$n" > "$d/counter"
printf '%s\\n' "$@" > "$d/sbatch_args_$n"
eval last=\\${$#}
cp "$last" "$d/script_$n"
env > "$d/sbatch_env_$n"
echo "$n;testcluster"
""",
    "squeue": """#!/bin/sh
d="$FAKE_SLURM_DIR"; echo "$*" >> "$d/squeue_calls"
if [ -f "$d/down" ]; then echo "squeue: error: Unable to contact slurm controller (connect failure)" >&2; exit 1; fi
if [ -f "$d/state_$2" ]; then cat "$d/state_$2"; exit 0; fi
echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1
""",
    "sacct": """#!/bin/sh
d="$FAKE_SLURM_DIR"; echo "$*" >> "$d/sacct_calls"
if [ -f "$d/down" ]; then echo "sacct: error: Problem talking to the database: Connection refused" >&2; exit 1; fi
if [ -f "$d/sacct_$2" ]; then cat "$d/sacct_$2"; fi
exit 0
""",
    "scancel": """#!/bin/sh
d="$FAKE_SLURM_DIR"; echo "$*" >> "$d/scancel_calls"
""",
}


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """sbatch/squeue/sacct/scancel stand-ins first on PATH; they record their arguments under the returned folder
    (sbatch also the script and its environment) and answer from files the test writes there."""
    bin_dir, record = tmp_path / "fake_bin", tmp_path / "fake_slurm"
    bin_dir.mkdir()
    record.mkdir()
    for name, text in STAND_INS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_DIR", str(record))
    return record


def slurm_studio(studio, **extra) -> Studio:
    values = {"home": studio.settings.home, "data": studio.settings.data, "slurm": True, "slurm_partition": "gpu",
              "slurm_account": "lab-frbio", "slurm_extra_args": ["--qos=normal"], "slurm_poll_s": 0, **extra}
    return Studio(Settings(**values))


def sbatch_lines(script: str) -> list[str]:
    return [line[len("#SBATCH "):] for line in script.splitlines() if line.startswith("#SBATCH ")]


def test_slurm_submission_script_status_and_cancel(studio, fake_slurm, probe):
    st = slurm_studio(studio)
    s = Scheduler(st.settings, devices={"cpu": ""})
    db, home = st.db, st.home
    job_id = store.submit(db, home, "corpus_build", {"name": "on-slurm", "sources": list(SMALL)}, owner="alice")
    assert s.tick() == [job_id]
    folder = store.job_dir(home, job_id)
    row = store.get(db, job_id)
    assert row["status"] == "running" and row["device"] == "slurm" and row["external_id"] == "4242"
    assert row["pid"] is None and row["message"] == "submitted to Slurm as job 4242"
    script_path = folder / "job.sbatch"
    assert (fake_slurm / "sbatch_args_4242").read_text().splitlines() == ["--parsable", str(script_path)]
    script = (fake_slurm / "script_4242").read_text()
    assert script == script_path.read_text()
    options = sbatch_lines(script)
    assert f"--job-name=frbio-{job_id}" in options and f"--output={folder / 'log.txt'}" in options
    assert "--open-mode=append" in options and "--partition=gpu" in options and "--account=lab-frbio" in options
    assert "--cpus-per-task=8" in options and "--mem=64G" in options and "--time=24:00:00" in options
    assert "--qos=normal" in options and not any(o.startswith("--gres") for o in options)   # a CPU kind
    body = script.splitlines()
    assert f"cd {shlex.quote(str(PROJECT_ROOT))}" in body and f"export FRBIO_HOME={home}" in body
    assert "export FRBIO_JOB_ATTEMPT=1" in body and "export FRBIO_JOB_DEVICE=cpu" in body
    assert body[-1] == "exec " + shlex.join([sys.executable, "-m", "jobs.worker", job_id])
    assert subprocess.run(["bash", "-n", str(script_path)]).returncode == 0
    env = dict(line.split("=", 1) for line in (fake_slurm / "sbatch_env_4242").read_text().splitlines() if "=" in line)
    assert env["FRBIO_HOME"] == str(home) and "FRBIO_JOB_DEVICE" not in env and "CUDA_VISIBLE_DEVICES" not in env
    assert "submitted to Slurm as job 4242" in store.log_tail(folder)

    # status from squeue: PENDING/RUNNING keep it running, however old its heartbeat (no local pid to check)
    store.update(db, job_id, started_at=store.now() - 3600, heartbeat=store.now() - 3600)
    (fake_slurm / "state_4242").write_text("PENDING\n")
    assert s.tick() == [] and (fake_slurm / "counter").read_text().strip() == "4242"   # submitted once
    assert store.get(db, job_id)["message"] == "PENDING on Slurm"
    (fake_slurm / "state_4242").write_text("RUNNING\n")
    assert s.reconcile() == [] and store.get(db, job_id)["status"] == "running"
    assert store.get(db, job_id)["message"] == "RUNNING on Slurm"
    assert "-j 4242 -h -o %T" in (fake_slurm / "squeue_calls").read_text()

    # the batch script, run as Slurm would on a node (the stand-in sbatch does not run it): the worker takes the
    # Slurm row, writes no local pid, and finishes the job
    with open(folder / "log.txt", "ab") as out:
        done = subprocess.run(["bash", str(script_path)], stdout=out, stderr=subprocess.STDOUT, timeout=300,
                              env={**os.environ, "SLURM_JOB_ID": "4242"})
    row = store.get(db, job_id)
    assert done.returncode == 0 and row["status"] == "succeeded", store.log_tail(folder)
    assert row["pid"] is None and row["device"] == "slurm" and row["result"]["snapshot_id"].startswith("snap-")
    assert "[slurm] " + job_id + ": Slurm job 4242 on " in store.log_tail(folder, 0)

    # a job on 2 GPUs with FSDP: --gres=gpu:2 and accelerate launch in the script
    gpu_job = store.submit(db, home, probe, {"num_gpus": 2, "strategy": "fsdp"})
    assert s.tick() == [gpu_job]
    gpu_folder = store.job_dir(home, gpu_job)
    script = (fake_slurm / "script_4243").read_text()
    assert "--gres=gpu:2" in sbatch_lines(script) and "export FRBIO_JOB_DEVICE=cuda" in script
    assert script.splitlines()[-1] == "exec " + shlex.join(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(gpu_folder / "accelerate.yaml"),
         "-m", "jobs.worker", gpu_job])
    data = yaml.safe_load((gpu_folder / "accelerate.yaml").read_text())
    assert data["num_processes"] == 2 and data["distributed_type"] == "FSDP" and data["main_process_port"] == 0

    # gone from the queue, sacct says FAILED, no final status → failed, resumable, with Slurm's state
    (fake_slurm / "sacct_4243").write_text("FAILED\n")
    assert s.reconcile() == [gpu_job]
    row = store.get(db, gpu_job)
    assert row["status"] == "failed" and row["resumable"] == 1
    assert row["exit_reason"] == "Slurm job 4243 ended FAILED without a final status"
    assert "-j 4243 -n -X -P -o State" in (fake_slurm / "sacct_calls").read_text()
    # resumed: a new submission (attempt 2, new Slurm id); the old Slurm job's worker would refuse to run it
    s.resume(gpu_job)
    assert s.tick() == [gpu_job] and store.get(db, gpu_job)["external_id"] == "4244"
    assert "export FRBIO_JOB_ATTEMPT=2" in (fake_slurm / "script_4244").read_text()
    stale = subprocess.run([sys.executable, "-m", "jobs.worker", gpu_job], cwd=str(PROJECT_ROOT),
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "FRBIO_HOME": str(home), "FRBIO_JOB_ATTEMPT": "1",
                                "SLURM_JOB_ID": "4243"})
    assert stale.returncode == 2 and "this Slurm job was for attempt 1" in (stale.stdout + store.log_tail(gpu_folder))
    # cancel → scancel with the Slurm id
    (fake_slurm / "state_4244").write_text("RUNNING\n")
    row = s.cancel(gpu_job, by="alice")
    assert row["status"] == "cancelled" and (fake_slurm / "scancel_calls").read_text().split() == ["4244"]
    assert "Slurm job 4244 cancelled (scancel)" in store.log_tail(gpu_folder)

    # TIMEOUT straight from squeue
    late = store.submit(db, home, probe, {"num_gpus": 1})
    assert s.tick() == [late]
    assert "--gres=gpu:1" in sbatch_lines((fake_slurm / "script_4245").read_text())
    (fake_slurm / "state_4245").write_text("TIMEOUT\n")
    assert s.reconcile() == [late] and "ended TIMEOUT" in store.get(db, late)["exit_reason"]


def test_slurm_refusals_and_polling_interval(studio, fake_slurm, probe):
    st = slurm_studio(studio, slurm_poll_s=3600)
    s = Scheduler(st.settings, devices={"cpu": ""})
    (fake_slurm / "sbatch_fail").touch()
    refused = store.submit(st.db, st.home, probe, {})
    s.tick()
    row = store.get(st.db, refused)
    assert row["status"] == "failed" and row["resumable"] and row["external_id"] is None
    assert row["exit_reason"] == ("sbatch refused the job (exit 1): sbatch: error: Batch job submission failed: "
                                  "Invalid account")
    (fake_slurm / "sbatch_fail").unlink()

    bad = Scheduler(slurm_studio(studio, slurm_partition="gpu\n#SBATCH --wrap=rm").settings, devices={"cpu": ""})
    injected = store.submit(st.db, st.home, probe, {})
    s.deactivate()   # one launching scheduler per home
    bad.tick()
    bad.deactivate()
    assert "cannot go on an #SBATCH line" in store.get(st.db, injected)["exit_reason"]
    assert not (fake_slurm / "counter").exists()   # nothing reached sbatch

    polled = store.submit(st.db, st.home, probe, {})
    assert s.tick() == [polled]
    (fake_slurm / "state_4242").write_text("RUNNING\n")
    for _ in range(3):
        s.reconcile()
    assert len((fake_slurm / "squeue_calls").read_text().splitlines()) == 1   # once per slurm_poll_s
    # Slurm not answering (controller down): nothing is concluded; known to neither squeue nor sacct: GONE
    (fake_slurm / "down").touch()
    assert slurm.job_state("4242") is None
    s2 = Scheduler(slurm_studio(studio).settings, devices={"cpu": ""})
    assert s2.reconcile() == [] and store.get(st.db, polled)["status"] == "running"
    (fake_slurm / "down").unlink()
    (fake_slurm / "state_4242").unlink()
    assert slurm.job_state("4242") == slurm.GONE
    assert s2.reconcile() == []   # just submitted: the controller may not list it yet
    store.update(st.db, polled, started_at=store.now() - 3600)
    assert s2.reconcile() == [polled] and "is gone" in store.get(st.db, polled)["exit_reason"]
