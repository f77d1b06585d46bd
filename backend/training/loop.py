"""The DAPT training loop (not the HF Trainer: a lean loop, measured faster on this CPU — see bench/README.md).

`run_dapt(studio, cfg, job)` runs the job a `train` row describes, reporting through `job` (a Reporter): data from the snapshot (packed
blocks, data.py), the model (model.py), then per optimizer step `grad_accum` micro-batches under bf16 autocast when
the run is bf16, gradient clipping, AdamW, the schedule; a metrics record every step (step, loss, lr, tokens_per_s,
tokens_seen, grad_norm) and every `eval_every` steps (domain_ppl, general_ppl, general_ppl_en, … as perplexity);
progress and an ETA on the job row; a checkpoint every `save_every` steps (checkpoint.py); `job.should_stop()` polled
between micro-batches. A job started again (resumed) continues from its newest checkpoint and reproduces the losses
an uninterrupted run would have had. At the end: a final evaluation, the model saved and registered (output.py).
"""
from __future__ import annotations

import math
import time
from contextlib import ExitStack
from pathlib import Path

from backend.models.trust import remote_code
from backend.training import checkpoint as ckpt
from backend.training import follow
from backend.training.best import kept_checkpoints
from backend.training.config import TrainConfig
from backend.training.data import BlockSampler, PackedBlocks, eval_blocks, load_streams
from backend.training.trackers import open_trackers
from backend.training.model import (attention_for, autocast, causal_lm_loss, compile_enabled, compiled, load_model,
                                    make_optimizer, make_scheduler, model_parameters, set_threads,
                                    trainable_parameters)
from backend.errors import TrainError
from jobs.folders import read_metrics


def ppl_key(name: str) -> str:
    """'domain' → 'domain_ppl', 'general' → 'general_ppl', 'general_en' → 'general_ppl_en'."""
    if name.startswith("general_"):
        return f"general_ppl_{name[len('general_'):]}"
    return f"{name}_ppl"


def evaluate(model, sets: dict, micro_batch: int, device: str, bf16: bool, per_block: dict | None = None) -> dict:
    """Perplexity of each validation set (token-weighted mean NLL over all predicted positions). Given a dict
    `per_block`, also each block's mean NLL and predicted tokens, in block order: `per_block[name] = [(nll, n), …]`
    (the evaluation's per-item rows, for paired tests), and the perplexity is computed from those same numbers."""
    import numpy as np
    import torch

    was_training = model.training
    model.eval()
    out = {}
    try:
        with torch.no_grad(), autocast(device.split(":")[0], bf16):
            for name, blocks in sets.items():
                nll, count = 0.0, 0
                by_length: dict[int, list] = {}
                for b in blocks:
                    by_length.setdefault(len(b), []).append(b)
                blocks_nll: dict[int, tuple[float, int]] = {}
                order = {id(b): i for i, b in enumerate(blocks)}
                for length, group in by_length.items():
                    for i in range(0, len(group), micro_batch):
                        x = torch.as_tensor(np.stack(group[i:i + micro_batch])).to(device)
                        if per_block is None:
                            loss = causal_lm_loss(model, x)
                            n = x.shape[0] * (length - 1)
                            nll += float(loss) * n
                            count += n
                            continue
                        for b, value in zip(group[i:i + micro_batch], block_losses(model, x)):
                            blocks_nll[order[id(b)]] = (value, length - 1)
                            nll += value * (length - 1)
                            count += length - 1
                if per_block is not None:
                    per_block[name] = [blocks_nll[i] for i in range(len(blocks))]
                if count:
                    out[ppl_key(name)] = round(math.exp(min(nll / count, 50.0)), 4)
    finally:
        model.train(was_training)
    return out


def block_losses(model, x) -> list[float]:
    """Each block's mean next-token NLL (the same cross-entropy as the model's own loss, per row)."""
    import torch.nn.functional as F

    logits = model(input_ids=x).logits[:, :-1].float()
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="none")
    return nll.view(x.shape[0], -1).mean(dim=1).tolist()


def _duration(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}" if h else f"{m}m{s:02d}s"


def run_dapt(studio, cfg: TrainConfig, job) -> dict:
    """Run (or resume) a train job: `cfg` is its config, `job` its Reporter (jobs.reporter). Returns the result
    stored on the job row: the model id, final metrics, throughput; or where it stopped when asked to stop."""
    with ExitStack() as closing:        # the experiment trackers are closed on every way out (trackers.py)
        return _run_dapt(studio, cfg, job, closing)


def _run_dapt(studio, cfg: TrainConfig, job, closing: ExitStack) -> dict:
    import torch
    from transformers import AutoTokenizer

    from backend.training.distributed import Dist
    from backend.training.output import save_model
    from backend.training.precision import resolve_precision
    from backend.training.validate import context_length, output_id, resolve_base, resolve_snapshot

    dist = Dist(cfg.strategy, job.torch_device)
    device, device_type = dist.device, dist.device_type
    threads = set_threads(cfg, device_type)
    precision = resolve_precision(cfg.precision, device_type)
    bf16 = precision == "bf16"
    if device_type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    base = resolve_base(studio.db, studio.home, cfg.base_model)
    remote = remote_code(studio.db, base)   # False unless an admin allowed this model's own code
    snap_row, manifest = resolve_snapshot(studio.db, cfg.snapshot)
    context = context_length(base)
    if context and cfg.block_size > context:
        raise TrainError(f"block_size {cfg.block_size} is above the context length of '{base['id']}' ({context})")
    tokenizer = AutoTokenizer.from_pretrained(base["path"], local_files_only=True, trust_remote_code=remote)

    job.progress(0.0, "preparing data")
    vocab = int(base.get("vocab_size") or len(tokenizer))
    try:
        streams, cache, cached = load_streams(
            Path(snap_row["path"]), tokenizer, max(vocab, len(tokenizer)), fallback_cache=job.job_dir / "tokens",
            should_stop=job.should_stop, log=job.log,
            progress=lambda f, m: job.progress(0.01 * f, m))
    except InterruptedError:
        return {"stopped_at_step": 0, "reason": "stopped while preparing data"}
    blocks = PackedBlocks(streams["train"], cfg.block_size)
    sampler = BlockSampler(blocks.n_blocks, cfg.seed, cfg.micro_batch_size, cfg.grad_accum, dist.world, dist.rank)
    cap = cfg.eval_batches * cfg.micro_batch_size
    eval_sets = {name: eval_blocks(s, cfg.block_size, cap) for name, s in streams.items()
                 if name != "train" and len(s) >= 2}
    data_stats = {**blocks.stats(), "token_cache": str(cache), "cache_hit": cached,
                  "eval_blocks": {k: len(v) for k, v in eval_sets.items()}}
    job.metric(stage="data", **data_stats, attempt=job.attempt)
    job.log(f"data: {data_stats['train_tokens']:,} training tokens → {blocks.n_blocks:,} blocks of {cfg.block_size} "
            f"(padding 0, {blocks.dropped_tokens} tail tokens left out); "
            f"{cfg.max_steps} steps = {sampler.epoch(cfg.max_steps):.2f} epochs"
            + (" (tokens from cache)" if cached else ""))

    compiling = compile_enabled(cfg, base.get("n_params") or model_parameters(Path(base["path"])))
    try:
        model = load_model(Path(base["path"]), cfg, device, compiling, trust_remote_code=remote)
    except (OSError, ValueError, RuntimeError) as exc:
        raise TrainError(f"base_model: '{base['id']}' cannot be loaded from {base['path']}: {exc}") from exc
    forward = dist.wrap(model)
    params = trainable_parameters(model)
    optimizer = make_optimizer(model, cfg)
    scheduler = make_scheduler(optimizer, cfg)
    if compiling:
        forward = compiled(forward)
    n_trainable = sum(p.numel() for p in params.values())
    n_total = sum(p.numel() for p in model.parameters())
    job.log(f"model {base['id']}: {n_total / 1e6:.1f}M parameters, {n_trainable / 1e6:.2f}M trainable ({cfg.method}); "
            f"{precision} on {device}" + (f" with {threads} threads" if device_type == "cpu" else "")
            + f"; attention {attention_for(cfg, device_type, compiling)}" + ("; torch.compile" if compiling else ""))
    if dist.world > 1:
        job.log(f"{dist.world} processes ({dist.strategy}), this one rank {dist.rank}")

    step, tokens_seen, train_seconds, resumed_from, last_eval, first_eval = 0, 0, 0.0, None, {}, {}
    state = ckpt.load_latest(job.checkpoints_dir, log=job.log)
    if state is not None:
        dist.load_states(model, optimizer, params, state["weights"], state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        ckpt.set_rng_state(state["rng"])
        meta = state["meta"]
        step, tokens_seen = int(meta["step"]), int(meta.get("tokens_seen", 0))
        train_seconds, last_eval = float(meta.get("train_seconds", 0.0)), meta.get("last_eval") or {}
        first_eval = meta.get("first_eval") or {}
        resumed_from = step
        dropped = ckpt.trim_metrics(job.job_dir, step) if dist.main else 0
        job.log(f"resumed from checkpoint {state['path'].name} (step {step}, {tokens_seen:,} tokens seen)"
                + (f"; {dropped} metric records after it dropped" if dropped else ""))
        job.metric(event="resumed", from_step=step, attempt=job.attempt)
        del state
    trackers = closing.enter_context(open_trackers(
        studio.settings, cfg, job.job_dir, run_name=output_id(cfg, base["id"], job.job_id), log=job.log,
        config=cfg.model_dump(mode="json"), attempt=job.attempt, start_step=step, main=dist.main))

    measured_at = None          # the step of the last perplexity measurement

    def run_eval(at_step: int) -> dict:
        nonlocal measured_at
        t = time.perf_counter()
        measured_at = at_step
        result = evaluate(model, eval_sets, cfg.micro_batch_size, device, bf16)
        if result:
            trackers.log(at_step, result)
            job.metric(step=at_step, **result, tokens_seen=tokens_seen, eval_s=round(time.perf_counter() - t, 2),
                       attempt=job.attempt)
            job.log(f"eval at step {at_step}: " + ", ".join(f"{k} {v:.2f}" for k, v in result.items()))
        return result

    def save(at_step: int) -> None:
        weights, optim_state = dist.states(model, optimizer, params)
        if not dist.main:
            return
        meta = {"tokens_seen": tokens_seen, "train_seconds": train_seconds, "epoch": sampler.epoch(at_step),
                "last_eval": last_eval, "first_eval": first_eval, "attempt": job.attempt,
                "data": {"seed": cfg.seed, "blocks": blocks.n_blocks, "next_sample": sampler.first_sample(at_step, 0)},
                "config": cfg.model_dump(mode="json")}
        try:
            path = ckpt.save_checkpoint(job.checkpoints_dir, at_step, weights, optim_state,
                                        scheduler.state_dict(), meta, cfg.keep_last)
            job.log(f"checkpoint {path.name} written")
        except OSError as exc:  # e.g. a full disk: the previous checkpoints are intact; training goes on
            job.log(f"WARNING: checkpoint at step {at_step} not written ({exc}); the previous ones are intact")
            job.metric(step=at_step, checkpoint_error=str(exc), attempt=job.attempt)

    kept = set(cfg.kept_steps)

    def gathered():
        """The model as one plain module on the main rank (FSDP: the full weights gathered into a CPU copy; every
        rank must call this), None on the others."""
        to_save = model
        if dist.strategy == "fsdp":
            full = dist.unwrap_for_save(model)
            if dist.main:
                to_save = load_model(Path(base["path"]), cfg, "cpu", trust_remote_code=remote)
                to_save.load_state_dict(full, strict=False)
        return getattr(to_save, "_orig_mod", to_save) if dist.main else None

    def keep(at_step: int) -> None:
        """A checkpoint kept for good: a complete Hugging Face folder registered as a model of kind 'checkpoint',
        with the perplexities measured at its own step (its best-checkpoint ranking needs them)."""
        nonlocal last_eval
        if eval_sets and measured_at != at_step:
            last_eval = run_eval(at_step)
        to_save = gathered()
        if to_save is None:
            return
        try:
            row = save_model(to_save, tokenizer, cfg=cfg, db=studio.db, home=studio.home,
                             model_id=f"{output_id(cfg, base['id'], job.job_id)}-step{at_step}", job_id=job.job_id,
                             base=base, snapshot_row=snap_row, manifest=manifest, metrics=dict(last_eval),
                             precision=precision, owner=job.owner, result={"tokens_seen": tokens_seen},
                             step=at_step)
        except OSError as exc:   # a full disk: the run goes on, the resumable checkpoints are intact
            job.log(f"WARNING: checkpoint model at step {at_step} not saved ({exc})")
            return
        job.metric(step=at_step, kept_checkpoint=row["id"], tokens_seen=tokens_seen, attempt=job.attempt)
        job.log(f"checkpoint at step {at_step} kept as model {row['id']}")
        follow.queue_for(studio, job, row["id"])

    if step == 0 and eval_sets:
        job.progress(0.01, "evaluating the base model")
        first_eval = last_eval = run_eval(0)

    stopped = False
    run_start = time.perf_counter()
    if compiling and step < cfg.max_steps:
        job.progress(0.01 + 0.97 * step / cfg.max_steps, "compiling the model (torch.compile): the first step takes "
                     "a minute or more")
    while step < cfg.max_steps:
        if dist.any(job.should_stop()):
            stopped = True
            break
        t0 = time.perf_counter()
        total = 0.0
        for micro in range(cfg.grad_accum):
            x = torch.from_numpy(blocks.gather(sampler.indices(step, micro))).to(device)
            with dist.sync_context(forward, model, micro == cfg.grad_accum - 1), autocast(device_type, bf16):
                loss = causal_lm_loss(forward, x)
            (loss / cfg.grad_accum).backward()
            total += loss.detach().float()
            if micro < cfg.grad_accum - 1 and dist.any(job.should_stop()):
                stopped = True
                break
        if stopped:
            optimizer.zero_grad(set_to_none=True)
            break
        grad_norm = torch.nn.utils.clip_grad_norm_(list(params.values()), cfg.max_grad_norm or float("inf"))
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = dist.mean(total / cfg.grad_accum)
        if not math.isfinite(loss_value):
            raise TrainError(f"the loss became {loss_value} at step {step + 1} (learning rate {lr:.3g} too high?); "
                           "the last checkpoint is intact")
        step += 1
        dt = time.perf_counter() - t0
        train_seconds += dt
        tokens_seen += cfg.micro_batch_size * cfg.grad_accum * cfg.block_size * dist.world
        tps = cfg.micro_batch_size * cfg.grad_accum * cfg.block_size * dist.world / dt
        trackers.log(step, job.metric(step=step, loss=loss_value, lr=lr, grad_norm=round(float(grad_norm), 6),
                                      tokens_per_s=round(tps, 1), tokens_seen=tokens_seen,
                                      epoch=round(sampler.epoch(step), 4), step_s=round(dt, 3), attempt=job.attempt))
        remaining = (time.perf_counter() - run_start) / max(1, step - (resumed_from or 0)) * (cfg.max_steps - step)
        job.progress(0.01 + 0.97 * step / cfg.max_steps,
                     f"step {step}/{cfg.max_steps} · loss {loss_value:.3f} · {tps:.0f} tok/s · ETA {_duration(remaining)}")
        if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.max_steps and eval_sets:
            last_eval = run_eval(step)
        if cfg.save_every and (step % cfg.save_every == 0 or step == cfg.max_steps):
            save(step)
        if step in kept:
            keep(step)

    summary = {"steps": step, "tokens_seen": tokens_seen, "precision": precision, "device": device,
               "train_seconds": round(train_seconds, 2), "padding_fraction": 0.0, "resumed_from": resumed_from,
               "tokens_per_s": round(tokens_seen / train_seconds, 1) if train_seconds else None}
    if stopped:
        done = ckpt.list_checkpoints(job.checkpoints_dir)
        job.log(f"stopped at step {step}; resume continues from "
                + (f"checkpoint step {done[-1][0]}" if done else "step 0 (no checkpoint yet)"))
        dist.close()
        return {**summary, "stopped_at_step": step, "checkpoint_step": done[-1][0] if done else None}

    optimizer.zero_grad(set_to_none=True)
    del optimizer, scheduler              # the optimizer states are no longer needed: memory for the final save
    job.progress(0.98, "final evaluation")
    final_eval = run_eval(step) if eval_sets else {}
    job.progress(0.99, "saving the model")
    model_id = output_id(cfg, base["id"], job.job_id)
    metrics = {**{f"initial_{k}": v for k, v in first_eval.items()}, **final_eval,
               "tokens_seen": tokens_seen, "steps": step}
    row = None
    to_save = gathered()
    if to_save is not None:
        row = save_model(to_save, tokenizer, cfg=cfg, db=studio.db, home=studio.home, model_id=model_id,
                         job_id=job.job_id, base=base, snapshot_row=snap_row, manifest=manifest, metrics=metrics,
                         precision=precision, owner=job.owner, result=summary)
        job.log(f"model saved as {row['id']} in {row['path']}")
        trackers.artifact(Path(row["path"]) / "README.md")
        follow.queue_for(studio, job, row["id"])
    dist.barrier()
    dist.close()
    kept = kept_checkpoints(read_metrics(job.job_dir), first_eval, {"step": step, "model_id": row["id"] if row
                                                                    else model_id, **final_eval}) if dist.main else {}
    return {**summary, **{k: v for k, v in final_eval.items()}, "initial": first_eval, **kept,
            "model_id": row["id"] if row else model_id, "model_path": row["path"] if row else None}


def measure_steps(model_folder: Path, cfg: TrainConfig, device: str = "cpu", steps: int = 3) -> float:
    """Tokens/s of `steps` optimizer steps (after one untimed warm-up step) of the configured model, method,
    precision and batch shape on random tokens: the "measured warm-up" time estimate."""
    import torch

    from backend.training.precision import resolve_precision

    device_type = "cuda" if device.startswith("cuda") else "cpu"
    set_threads(cfg, device_type)
    bf16 = resolve_precision(cfg.precision, device_type) == "bf16"
    compiling = cfg.compile == "on"      # a warm-up of a few steps measures eager unless asked (compiling takes long)
    model = load_model(Path(model_folder), cfg, device, compiling)
    params = trainable_parameters(model)
    optimizer = make_optimizer(model, cfg)
    forward = compiled(model) if compiling else model
    vocab = model.config.vocab_size if hasattr(model.config, "vocab_size") else model.config.get_text_config().vocab_size
    generator = torch.Generator().manual_seed(cfg.seed)
    sync = torch.cuda.synchronize if device_type == "cuda" else (lambda: None)
    timed = 0.0
    for i in range(steps + 1):
        t0 = time.perf_counter()
        for _ in range(cfg.grad_accum):
            x = torch.randint(0, vocab, (cfg.micro_batch_size, cfg.block_size), generator=generator).to(device)
            with autocast(device_type, bf16):
                loss = causal_lm_loss(forward, x)
            (loss / cfg.grad_accum).backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), cfg.max_grad_norm or float("inf"))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync()
        if i:
            timed += time.perf_counter() - t0
    return steps * cfg.micro_batch_size * cfg.grad_accum * cfg.block_size / timed
