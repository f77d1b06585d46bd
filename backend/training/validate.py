"""What a train config refers to (the base model, the snapshot) and the checks run before a job is queued:
`check(db, home, cfg)` is the `train` job kind's pre-launch check; every refusal is a TrainError whose message the UI
and the CLI show as is."""
from __future__ import annotations

import json
from pathlib import Path

from backend.training.config import TrainConfig
from backend.errors import TrainError

GIB = 1024 ** 3


def resolve_base(db, home: Path, name: str) -> dict:
    """The registered, readable model row for `name` (the offline default is registered on first use)."""
    from backend.models.resolve import resolve_model

    return resolve_model(db, name, role="base_model", home=home, error=TrainError)


def model_config(row: dict) -> dict:
    try:
        return json.loads((Path(row["path"]) / "config.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainError(f"base_model: cannot read config.json of '{row['id']}': {exc}") from None


def context_length(row: dict, config: dict | None = None) -> int | None:
    if row.get("context_length"):
        return int(row["context_length"])
    config = config or model_config(row)
    c = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    value = c.get("max_position_embeddings") or c.get("n_positions")
    return int(value) if value else None


def resolve_snapshot(db, snap_id: str) -> tuple[dict, dict]:
    """(registry row, manifest) of a built snapshot."""
    from backend.corpus.snapshot import existing_snapshot, list_snapshots

    row = existing_snapshot(db, snap_id)
    if row is None:
        known = [r["id"] for r in list_snapshots(db)][:8]
        raise TrainError(f"snapshot: unknown snapshot '{snap_id}' (built: {', '.join(known) or 'none'}; build one "
                       "in the Corpus tab or with `python -m backend corpus build`)")
    folder = Path(row["path"])
    if not (folder / "train.parquet").is_file():
        raise TrainError(f"snapshot: '{snap_id}' has no train.parquet in {folder}")
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    return row, manifest


def output_id(cfg: TrainConfig, base_id: str, job_id: str | None) -> str:
    from backend.models.registry import slug

    return slug(cfg.output_name) if cfg.output_name else slug(f"{base_id}-dapt-{job_id or 'run'}")


def commercial_use(base_row: dict, snapshot_row: dict) -> bool:
    """A DAPT model may be used commercially only when both its base and its training data allow it."""
    from backend.lineage import model_allowed

    return model_allowed(base_row, snapshot_row)


def check(db, home: Path, cfg: TrainConfig, devices: list[str] | None = None) -> dict:
    """Refuse (TrainError) a config that cannot run: unknown model or snapshot, a block longer than the model's
    context, an output name already taken, too little text for one block, LoRA targets the model lacks, or a
    memory need that fits none of the devices (`devices`: default the CPU and the GPUs nvidia-smi lists).
    Returns the estimate (for the UI) when it passes."""
    from backend.training import estimate as est

    base = resolve_base(db, home, cfg.base_model)
    config = model_config(base)
    context = context_length(base, config)
    if context and cfg.block_size > context:
        raise TrainError(f"block_size: {cfg.block_size} is above the context length of '{base['id']}' ({context} "
                       "tokens): choose at most that")
    snap_row, _manifest = resolve_snapshot(db, cfg.snapshot)
    n_tokens = int(snap_row.get("n_tokens") or 0)
    if n_tokens and n_tokens < cfg.block_size:
        raise TrainError(f"snapshot: '{cfg.snapshot}' holds about {n_tokens:,} training tokens, less than one block of "
                       f"{cfg.block_size}: choose a smaller block_size or a larger snapshot")
    if cfg.output_name:
        from backend.models.registry import slug

        if slug(cfg.output_name) != cfg.output_name.strip().lower():
            raise TrainError(f"output_name: '{cfg.output_name}' would be stored as '{slug(cfg.output_name)}': use "
                           "lower-case letters, digits, '-' and '.' only")
        taken = db["models"].exists() and next(iter(db["models"].rows_where("id = ?", [slug(cfg.output_name)])), None)
        if taken or (Path(home) / "models" / slug(cfg.output_name)).exists():
            raise TrainError(f"output_name: a model named '{slug(cfg.output_name)}' already exists: choose another")
    if cfg.method == "lora" and "all-linear" not in cfg.lora_target_modules:
        _check_lora_targets(base, config, cfg.lora_target_modules)
    shape = est.model_shape(config, base.get("n_params"))
    if devices is None:
        from jobs.devices import local_devices

        devices = local_devices()
    result = est.estimate(shape, cfg, devices, home=None)
    fitting = [d for d, e in result["devices"].items() if e["fits"] is not False]
    if not fitting:
        parts = [f"{d}: {e['memory']['total'] / GIB:.1f} GiB needed, {e['device_memory']['available'] / GIB:.1f} GiB "
                 "available" for d, e in result["devices"].items()]
        hint = "" if cfg.gradient_checkpointing else " or turn on gradient_checkpointing"
        raise TrainError(f"micro_batch_size: a micro-batch of {cfg.micro_batch_size} × {cfg.block_size} tokens does not "
                       f"fit in memory ({'; '.join(parts)}): lower micro_batch_size (raise grad_accum to keep the "
                       f"tokens per step){hint}")
    return result


def _check_lora_targets(base: dict, config: dict, targets: list[str]) -> None:
    """The targets must name modules the model has (read from the weight names in the safetensors headers)."""
    from backend.models.inspect import read_safetensors_header, weight_files

    try:
        names = set()
        for f in weight_files(Path(base["path"])):
            if f.suffix == ".safetensors":
                names |= {k for k in read_safetensors_header(f) if k != "__metadata__"}
    except Exception:  # unreadable headers: peft will say so at run time
        return
    if not names:
        return
    modules = {part for name in names for part in name.split(".")}
    missing = [t for t in targets if t not in modules]
    if missing:
        raise TrainError(f"lora_target_modules: '{base['id']}' has no module named {', '.join(missing)} "
                       f"(try ['all-linear'])")
