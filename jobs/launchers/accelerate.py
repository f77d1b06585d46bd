"""What a job asks for, the `accelerate` config generated for it, and the worker's argument list.

A job config may carry `num_gpus` (int, 1 by default) and `strategy` ('ddp' or 'fsdp', 'ddp' by default); other
kinds simply do not have them and run as one process, as always. For N > 1 GPUs the worker is started as

    python -m accelerate.commands.launch --config_file <job_dir>/accelerate.yaml -m jobs.worker JOB_ID

(`-m`/`--module` makes accelerate's launcher, i.e. torchrun, run `python -m jobs.worker JOB_ID` in each of the N
processes; they get RANK, LOCAL_RANK and WORLD_SIZE, and see only the GPUs listed in CUDA_VISIBLE_DEVICES).
"""
from __future__ import annotations

import importlib.util
import json
import re
import socket
import sys
from pathlib import Path
from typing import Any

import yaml

from jobs.store import JobError

ACCELERATE_FILE = "accelerate.yaml"
STRATEGIES = ("ddp", "fsdp")
FSDP_STATE_DICT_TYPES = ("FULL_STATE_DICT", "SHARDED_STATE_DICT")
MODEL_KEYS = ("base_model", "model", "model_id", "model_path")   # where a config names its model, first found


def _get(config: Any, key: str, default: Any = None) -> Any:
    if isinstance(config, dict):
        return config.get(key, default)
    return getattr(config, key, default)


def gpus_requested(config: Any) -> int:
    """How many GPUs (processes) the job asks for: its `num_gpus`, 1 when it has none."""
    value = _get(config, "num_gpus", 1)
    try:
        n = int(value if value is not None else 1)
    except (TypeError, ValueError):
        raise JobError(f"num_gpus: '{value}' is not a whole number") from None
    if n < 1:
        raise JobError(f"num_gpus: must be at least 1, got {n}")
    return n


def strategy_of(config: Any) -> str:
    """'ddp' or 'fsdp' (the config's `strategy`, 'ddp' when it has none)."""
    value = str(_get(config, "strategy", "ddp") or "ddp").strip().lower()
    if value not in STRATEGIES:
        raise JobError(f"strategy: '{value}' is not one of {', '.join(STRATEGIES)}")
    return value


def mixed_precision_of(config: Any) -> str:
    """accelerate's mixed_precision for the job: 'bf16' (the paper's default) unless the config says otherwise
    through `mixed_precision`/`precision`/`dtype` ('bf16', 'fp16', 'no'/'fp32') or a boolean `bf16`."""
    for key in ("mixed_precision", "precision", "dtype"):
        value = _get(config, key)
        if value is not None:
            text = str(value).strip().lower()
            return {"bfloat16": "bf16", "bf16": "bf16", "float16": "fp16", "fp16": "fp16",
                    "float32": "no", "fp32": "no", "no": "no", "auto": "bf16"}.get(text, "bf16")
    flag = _get(config, "bf16")
    if isinstance(flag, bool):
        return "bf16" if flag else "no"
    return "bf16"


def free_port() -> int:
    """A TCP port free on this machine right now (the kernel's pick for port 0) for torch.distributed's rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------ FSDP's layer class

def model_folder(config: Any, db=None, home: Path | None = None) -> Path | None:
    """The folder of the model the config trains: a path as given, else the registry's path for that model id,
    else `<home>/models/<id>`; None when the config names no model or the folder is not there."""
    for key in MODEL_KEYS:
        value = _get(config, key)
        if not value or not isinstance(value, (str, Path)):
            continue
        path = Path(str(value)).expanduser()
        if path.is_dir():
            return path
        if db is not None:
            try:
                row = db.execute("SELECT path FROM models WHERE id = ?", [str(value)]).fetchone()
            except Exception:  # no models table yet
                row = None
            if row and row[0] and Path(row[0]).is_dir():
                return Path(row[0])
        if home is not None and (Path(home) / "models" / str(value)).is_dir():
            return Path(home) / "models" / str(value)
    return None


def decoder_layer_class(folder: Path | str | None) -> str | None:
    """The class FSDP wraps one unit at a time (e.g. 'Qwen3DecoderLayer', 'LlamaDecoderLayer'): the first entry of
    the model class's `_no_split_modules`, read from transformers' modeling file for the folder's `model_type`
    (no torch import in the scheduler), else '<Arch>DecoderLayer' guessed from `architectures`; None if unknown
    (accelerate then falls back to the model's `_no_split_modules` at run time)."""
    if folder is None:
        return None
    try:
        config = json.loads((Path(folder) / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    model_type = str(config.get("model_type") or "")
    if re.fullmatch(r"[a-z0-9_]+", model_type or "-"):
        spec = importlib.util.find_spec("transformers")
        if spec is not None and spec.origin:
            modeling = Path(spec.origin).parent / "models" / model_type / f"modeling_{model_type}.py"
            try:
                match = re.search(r"_no_split_modules\s*=\s*\[\s*[\"'](\w+)[\"']", modeling.read_text("utf-8"))
            except OSError:
                match = None
            if match:
                return match.group(1)
    for arch in config.get("architectures") or []:
        if isinstance(arch, str) and arch.endswith("ForCausalLM"):
            return arch[: -len("ForCausalLM")] + "DecoderLayer"
    return None


# ------------------------------------------------------------------------------------------ accelerate config

def accelerate_config(config: Any, num_processes: int, *, port: int | None = None,
                      layer_cls: str | None = None) -> dict:
    """accelerate's config (the dict `accelerate config` would write) for `num_processes` processes on one
    machine: DDP (distributed_type MULTI_GPU) or FSDP full shard (FSDP1, FULL_SHARD, transformer-based wrap of
    `layer_cls`, bf16, full state dict by default). `port` None or 0 lets accelerate pick a free port itself
    (what a Slurm node needs); the GPUs are the ones in CUDA_VISIBLE_DEVICES (gpu_ids 'all')."""
    strategy = strategy_of(config)
    out: dict[str, Any] = {
        "compute_environment": "LOCAL_MACHINE",
        "debug": False,
        "distributed_type": "FSDP" if strategy == "fsdp" else "MULTI_GPU",
        "downcast_bf16": False,
        "enable_cpu_affinity": False,
        "gpu_ids": "all",
        "machine_rank": 0,
        "main_process_port": int(port or 0),
        "main_training_function": "main",
        "mixed_precision": mixed_precision_of(config),
        "num_machines": 1,
        "num_processes": int(num_processes),
        "rdzv_backend": "static",
        "same_network": True,
        "tpu_env": [],
        "tpu_use_cluster": False,
        "tpu_use_sudo": False,
        "use_cpu": False,
    }
    if strategy == "fsdp":
        state_dict = str(_get(config, "fsdp_state_dict_type", None) or "FULL_STATE_DICT").upper()
        if state_dict not in FSDP_STATE_DICT_TYPES:
            raise JobError(f"fsdp_state_dict_type: '{state_dict}' is not one of {', '.join(FSDP_STATE_DICT_TYPES)}")
        fsdp = {
            "fsdp_version": 1,
            "fsdp_sharding_strategy": "FULL_SHARD",
            "fsdp_reshard_after_forward": "FULL_SHARD",
            "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "fsdp_backward_prefetch": "BACKWARD_PRE",
            "fsdp_forward_prefetch": False,
            "fsdp_state_dict_type": state_dict,
            "fsdp_offload_params": False,
            "fsdp_use_orig_params": True,
            "fsdp_cpu_ram_efficient_loading": True,
            "fsdp_sync_module_states": True,
            # the training loop's own gradient checkpointing is used; transformers refuses both at once
            "fsdp_activation_checkpointing": False,
        }
        if layer_cls:
            fsdp["fsdp_transformer_layer_cls_to_wrap"] = layer_cls
        out["fsdp_config"] = fsdp
    return out


def write_accelerate_config(folder: Path | str, config: Any, num_processes: int, *, port: int | None = None,
                            db=None, home: Path | None = None) -> Path:
    """Write `<folder>/accelerate.yaml` for the job (the FSDP layer class read from the job's model) and return
    its path. Rewritten at every launch, so a resumed job gets a fresh port."""
    layer_cls = None
    if strategy_of(config) == "fsdp":
        layer_cls = _get(config, "fsdp_layer_cls") or decoder_layer_class(model_folder(config, db, home))
    data = accelerate_config(config, num_processes, port=port, layer_cls=layer_cls)
    path = Path(folder) / ACCELERATE_FILE
    tmp = path.with_name(path.name + ".tmp")
    header = "# Generated by FrBio Studio for this job (jobs/scaleout); read by `accelerate launch --config_file`.\n"
    tmp.write_text(header + yaml.safe_dump(data, sort_keys=True), "utf-8")
    tmp.replace(path)
    return path


def worker_command(job_id: str, accelerate_file: Path | str | None = None,
                   python: str | None = None) -> list[str]:
    """The argument list that runs the job: `python -m jobs.worker ID`, or with an accelerate config, accelerate's
    launcher running that same module in each process."""
    python = python or sys.executable
    if accelerate_file is None:
        return [python, "-m", "jobs.worker", job_id]
    return [python, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_file),
            "-m", "jobs.worker", job_id]
