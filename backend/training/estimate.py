"""Before launch: how much memory a train config needs on a device, whether that fits, and how long it will take.

Memory (bytes), for full training or LoRA:
  weights      every parameter in fp32 (the master copy), plus a bf16 copy of each under bf16 autocast
  gradients    fp32, trainable parameters only (LoRA: the adapters)
  optimizer    AdamW's two fp32 moments per trainable parameter
  activations  what the backward pass keeps per token and layer (a Llama-family decoder: norm inputs in fp32,
               projections and MLP intermediates in the compute dtype; with eager attention also the T×T scores),
               × micro_batch × block;
               with gradient checkpointing only each layer's input is kept, plus one layer recomputed at a time
  logits       the output head's logits, their fp32 copy, log-softmax and its gradient (tokens × vocabulary)
  overhead     the runtime itself (CPU: torch and Python ≈ 0.6 GB; CUDA: context and allocator ≈ 0.8 GB)
"Fits" compares the total with the memory available on the device now (CPU: MemAvailable; CUDA: free memory).

Time, two ways, each labelled: the "FLOPs model" (6 × parameters × tokens for full training, 4 × for LoRA, + 2 × with
gradient checkpointing, + attention; divided by the device's matmul throughput measured once by a short benchmark
and cached in `<home>/cache/device_flops.json`, times a step efficiency measured by the benchmark, per device type,
precision and compilation), and a "measured warm-up" (a few real
training steps on random tokens of the configured shape; `measure_warmup`).
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

GIB = 1024 ** 3
CPU_OVERHEAD = int(0.6 * GIB)
CUDA_OVERHEAD = int(0.8 * GIB)
# A training step's FLOP/s over the device's large-matmul FLOP/s, for the FLOPs model. CPU values measured by
# bench/train_throughput.py (SmolLM2-135M, 8 × 256 tokens, 2 cores): fp32 ≈ 0.85 (its matmuls are slow, the rest is
# cheap), bf16 eager ≈ 0.4 (attention and elementwise work do not speed up with bf16), bf16 compiled ≈ 0.55. GPUs: a
# typical model-FLOPs utilisation.
STEP_EFFICIENCY = {("cpu", "fp32", False): 0.85, ("cpu", "fp32", True): 0.85, ("cpu", "bf16", False): 0.4,
                   ("cpu", "bf16", True): 0.55, ("cuda", "fp32", False): 0.35, ("cuda", "fp32", True): 0.4,
                   ("cuda", "bf16", False): 0.35, ("cuda", "bf16", True): 0.4}
FLOPS_CACHE = "device_flops.json"


# ----------------------------------------------------------------------------------------------- shapes

def model_shape(config: dict, n_params: int | None = None) -> dict:
    """The dimensions the estimate needs, from a model's config.json (text_config for multimodal ones)."""
    c = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    h = int(c.get("hidden_size") or c.get("n_embd") or c.get("d_model") or 768)
    layers = int(c.get("num_hidden_layers") or c.get("n_layer") or c.get("num_layers") or 12)
    heads = int(c.get("num_attention_heads") or c.get("n_head") or 12)
    kv_heads = int(c.get("num_key_value_heads") or heads)
    head_dim = int(c.get("head_dim") or h // heads)
    inter = int(c.get("intermediate_size") or c.get("n_inner") or 4 * h)
    vocab = int(c.get("vocab_size") or 32000)
    tied = bool(c.get("tie_word_embeddings", config.get("tie_word_embeddings", True)))
    if not n_params:
        per_layer = h * heads * head_dim * 2 + h * kv_heads * head_dim * 2 + 3 * h * inter + 2 * h
        n_params = layers * per_layer + vocab * h * (1 if tied else 2) + h
    return {"n_params": int(n_params), "hidden": h, "layers": layers, "heads": heads, "kv_heads": kv_heads,
            "head_dim": head_dim, "intermediate": inter, "vocab": vocab, "tied": tied,
            "context": int(c.get("max_position_embeddings") or c.get("n_positions") or 2048)}


def lora_parameters(shape: dict, r: int, targets: list[str]) -> int:
    """Adapter parameters: r × (in + out) per targeted projection and layer."""
    h, kv, inter, hd = shape["hidden"], shape["kv_heads"], shape["intermediate"], shape["head_dim"]
    q = shape["heads"] * hd
    dims = {"q_proj": (h, q), "k_proj": (h, kv * hd), "v_proj": (h, kv * hd), "o_proj": (q, h),
            "gate_proj": (h, inter), "up_proj": (h, inter), "down_proj": (inter, h)}
    chosen = dims if "all-linear" in targets else {k: v for k, v in dims.items() if k in targets}
    if not chosen:  # unknown names (another architecture): assume two h×h projections
        chosen = {"a": (h, h), "b": (h, h)}
    return shape["layers"] * sum(r * (i + o) for i, o in chosen.values())


# ----------------------------------------------------------------------------------------------- memory

def activation_bytes_per_token_layer(shape: dict, bf16: bool) -> int:
    h, kv, inter = shape["hidden"], shape["kv_heads"] * shape["head_dim"], shape["intermediate"]
    low = 2 if bf16 else 4
    return 4 * 4 * h + low * (6 * h + 3 * kv + 4 * inter)


def memory_estimate(shape: dict, cfg, bf16: bool, device_type: str = "cpu") -> dict:
    """Bytes per component for `cfg` (a TrainConfig) on one device; both activation variants are given."""
    n = shape["n_params"]
    trainable = lora_parameters(shape, cfg.lora_r, cfg.lora_target_modules) if cfg.method == "lora" else n
    tokens = cfg.micro_batch_size * cfg.block_size
    weights = n * 4 + (n * 2 if bf16 else 0) + (trainable * 4 if cfg.method == "lora" else 0)
    per_layer = activation_bytes_per_token_layer(shape, bf16)
    from backend.training.model import attention_for, compile_enabled

    if attention_for(cfg, device_type, compile_enabled(cfg, n)) == "eager":  # materialised scores and probabilities, T per token and head
        per_layer += shape["heads"] * cfg.block_size * ((2 if bf16 else 4) + 4)
    full = tokens * per_layer * shape["layers"]
    ckpt = tokens * (4 * shape["hidden"] * shape["layers"] + per_layer)
    logits = tokens * shape["vocab"] * ((2 if bf16 else 4) + 4 + 4 + 4)
    overhead = CUDA_OVERHEAD if device_type == "cuda" else CPU_OVERHEAD
    base = {"weights": weights, "gradients": trainable * 4, "optimizer": trainable * 8, "logits": logits,
            "overhead": overhead}
    activations = ckpt if cfg.gradient_checkpointing else full
    return {**base, "activations": activations, "total": sum(base.values()) + activations,
            "activations_without_checkpointing": full, "activations_with_checkpointing": ckpt,
            "total_without_checkpointing": sum(base.values()) + full,
            "total_with_checkpointing": sum(base.values()) + ckpt,
            "trainable_parameters": trainable, "parameters": n, "tokens_per_micro_batch": tokens}


def cpu_memory() -> dict:
    try:
        import psutil

        vm = psutil.virtual_memory()
        return {"total": int(vm.total), "available": int(vm.available), "source": "psutil"}
    except ImportError:
        info = {}
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info[key] = int(value.split()[0]) * 1024
        return {"total": info.get("MemTotal", 0), "available": info.get("MemAvailable", 0), "source": "/proc/meminfo"}


def gpu_memory(device: str) -> dict | None:
    """Free/total memory of 'cuda:N': torch.cuda.mem_get_info when CUDA is already initialised in this process (a
    worker), else the app's one nvidia-smi query (jobs.devices; no CUDA context in the app). None when unknown."""
    index = int(device.split(":")[1]) if ":" in device else 0
    try:
        import torch

        if torch.cuda.is_initialized():
            free, total = torch.cuda.mem_get_info(index)
            return {"total": int(total), "available": int(free), "source": "torch.cuda.mem_get_info"}
    except Exception:
        pass
    from jobs.devices import gpu_memory as listed

    return listed(device if ":" in device else "cuda:0")


def device_memory(device: str) -> dict | None:
    return cpu_memory() if device == "cpu" else gpu_memory(device)


# ----------------------------------------------------------------------------------------------- time

def flops_per_token(shape: dict, cfg) -> float:
    """Training FLOPs per token: 6N full (forward 2N, backward 4N), LoRA ≈ 4N (no weight gradients for the frozen
    base), + 2N when activations are recomputed; + attention (12 × layers × block × heads × head_dim)."""
    n = shape["n_params"]
    factor = 4.0 if cfg.method == "lora" else 6.0
    if cfg.gradient_checkpointing:
        factor += 2.0
    attention = 12 * shape["layers"] * cfg.block_size * shape["heads"] * shape["head_dim"] / 2  # causal: half
    return factor * n + attention


def _device_key(device: str, threads: int) -> str:
    if device.startswith("cuda"):
        info = gpu_memory(device) or {}
        return f"cuda:{info.get('name', 'gpu')}"
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu:{model}:{threads}threads"


def matmul_flops(device: str = "cpu", dtype: str = "bf16", seconds: float = 0.6) -> float:
    """Measured FLOP/s of a training-shaped matmul (2048 × 1024 by 1024 × 4096) in `dtype` on `device`."""
    import torch

    dt = torch.bfloat16 if dtype == "bf16" else torch.float32
    dev = "cuda" if device.startswith("cuda") else "cpu"
    m, k, n = (2048, 1024, 4096) if dev == "cpu" else (8192, 8192, 8192)
    a, b = torch.randn(m, k, dtype=dt, device=dev), torch.randn(k, n, dtype=dt, device=dev)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    a @ b
    sync()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 3:
        a @ b
        count += 1
    sync()
    return 2.0 * m * k * n * count / (time.perf_counter() - start)


def device_flops(home: Path, device: str = "cpu", dtype: str = "bf16", measure: bool = True) -> dict | None:
    """The device's matmul throughput, measured once and cached per device (CPU model and thread count, or GPU
    name) in `<home>/cache/device_flops.json`. None when not cached and `measure` is False."""
    threads = (os.cpu_count() or 1) if device == "cpu" else 0
    key = f"{_device_key(device, threads)}:{dtype}"
    path = Path(home) / "cache" / FLOPS_CACHE
    try:
        cache = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return {**cache[key], "cached": True}
    if device.startswith("cuda") and not _cuda_ready():  # no CUDA context in the app's process: a nominal peak
        nominal = nominal_gpu_flops(key, dtype)
        return {"flops": nominal, "key": key, "nominal": True} if nominal else None
    if not measure:
        return None
    value = {"flops": matmul_flops(device, dtype), "measured_at": time.time(), "key": key}
    cache[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(cache, indent=1), "utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
    return {**value, "cached": False}


# Dense tensor-core peaks (bf16; fp32 means TF32 where the GPU has it), used only when the app's process cannot
# measure (it never creates a CUDA context): the estimate then says "nominal peak".
NOMINAL_GPU = {"H200": (989e12, 494e12), "H100": (989e12, 494e12), "A100": (312e12, 156e12), "L40S": (362e12, 181e12),
               "L4": (121e12, 60e12), "A10": (125e12, 62e12), "4090": (165e12, 82e12), "3090": (71e12, 35e12)}


def nominal_gpu_flops(key: str, dtype: str) -> float | None:
    for name, (bf16, fp32) in NOMINAL_GPU.items():
        if name in key:
            return bf16 if dtype == "bf16" else fp32
    return None


def _cuda_ready() -> bool:
    try:
        import torch

        return torch.cuda.is_initialized()
    except Exception:
        return False


def time_estimate(shape: dict, cfg, flops: float, efficiency: float = 0.4) -> dict:
    per_token = flops_per_token(shape, cfg)
    tokens = cfg.tokens_per_step * cfg.max_steps
    tps = flops * efficiency / per_token
    return {"method": "FLOPs model", "flops_per_token": per_token, "device_flops": flops,
            "efficiency": efficiency, "tokens_per_s": tps, "tokens": tokens, "seconds": tokens / tps,
            "ceiling_tokens_per_s": flops / per_token}


# ----------------------------------------------------------------------------------------------- together

def wants_bf16(cfg, device: str) -> bool:
    from backend.training.precision import bf16_supported

    if cfg.precision == "fp32":
        return False
    if cfg.precision == "bf16":
        return True
    return bf16_supported("cuda" if device.startswith("cuda") else "cpu", query_cuda=False)


def disk_estimate(shape: dict, cfg, dtype: str | None, home: Path | None) -> dict:
    """Bytes the run leaves on disk: the trained model and each checkpoint kept as a model (stored in the base's
    dtype), and the resumable checkpoints alive at once (fp32 trainable weights and AdamW's two moments); with the
    free space of the home's disk."""
    n = shape["n_params"]
    per_model = n * (2 if str(dtype) in ("bfloat16", "float16") else 4)
    trainable = lora_parameters(shape, cfg.lora_r, cfg.lora_target_modules) if cfg.method == "lora" else n
    saves = len(range(cfg.save_every, cfg.max_steps + 1, cfg.save_every)) + 1 if cfg.save_every else 0
    resumable = trainable * 12 * min(cfg.keep_last, saves)
    kept = len(cfg.kept_steps)
    out = {"model": per_model, "kept_checkpoints": kept, "kept": per_model * kept, "resumable": resumable,
           "total": per_model * (kept + 1) + resumable, "free": None, "fits": None}
    if home is not None:
        import shutil

        folder = Path(home)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        out["free"] = shutil.disk_usage(folder).free
        out["fits"] = out["total"] <= out["free"]
    return out


def describe_disk(d: dict) -> str:
    text = (f"disk: {d['total'] / GIB:.2f} GiB (the model {d['model'] / GIB:.2f}, {d['kept_checkpoints']} kept "
            f"checkpoint{'s' if d['kept_checkpoints'] != 1 else ''} {d['kept'] / GIB:.2f}, resumable checkpoints "
            f"{d['resumable'] / GIB:.2f})")
    if d.get("free") is not None:
        text += f" of {d['free'] / GIB:.1f} GiB free: " + ("fits" if d["fits"] else "DOES NOT FIT")
    return text


def estimate(shape: dict, cfg, devices: list[str], home: Path | None = None, measure: bool = True,
             dtype: str | None = None) -> dict:
    """Per device: the memory components, fits / does not fit against what is available now, and the FLOPs-model
    time; the disk the run needs. A plain dict for the UI: {"devices": {"cpu": {...}, "cuda:0": {...}},
    "disk": {...}, "tokens": ..., "steps": ...}."""
    out = {"tokens": cfg.tokens_per_step * cfg.max_steps, "tokens_per_step": cfg.tokens_per_step,
           "steps": cfg.max_steps, "parameters": shape["n_params"], "devices": {},
           "disk": disk_estimate(shape, cfg, dtype, home)}
    for device in devices:
        bf16 = wants_bf16(cfg, device)
        kind = "cuda" if device.startswith("cuda") else "cpu"
        mem = memory_estimate(shape, cfg, bf16, kind)
        avail = device_memory(device)
        entry = {"precision": "bf16" if bf16 else "fp32", "memory": mem, "device_memory": avail,
                 "fits": None if avail is None else mem["total"] <= avail["available"],
                 "fits_with_checkpointing": None if avail is None else
                 mem["total_with_checkpointing"] <= avail["available"]}
        flops = device_flops(home, device, "bf16" if bf16 else "fp32", measure=measure) if home else None
        from backend.training.model import compile_enabled

        efficiency = STEP_EFFICIENCY[(kind, "bf16" if bf16 else "fp32", compile_enabled(cfg, shape["n_params"]))]
        entry["time"] = time_estimate(shape, cfg, flops["flops"], efficiency) if flops else None
        if entry["time"] and flops.get("nominal"):
            entry["time"]["method"] = "FLOPs model (nominal peak)"
        out["devices"][device] = entry
    return out


def describe(result: dict) -> str:
    """A short human summary of `estimate`'s result (CLI, logs)."""
    lines = [f"{result['parameters'] / 1e6:.1f}M parameters, {result['tokens']:,} tokens over {result['steps']} steps"]
    for device, e in result["devices"].items():
        m = e["memory"]
        avail = e["device_memory"]
        fit = "unknown" if e["fits"] is None else ("fits" if e["fits"] else "DOES NOT FIT")
        lines.append(f"{device} ({e['precision']}): {m['total'] / GIB:.2f} GiB needed (weights {m['weights'] / GIB:.2f}, "
                     f"gradients {m['gradients'] / GIB:.2f}, optimizer {m['optimizer'] / GIB:.2f}, activations "
                     f"{m['activations'] / GIB:.2f}, logits {m['logits'] / GIB:.2f}) of "
                     + (f"{avail['available'] / GIB:.2f} GiB available: {fit}" if avail else "unknown memory"))
        if e.get("time"):
            t = e["time"]
            lines.append(f"  time (FLOPs model): ≈ {t['seconds'] / 60:.1f} min at ≈ {t['tokens_per_s']:.0f} tokens/s")
    if result.get("disk"):
        lines.append(describe_disk(result["disk"]))
    return "\n".join(lines)


def measure_warmup(model_folder: Path, cfg, device: str = "cpu", steps: int = 3) -> dict:
    """A measured warm-up: `steps` real optimizer steps (after one untimed) of the configured model, method,
    precision and batch shape on random tokens, in this process. Returns tokens/s and the time for the run."""
    from backend.training.loop import measure_steps

    tps = measure_steps(Path(model_folder), cfg, device=device, steps=steps)
    tokens = cfg.tokens_per_step * cfg.max_steps
    return {"method": f"measured warm-up ({steps} steps)", "tokens_per_s": tps, "tokens": tokens,
            "seconds": tokens / tps}


def estimate_config(db, home: Path, cfg, devices: list[str] | None = None, measure: bool = True) -> dict:
    """The estimate for a TrainConfig as the Train tab shows it: the base model's shape read from its folder, every
    local device (CPU and GPUs) unless `devices` is given, and the FLOPs-model time (measuring the device's matmul
    throughput once if `measure`). Raises TrainError for an unknown model."""
    from backend.training.validate import model_config, resolve_base
    from jobs.devices import local_devices

    base = resolve_base(db, home, cfg.base_model)
    shape = model_shape(model_config(base), base.get("n_params"))
    result = estimate(shape, cfg, devices or local_devices(), home=home, measure=measure, dtype=base.get("dtype"))
    result["base_model"] = base["id"]
    return result
