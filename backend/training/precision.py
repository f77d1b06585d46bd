"""Which precision a run uses: 'auto' is bf16 autocast where the device computes bf16 natively, else fp32."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """A CPU with native bf16 arithmetic (AVX512-BF16 or AMX): there bf16 autocast speeds training up; elsewhere
    it emulates bf16 and is slower than fp32."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return any(f in flags for f in BF16_CPU_FLAGS)


def bf16_supported(device_type: str, query_cuda: bool = True) -> bool:
    """bf16 on 'cuda' (compute capability ≥ 8.0; without `query_cuda`, assumed when a GPU is there at all, so the
    app's process never creates a CUDA context) or on 'cpu' (native bf16 instructions)."""
    if device_type == "cuda":
        if not query_cuda:
            return True
        import torch

        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return cpu_has_bf16()


def resolve_precision(choice: str, device_type: str) -> str:
    """'bf16' or 'fp32' for a config's precision on a device type."""
    if choice in ("bf16", "fp32"):
        return choice
    return "bf16" if bf16_supported(device_type) else "fp32"
