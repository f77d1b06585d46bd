"""What a train config refers to (the base model, the snapshot) and the checks run before a job is queued:
`check(db, home, cfg)` is the `train` job kind's pre-launch check; every refusal is a JobError whose message the UI
and the CLI show as is."""
from __future__ import annotations

import json
from pathlib import Path

from backend.training.config import TrainConfig
from jobs.store import JobError

GIB = 1024 ** 3


def resolve_base(db, home: Path, name: str) -> dict:
    """The registered model row for `name`. The offline default model is registered on first use when its folder
    is already converted (the registry may predate it)."""
    from backend.models.registry import ModelError, get_model

    try:
        row = get_model(db, name)
    except ModelError as exc:
        from backend.default_model import DEFAULT_MODEL_NAME, default_model_dir, is_complete

        if name not in ("default", DEFAULT_MODEL_NAME) or not is_complete(default_model_dir(home)):
            raise JobError(f"base_model: {exc}") from None
        from backend.models.importing import register_default

        row = register_default(db, home)
    if row.get("status") not in (None, "ok"):
        raise JobError(f"base_model: '{row['id']}' cannot be used: {row.get('error') or row['status']}")
    from backend.models.inspect import inspect_folder
    from backend.models.registry import ModelError

    try:  # headers and sizes only (no weight is loaded): a missing, truncated or corrupt folder is refused here
        inspect_folder(Path(row["path"]))
    except ModelError as exc:
        raise JobError(f"base_model: '{row['id']}' cannot be used: {exc}") from None
    return row


def model_config(row: dict) -> dict:
    try:
        return json.loads((Path(row["path"]) / "config.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise JobError(f"base_model: cannot read config.json of '{row['id']}': {exc}") from None


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
        raise JobError(f"snapshot: unknown snapshot '{snap_id}' (built: {', '.join(known) or 'none'}; build one "
                       "in the Corpus tab or with `python -m backend corpus build`)")
    folder = Path(row["path"])
    if not (folder / "train.parquet").is_file():
        raise JobError(f"snapshot: '{snap_id}' has no train.parquet in {folder}")
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    return row, manifest


def output_id(cfg: TrainConfig, base_id: str, job_id: str | None) -> str:
    from backend.models.registry import slug

    return slug(cfg.output_name) if cfg.output_name else slug(f"{base_id}-dapt-{job_id or 'run'}")


def commercial_use(base_row: dict, snapshot_row: dict) -> bool:
    """A DAPT model may be used commercially only when both its base and its training data allow it."""
    base_ok = base_row.get("commercial_use")
    return (True if base_ok is None else bool(base_ok)) and bool(snapshot_row.get("commercial_use"))


def check(db, home: Path, cfg: TrainConfig, devices: list[str] | None = None) -> dict:
    """Refuse (JobError) a config that cannot run: unknown model or snapshot, a block longer than the model's
    context, an output name already taken, too little text for one block, LoRA targets the model lacks, or a
    memory need that fits none of the devices (`devices`: default the CPU and the GPUs nvidia-smi lists).
    Returns the estimate (for the UI) when it passes."""
    from backend.training import estimate as est

    base = resolve_base(db, home, cfg.base_model)
    config = model_config(base)
    context = context_length(base, config)
    if context and cfg.block_size > context:
        raise JobError(f"block_size: {cfg.block_size} is above the context length of '{base['id']}' ({context} "
                       "tokens): choose at most that")
    snap_row, _manifest = resolve_snapshot(db, cfg.snapshot)
    n_tokens = int(snap_row.get("n_tokens") or 0)
    if n_tokens and n_tokens < cfg.block_size:
        raise JobError(f"snapshot: '{cfg.snapshot}' holds about {n_tokens:,} training tokens, less than one block of "
                       f"{cfg.block_size}: choose a smaller block_size or a larger snapshot")
    if cfg.output_name:
        from backend.models.registry import slug

        if slug(cfg.output_name) != cfg.output_name.strip().lower():
            raise JobError(f"output_name: '{cfg.output_name}' would be stored as '{slug(cfg.output_name)}': use "
                           "lower-case letters, digits, '-' and '.' only")
        taken = db["models"].exists() and next(iter(db["models"].rows_where("id = ?", [slug(cfg.output_name)])), None)
        if taken or (Path(home) / "models" / slug(cfg.output_name)).exists():
            raise JobError(f"output_name: a model named '{slug(cfg.output_name)}' already exists: choose another")
    if cfg.method == "lora" and "all-linear" not in cfg.lora_target_modules:
        _check_lora_targets(base, config, cfg.lora_target_modules)
    shape = est.model_shape(config, base.get("n_params"))
    if devices is None:
        devices = local_devices()
    result = est.estimate(shape, cfg, devices, home=None)
    fitting = [d for d, e in result["devices"].items() if e["fits"] is not False]
    if not fitting:
        parts = [f"{d}: {e['memory']['total'] / GIB:.1f} GiB needed, {e['device_memory']['available'] / GIB:.1f} GiB "
                 "available" for d, e in result["devices"].items()]
        hint = "" if cfg.gradient_checkpointing else " or turn on gradient_checkpointing"
        raise JobError(f"micro_batch_size: a micro-batch of {cfg.micro_batch_size} × {cfg.block_size} tokens does not "
                       f"fit in memory ({'; '.join(parts)}): lower micro_batch_size (raise grad_accum to keep the "
                       f"tokens per step){hint}")
    return result


def local_devices() -> list[str]:
    """The CPU and the GPUs nvidia-smi lists (limited by CUDA_VISIBLE_DEVICES); no torch import, no CUDA context."""
    import os
    import subprocess

    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=15)
    except (OSError, subprocess.SubprocessError):
        return ["cpu"]
    gpus = [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        gpus = [g for g in visible.split(",") if g.strip() and not g.strip().startswith("-")][:len(gpus)]
    return [f"cuda:{i}" for i in range(len(gpus))] + ["cpu"]


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
        raise JobError(f"lora_target_modules: '{base['id']}' has no module named {', '.join(missing)} "
                       f"(try ['all-linear'])")
