"""Devices a scheduler can give jobs, discovered in one place for the whole app (the scheduler, the Train tab's
device list and memory estimate, the devices table): the CPU always; GPUs from one `nvidia-smi` query (no CUDA
context is created in the app), else torch; CUDA_VISIBLE_DEVICES, when set, limits and orders them. Also per-device
slot counts and live usage."""
from __future__ import annotations

import os
import subprocess
import time

_CACHE: dict[str, tuple[float, object]] = {}
_CPU_PREV: list[tuple[int, int]] = []   # (busy, total) jiffies of the previous /proc/stat read


def _cached(key: str, ttl: float, compute):
    t = time.monotonic()
    hit = _CACHE.get(key)
    if hit and t - hit[0] < ttl:
        return hit[1]
    value = compute()
    _CACHE[key] = (t, value)
    return value


def gpu_stats() -> dict[str, dict]:
    """{physical GPU index: {name, memory_used, memory_total (bytes), utilization (%)}} from nvidia-smi; {} without
    it. Cached 2 s (the UI polls; one nvidia-smi call serves every session and the scheduler)."""
    def query() -> dict[str, dict]:
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=index,name,memory.used,memory.total,utilization.gpu",
                                  "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=15)
        except (OSError, subprocess.SubprocessError):
            return {}
        stats = {}
        number = lambda v: float(v) if v.replace(".", "", 1).isdigit() else None  # noqa: E731 ('[N/A]')
        for line in out.stdout.splitlines() if out.returncode == 0 else []:
            parts = [p.strip() for p in line.split(",")] + [""] * 4
            index, name, used, total, util = parts[:5]
            if not index.isdigit():
                continue
            stats[index] = {"name": name or f"GPU {index}", "memory_used": (number(used) or 0) * 2 ** 20,
                            "memory_total": (number(total) or 0) * 2 ** 20, "utilization": number(util)}
        return stats
    return _cached(f"gpu {os.environ.get('PATH', '')}", 2.0, query)   # a test's stand-in nvidia-smi is its own


def _visible_gpus() -> list[str]:
    """CUDA_VISIBLE_DEVICES values for the GPUs this process may use, in order ([] without any). The one rule:
    CUDA_VISIBLE_DEVICES, when set, lists them (an empty or negative first entry hides every GPU; a number
    nvidia-smi does not list is dropped); otherwise every GPU nvidia-smi (else torch) sees."""
    inherited = os.environ.get("CUDA_VISIBLE_DEVICES")
    listed = None if inherited is None else [x.strip() for x in inherited.split(",") if x.strip()]
    if listed is not None and (not listed or listed[0].startswith("-")):
        return []
    physical = list(gpu_stats())
    if not physical:
        try:
            import importlib.util

            if importlib.util.find_spec("torch") is None:
                return []
            import torch

            physical = [str(i) for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)]
        except Exception:  # a broken driver means no GPU, not a broken app
            return []
    if listed is None:
        return physical
    return [x for x in listed if not x.isdigit() or x in physical][:len(physical)]


def discover_devices() -> dict[str, str]:
    """Device name → CUDA_VISIBLE_DEVICES value for its workers: {'cuda:0': '0', ..., 'cpu': ''}."""
    devices = {f"cuda:{i}": gpu for i, gpu in enumerate(_visible_gpus())}
    devices["cpu"] = ""
    return devices


def local_devices() -> list[str]:
    """The device names jobs can be given here, GPUs first: ['cuda:0', ..., 'cpu']."""
    return list(discover_devices())


def gpu_memory(device: str) -> dict | None:
    """{total, available, name} (bytes) of 'cuda:N' as this process numbers it; None when unknown."""
    visible = discover_devices().get(device)
    stats = gpu_stats().get(visible or "")
    if not stats or not stats["memory_total"]:
        return None
    return {"total": int(stats["memory_total"]), "available": int(stats["memory_total"] - stats["memory_used"]),
            "source": "nvidia-smi", "name": stats["name"]}


def parse_slots(text: str | None) -> dict[str, int]:
    """'cpu=2,cuda:0=1' → {'cpu': 2, 'cuda:0': 1}; a bare number applies to every device ('*')."""
    out: dict[str, int] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, value = part.rpartition("=")
        out[name.strip() or "*"] = int(value)
    return out


def cpu_stats() -> dict:
    """The CPU as a device: name, RAM used/total (bytes), utilisation (% of all cores since the previous call,
    from /proc/stat; the 1-minute load average per core on the first call or off Linux) and load average."""
    import platform

    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    util = None
    try:
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        busy, total = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0), sum(fields)
        if _CPU_PREV and total > _CPU_PREV[0][1]:
            util = 100.0 * (busy - _CPU_PREV[0][0]) / (total - _CPU_PREV[0][1])
        _CPU_PREV[:] = [(busy, total)]
    except (OSError, ValueError, IndexError):
        pass
    if util is None and load is not None:
        util = min(100.0, 100.0 * load / cores)
    mem_total = mem_used = None
    try:
        info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in open("/proc/meminfo") if ":" in line}
        mem_total, mem_used = info["MemTotal"], info["MemTotal"] - info.get("MemAvailable", info.get("MemFree", 0))
    except (OSError, ValueError, KeyError, IndexError):
        pass
    return {"name": f"{platform.processor() or platform.machine()} · {cores} cores", "memory_used": mem_used,
            "memory_total": mem_total, "utilization": util, "load": load}


def device_usage(devices: dict[str, str], slots: dict[str, int], busy: dict[str, int]) -> list[dict]:
    """One row per device for the UI and the CLI: the same fields for a GPU (nvidia-smi) and the CPU."""
    gpus = gpu_stats() if any(d.startswith("cuda:") for d in devices) else {}
    rows = []
    for device, visible in devices.items():
        stats = _cached("cpu", 2.0, cpu_stats) if device == "cpu" else gpus.get(visible, {"name": f"GPU {visible}"})
        rows.append({"device": device, **{k: stats.get(k) for k in ("name", "memory_used", "memory_total",
                                                                     "utilization", "load")},
                     "jobs": busy.get(device, 0), "slots": slots.get(device, 0)})
    return rows
