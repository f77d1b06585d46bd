"""The model, optimizer and schedule of a DAPT run: the base model in fp32 master weights (bf16 autocast on top when
the run is bf16), optional LoRA adapters (peft) and gradient checkpointing, AdamW (fused where torch has it: 5× faster
than the foreach kernel on a CPU) with decoupled weight decay on matrices only, and the HF Trainer's schedules."""
from __future__ import annotations

import math
import os
from pathlib import Path

from backend.training.config import TrainConfig


def set_threads(cfg: TrainConfig, device_type: str) -> int:
    import torch

    if device_type == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        local_ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)   # ranks sharing this CPU
        torch.set_num_threads(max(1, cfg.num_threads or cores // local_ranks))
    return torch.get_num_threads()


def lr_factor(cfg: TrainConfig):
    """The multiplier of the peak learning rate after `step` optimizer steps, as the HF Trainer's schedules
    (linear warm-up from 0, then cosine or linear decay to 0 at max_steps, or constant)."""
    warmup, total, kind = cfg.warmup_steps, cfg.max_steps, cfg.lr_scheduler

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        if kind == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        if kind == "linear":
            return max(0.0, 1.0 - progress)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))

    return factor


EAGER_ATTENTION_MAX_BLOCK = 512
COMPILE_MIN_PARAMS = 50_000_000   # 'auto' compiles models this large...
COMPILE_MIN_STEPS = 60            # ...trained this long: ~1 min of compiling pays back (bench/README.md)


def compile_enabled(cfg: TrainConfig, n_params: int | None) -> bool:
    if cfg.compile != "auto":
        return cfg.compile == "on"
    return (n_params or 0) >= COMPILE_MIN_PARAMS and cfg.max_steps >= COMPILE_MIN_STEPS


def model_parameters(folder: Path) -> int | None:
    """Parameter count from the safetensors headers (no weight loaded); None when unknown."""
    try:
        from backend.models.inspect import inspect_folder

        return inspect_folder(Path(folder), require_tokenizer=False)["n_params"]
    except Exception:  # noqa: BLE001 — unknown size: 'auto' does not compile
        return None


def attention_for(cfg: TrainConfig, device_type: str, compiling: bool) -> str:
    """The attention implementation: the config's, or for 'auto' eager when torch.compile fuses it on a CPU and the
    blocks are short (its T×T scores stay small), else SDPA."""
    if cfg.attention != "auto":
        return cfg.attention
    if compiling and device_type == "cpu" and cfg.block_size <= EAGER_ATTENTION_MAX_BLOCK:
        return "eager"
    return "sdpa"


def load_model(folder: Path, cfg: TrainConfig, device: str, compiling: bool = False, trust_remote_code: bool = False):
    """The base model on `device` in fp32, in train mode, with gradient checkpointing and LoRA as configured.
    Seeds torch with cfg.seed first (the LoRA initialisation is random). `trust_remote_code`: only for a model an
    admin allowed (backend.models.trust)."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(cfg.seed)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True,
                                                 trust_remote_code=trust_remote_code,
                                                 attn_implementation=attention_for(cfg, device.split(":")[0],
                                                                                   compiling))
    model.config.use_cache = False
    model.to(device)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cfg.method == "lora":
        import warnings

        from peft import LoraConfig, get_peft_model

        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        targets = "all-linear" if "all-linear" in cfg.lora_target_modules else list(cfg.lora_target_modules)
        model = get_peft_model(model, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                                                 lora_dropout=cfg.lora_dropout, target_modules=targets,
                                                 bias="none", task_type="CAUSAL_LM"))
    model.train()
    return model


def trainable_parameters(model) -> dict:
    """{name: parameter} of what the optimizer updates (shared weights once, as named_parameters gives them)."""
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def make_optimizer(model, cfg: TrainConfig):
    """AdamW (β 0.9/0.999, ε 1e-8) with weight decay on ≥ 2-D parameters only (not norms or biases, as the HF
    Trainer), fused when the device supports it, else foreach."""
    import torch

    params = trainable_parameters(model)
    decay = [p for p in params.values() if p.ndim >= 2]
    no_decay = [p for p in params.values() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    try:
        return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(0.9, 0.999), eps=1e-8, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(0.9, 0.999), eps=1e-8, foreach=True)


def make_scheduler(optimizer, cfg: TrainConfig):
    import torch

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg))


def compiled(module):
    """torch.compile (inductor); on an error while compiling, dynamo falls back to eager for that graph."""
    import torch
    import torch._dynamo

    torch._dynamo.config.suppress_errors = True
    return torch.compile(module)


def autocast(device_type: str, bf16: bool):
    import torch

    return torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=bf16)


def causal_lm_loss(forward, input_ids):
    """Mean next-token cross-entropy over a batch of packed blocks (every position is a real token)."""
    return forward(input_ids=input_ids, labels=input_ids).loss
