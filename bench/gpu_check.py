"""GPU check: what FrBio Studio's DAPT step does on a CUDA device, against the plain Hugging Face way, in one run.

On the paper's smallest model shape (Qwen3-0.6B: 28 layers, hidden 1024, vocab 151,936; random weights, built from
its config, so nothing is downloaded) and its 2048-token packed blocks, in bf16:

OURS      the `train` kind's own step (backend.training.loop.measure_steps): packed blocks, fused AdamW, bf16
          autocast over fp32 master weights, gradient clipping; eager, then with torch.compile.
BASELINE  the plain way: `model(input_ids, labels=input_ids).loss`, torch.optim.AdamW with its defaults, the same
          autocast, clipping, batch and steps.

For each: tokens/s over the steps after one warm-up step, and the peak GPU memory (torch.cuda.max_memory_allocated).
Also the device's facts (name, memory, compute capability, bf16). `--smoke` runs the same code on the CPU with a tiny
Qwen3-shaped model in seconds (the test suite runs it: tests/test_gpu_check.py); it writes no README table.

On the lent GPU machine (no network; python3 there has torch and transformers but not pydantic or sqlite-utils,
which our training code imports), carry them as wheels (/work/.library/device/README.md):

    echo /.whl/ >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
        pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
        sqlite-utils==4.2.1 sqlite-fts4==1.0.3 click-default-group==1.2.4
    # device run, carry [".whl"], timeout 420:
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site;
    PYTHONUNBUFFERED=1 python3 bench/gpu_check.py --steps 8 --out $OUT/gpu_check.json

Writes bench/results/gpu_check.json and the table in bench/README.md (default --out only).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

RESULTS = harness.BENCH / "results" / "gpu_check.json"
QWEN3_06B = dict(vocab_size=151_936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                 num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40_960,
                 tie_word_embeddings=True, rope_theta=1_000_000.0)
TINY = dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, max_position_embeddings=512, tie_word_embeddings=True)


def device_facts(device: str) -> dict:
    import torch

    if not device.startswith("cuda"):
        return {"device": "cpu", "cuda_available": torch.cuda.is_available()}
    props = torch.cuda.get_device_properties(0)
    return {"device": torch.cuda.get_device_name(0), "memory_gib": round(props.total_memory / 2 ** 30, 1),
            "capability": f"{props.major}.{props.minor}", "multiprocessors": props.multi_processor_count,
            "bf16": torch.cuda.is_bf16_supported(), "torch": torch.__version__, "cuda": torch.version.cuda}


def build_model(folder: Path, shape: dict) -> int:
    """A random Qwen3 of `shape` saved as a Hugging Face folder; its parameter count."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    model = Qwen3ForCausalLM(Qwen3Config(**shape))
    model.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def peak_reset(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: str) -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated() / 2 ** 30, 2) if device.startswith("cuda") else None


def ours(folder: Path, device: str, block: int, batch: int, steps: int, compile_: bool) -> dict:
    from backend.training.config import TrainConfig
    from backend.training.loop import measure_steps

    cfg = TrainConfig(base_model="gpu-check", snapshot="none", block_size=block, micro_batch_size=batch,
                      precision="bf16" if device.startswith("cuda") else "fp32", compile="on" if compile_ else "off",
                      max_steps=steps + 1)
    peak_reset(device)
    t = time.perf_counter()
    tps = measure_steps(folder, cfg, device, steps=steps)
    return {"tokens_per_s": round(tps, 1), "peak_gib": peak_gib(device), "wall_s": round(time.perf_counter() - t, 1)}


def baseline(folder: Path, device: str, block: int, batch: int, steps: int) -> dict:
    """The plain Hugging Face step: labels=input_ids (the model shifts them), torch AdamW's defaults."""
    import torch
    from transformers import AutoModelForCausalLM

    peak_reset(device)
    t_all = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).to(device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.05)
    bf16 = device.startswith("cuda")
    generator = torch.Generator().manual_seed(42)
    sync = torch.cuda.synchronize if bf16 else (lambda: None)
    timed = 0.0
    for i in range(steps + 1):
        t0 = time.perf_counter()
        x = torch.randint(0, model.config.vocab_size, (batch, block), generator=generator).to(device)
        with torch.autocast("cuda" if bf16 else "cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync()
        if i:
            timed += time.perf_counter() - t0
    out = {"tokens_per_s": round(steps * batch * block / timed, 1), "peak_gib": peak_gib(device),
           "wall_s": round(time.perf_counter() - t_all, 1)}
    del model, optimizer
    return out


def main(argv: list[str] | None = None) -> int:
    parser = harness.bench_parser(__doc__, RESULTS, child=False)
    parser.add_argument("--smoke", action="store_true", help="the CPU, a tiny model, 2 steps: the code path only")
    parser.add_argument("--steps", type=int, default=8, help="timed optimizer steps per variant (after 1 warm-up)")
    parser.add_argument("--block", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    args = parser.parse_args(argv)
    import torch

    device = "cpu" if args.smoke else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here (use --smoke for the code path on the CPU)", file=sys.stderr)
        return 2
    shape, block, batch, steps = ((TINY, 64, 2, 2) if args.smoke else (QWEN3_06B, args.block, args.batch, args.steps))
    report = {"machine": harness.machine_info("cpu", "cpus", "memory_gb", "python", "torch", "date"),
              "gpu": device_facts(device), "smoke": args.smoke,
              "shape": "tiny Qwen3" if args.smoke else "Qwen3-0.6B (random weights)",
              "block_size": block, "micro_batch_size": batch, "steps": steps, "variants": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        report["parameters"] = build_model(folder, shape)
        order = [("baseline", lambda: baseline(folder, device, block, batch, steps)),
                 ("ours-eager", lambda: ours(folder, device, block, batch, steps, False))]
        if not args.no_compile and not args.smoke:
            order.append(("ours-compile", lambda: ours(folder, device, block, batch, steps, True)))
        order.append(("baseline-again", lambda: baseline(folder, device, block, batch, steps)))  # sandwiched
        for name, run in order:
            print(f"gpu_check: {name} …", file=sys.stderr, flush=True)
            report["variants"][name] = run()
    base = [report["variants"][k]["tokens_per_s"] for k in ("baseline", "baseline-again")]
    report["baseline_tokens_per_s"] = round(sum(base) / 2, 1)
    for name, v in report["variants"].items():
        v["speedup_vs_baseline"] = round(v["tokens_per_s"] / report["baseline_tokens_per_s"], 2)
    headers = ["variant", "tokens/s", "× baseline", "peak GPU memory (GiB)", "wall (s)"]
    rows = [[name, f"{v['tokens_per_s']:,.0f}", f"{v['speedup_vs_baseline']:.2f}",
             "—" if v["peak_gib"] is None else f"{v['peak_gib']:.1f}", f"{v['wall_s']:.0f}"]
            for name, v in report["variants"].items()]
    text = harness.markdown_table(headers, rows, align="lrrrr")
    text += (f"\n\n{report['gpu'].get('device')}, {report['shape']}, {report['parameters'] / 1e6:.0f} M parameters, "
             f"{batch} × {block}-token blocks, {'fp32' if args.smoke else 'bf16'}, {steps} timed steps after one warm-up; the baseline ran first "
             "and last (its mean is the reference).")
    if args.smoke:
        harness.write_results(args.out, report)
        print(text)
        return 0
    return harness.publish(report, args.out, RESULTS, "gpu_check", text,
                           section="### The DAPT step on a GPU (`bench/gpu_check.py`)")


if __name__ == "__main__":
    raise SystemExit(main())
