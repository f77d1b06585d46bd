"""Which precision a run uses: 'auto' is bf16 autocast where the device computes bf16 faster than fp32, else fp32.

On a CPU, native bf16 instructions are necessary but not enough: on an AMD EPYC with AVX512-BF16 bf16 autocast
trained 2.5x faster than fp32 (bench/README.md), while on an Intel Xeon with the same flag but no AMX, torch's bf16
matmul ran at 0.65-0.75x the fp32 rate. So 'auto' measures it once per process (a few matmuls, ~0.1 s)."""
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


BF16_MIN_SPEEDUP = 1.15      # bf16 must beat fp32 by this much in the matmul probe to be chosen on a CPU


@lru_cache(maxsize=1)
def cpu_bf16_speedup() -> float:
    """fp32 time / bf16 time of the same matmul (a decoder MLP's shape) on this CPU with torch's threads; the two
    interleaved so that other load on the machine weighs on both alike."""
    import time

    import torch

    def run(a, b, reps: int) -> float:
        start = time.perf_counter()
        for _ in range(reps):
            a @ b
        return time.perf_counter() - start

    pairs = {dt: (torch.randn(1024, 576, dtype=dt), torch.randn(576, 1536, dtype=dt))
             for dt in (torch.float32, torch.bfloat16)}
    for a, b in pairs.values():
        run(a, b, 2)                                    # warm-up (oneDNN kernels picked)
    times = {dt: 0.0 for dt in pairs}
    for _ in range(4):
        for dt, (a, b) in pairs.items():
            times[dt] += run(a, b, 3)
    return times[torch.float32] / max(times[torch.bfloat16], 1e-9)


def bf16_supported(device_type: str, query_cuda: bool = True) -> bool:
    """bf16 on 'cuda' (compute capability ≥ 8.0; without `query_cuda`, assumed when a GPU is there at all, so the
    app's process never creates a CUDA context) or on 'cpu' (native bf16 instructions, measured faster than fp32)."""
    if device_type == "cuda":
        if not query_cuda:
            return True
        import torch

        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return cpu_has_bf16() and cpu_bf16_speedup() >= BF16_MIN_SPEEDUP


def resolve_precision(choice: str, device_type: str) -> str:
    """'bf16' or 'fp32' for a config's precision on a device type."""
    if choice in ("bf16", "fp32"):
        return choice
    return "bf16" if bf16_supported(device_type) else "fp32"
