"""bench/gpu_check.py, ready for the day a GPU is lent: `--smoke` runs its code path (a random Qwen3-shaped model
built from its config, our DAPT step eager and the plain Hugging Face step before and after it) on the CPU, and
without a CUDA device the full check says so in one line instead of timing the CPU."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from frbio_core.settings import PROJECT_ROOT


def test_gpu_check_smoke_times_ours_against_the_sandwiched_baseline(tmp_path):
    out = tmp_path / "gpu_check.json"
    done = subprocess.run([sys.executable, "bench/gpu_check.py", "--smoke", "--out", str(out)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["smoke"] is True and report["gpu"]["device"] == "cpu" and report["parameters"] > 0
    assert list(report["variants"]) == ["baseline", "ours-eager", "baseline-again"]
    for v in report["variants"].values():
        assert v["tokens_per_s"] > 0 and v["speedup_vs_baseline"] > 0
    assert "| ours-eager |" in done.stdout


def test_gpu_check_without_cuda_says_so_in_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device: the full check would run")
    done = subprocess.run([sys.executable, "bench/gpu_check.py", "--out", str(tmp_path / "x.json")],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "gpu_check: no CUDA device here (use --smoke for the code path on the CPU)"]
    assert not (tmp_path / "x.json").exists()
