"""The trained model as a Hugging Face folder under `<home>/models/<id>`, with its model card, registered with its
lineage (parent: the base model; the snapshot it was trained on; commercial use only when both allow it).

LoRA: the adapter is merged into the base weights for the saved model (any tool loads it as a plain model) and
also kept on its own in `adapter/` (peft format). The folder is built in a hidden sibling and renamed into place.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from backend.training.config import TrainConfig
from frbio_core.files import swap_folder, temp_sibling

MARKER = "frbio_model.json"
CARD_HYPERPARAMETERS = ("method", "learning_rate", "lr_scheduler", "warmup_steps", "weight_decay", "max_grad_norm",
                        "max_steps", "micro_batch_size", "grad_accum", "block_size", "precision",
                        "gradient_checkpointing", "seed")


def _free_folder(db, models: Path, model_id: str, job_id: str | None) -> tuple[str, Path]:
    """`models/<id>`, or `<id>-2`, … when another model holds that name or id (a folder this same job wrote before,
    e.g. a run resumed after its model was saved, is replaced)."""
    from backend.models.registry import find_model

    for n in range(1, 1000):
        candidate = model_id if n == 1 else f"{model_id}-{n}"
        folder = models / candidate
        row = find_model(db, candidate)
        if row is not None and not (job_id and row.get("job_id") == job_id):
            continue
        if not folder.exists():
            return candidate, folder
        try:
            owner = json.loads((folder / MARKER).read_text("utf-8")).get("job_id")
        except (OSError, ValueError):
            owner = None
        if job_id and owner == job_id:
            return candidate, folder
    raise OSError(f"no free model folder name for {model_id} in {models}")


def save_model(model, tokenizer, *, cfg: TrainConfig, db, home: Path, model_id: str, job_id: str | None,
               base: dict, snapshot_row: dict, manifest: dict, metrics: dict, precision: str, owner: str | None = None,
               result: dict | None = None, step: int | None = None) -> dict:
    """Save `model` (a plain or peft model, already unwrapped) and register it; returns the registry row. With
    `step`, a checkpoint kept during the run: registered as kind 'checkpoint' with its step and tokens seen, and
    `model` (still training) left as it is: a LoRA model is merged in a copy, the weights cast in a copy."""
    import torch

    from backend.models.cards import write_model_card
    from backend.models.registry import register_model
    from backend.lineage import sentence
    from backend.training.validate import commercial_use

    models = Path(home) / "models"
    models.mkdir(parents=True, exist_ok=True)
    model_id, final = _free_folder(db, models, model_id, job_id)
    tmp = temp_sibling(final)
    tmp.mkdir()
    kind = "dapt" if step is None else "checkpoint"
    try:
        if cfg.method == "lora":
            model.save_pretrained(tmp / "adapter")
            if step is not None:
                import copy

                model = copy.deepcopy(model)
            model = model.merge_and_unload()
        dtype = str(base.get("dtype") or "float32")
        cast = getattr(torch, dtype) if dtype in ("bfloat16", "float16") else None   # stored as the base was
        use_cache, model.config.use_cache = model.config.use_cache, True
        try:
            if step is None:
                model = model.to(cast) if cast else model   # training kept fp32 master weights; it is over
                model.save_pretrained(tmp)
            else:
                model.save_pretrained(tmp, state_dict={k: v.detach().to("cpu", cast or v.dtype)
                                                       for k, v in model.state_dict().items()})
        finally:
            model.config.use_cache = use_cache
        tokenizer.save_pretrained(tmp)
        allowed = commercial_use(base, snapshot_row)
        hyper = {k: getattr(cfg, k) for k in CARD_HYPERPARAMETERS}
        if cfg.method == "lora":
            hyper |= {"lora_r": cfg.lora_r, "lora_alpha": cfg.lora_alpha, "lora_dropout": cfg.lora_dropout,
                      "lora_target_modules": ", ".join(cfg.lora_target_modules)}
        tokens_seen = (result or {}).get("tokens_seen")
        hyper |= {"precision": precision, "tokens_per_step": cfg.tokens_per_step, "tokens_seen": tokens_seen}
        if step is not None:
            hyper["checkpoint_step"] = step
        write_model_card(
            tmp, title=model_id, parents=[base], relation="finetune", license=base.get("license"),
            method="dapt-lora" if cfg.method == "lora" else "dapt",
            snapshot={"id": manifest.get("id") or cfg.snapshot, "commercial_use": bool(snapshot_row.get("commercial_use")),
                      "licenses": manifest.get("licenses") or []},
            hyperparameters=hyper, metrics=metrics,
            description=((f"Checkpoint at step {step} of {cfg.max_steps} ({tokens_seen:,} tokens seen) of the "
                          if step is not None else "")
                         + ("d" if step is not None else "D")
                         + f"omain-adaptive pre-training (causal LM, packed {cfg.block_size}-token blocks) of "
                         f"`{base['id']}` on the French biomedical corpus snapshot `{cfg.snapshot}`, by FrBio Studio"
                         + (f" (job {job_id})" if job_id else "") + "."
                         + " " + sentence(allowed, "dapt")))
        (tmp / MARKER).write_text(json.dumps({
            "name": model_id, "kind": kind, "job_id": job_id, "base_model": base["id"], "step": step,
            "snapshot_id": cfg.snapshot, "license": base.get("license"), "commercial_use": allowed,
            "source": f"job:{job_id}" if job_id else "dapt"}, indent=1) + "\n", "utf-8")
        swap_folder(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return register_model(db, final, model_id=model_id, name=model_id, kind=kind,
                          origin=f"job:{job_id}" if job_id else "dapt", parents=[base["id"]],
                          snapshot_id=cfg.snapshot, license=base.get("license"), commercial_use=allowed,
                          job_id=job_id, owner=owner,
                          extra={"step": step if step is not None else (result or {}).get("steps"),
                                 "tokens_seen": tokens_seen})
