"""Devices a scheduler can give jobs: the CPU always, GPUs found by nvidia-smi (no CUDA context is created in the
app), else by torch; and the per-device slot counts."""
from __future__ import annotations

import os
import subprocess


def _visible_gpus() -> list[str]:
    """CUDA_VISIBLE_DEVICES values for the GPUs this process may use (nvidia-smi, else torch; [] without)."""
    inherited = os.environ.get("CUDA_VISIBLE_DEVICES")
    listed = None if inherited is None else [x.strip() for x in inherited.split(",") if x.strip()]
    if listed is not None and (not listed or listed[0].startswith("-")):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=15)
        physical = [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []
        return [x for x in listed if not x.isdigit() or x in physical] if listed is not None else physical
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            return []
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken driver means no GPU, not a broken app
        return []
    return listed[:count] if listed is not None else [str(i) for i in range(count)]


def discover_devices() -> dict[str, str]:
    """Device name → CUDA_VISIBLE_DEVICES value for its workers: {'cuda:0': '0', ..., 'cpu': ''}."""
    devices = {f"cuda:{i}": gpu for i, gpu in enumerate(_visible_gpus())}
    devices["cpu"] = ""
    return devices


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
