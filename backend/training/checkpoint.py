"""Resumable checkpoints in a job's `checkpoints/` folder: `step-00000040/` holding the trainable weights
(`weights.safetensors`: every parameter for full training, the adapters for LoRA), `state.pt` (optimizer and
scheduler states, RNG states) and `checkpoint.json` (step, tokens seen, data position, last metrics).

A checkpoint is written into a hidden temporary folder, flushed to disk, and renamed into place, `checkpoint.json`
last: a kill or a full disk in the middle leaves the previous checkpoints untouched and at most a temporary folder,
removed at the next start. Only folders with `checkpoint.json` count; when the newest cannot be read, the one before
it is used. The last `keep_last` are kept.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import uuid
from pathlib import Path
from typing import Callable

import numpy as np
from frbio_core.files import swap_folder
from jobs.folders import METRICS_FILE

MARKER = "checkpoint.json"
WEIGHTS = "weights.safetensors"
STATE = "state.pt"
NAME = re.compile(r"^step-(\d{8})$")


def step_dir(folder: Path, step: int) -> Path:
    return Path(folder) / f"step-{step:08d}"


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints (with their marker), oldest first."""
    out = []
    if Path(folder).is_dir():
        for entry in Path(folder).iterdir():
            match = NAME.match(entry.name)
            if match and (entry / MARKER).is_file():
                out.append((int(match.group(1)), entry))
    return sorted(out)


def remove_stale(folder: Path) -> None:
    """Temporary folders left by a write that was killed (or hit a full disk)."""
    if Path(folder).is_dir():
        for entry in Path(folder).iterdir():
            if entry.name.startswith(".tmp-") or entry.name.startswith(".old-"):
                shutil.rmtree(entry, ignore_errors=True)


def rng_state() -> dict:
    import torch

    state = {"torch": torch.get_rng_state(), "python": _jsonable(random.getstate()),
             "numpy": _jsonable(np.random.get_state())}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    random.setstate(_tupled(state["python"]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def _tupled(value):
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(folder: Path, step: int, weights: dict, optimizer_state: dict, scheduler_state: dict,
                    meta: dict, keep_last: int, write_weights: Callable | None = None) -> Path:
    """Write the checkpoint of `step` atomically and prune to the last `keep_last`. Raises OSError (the previous
    checkpoints intact) when it cannot be written."""
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-step-{step:08d}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    final = step_dir(folder, step)
    tmp.mkdir()
    try:
        (write_weights or save_file)({k: v.detach().contiguous().cpu() for k, v in weights.items()}, str(tmp / WEIGHTS))
        torch.save({"optimizer": optimizer_state, "scheduler": scheduler_state, "rng": rng_state()}, tmp / STATE)
        (tmp / MARKER).write_text(json.dumps({"step": step, **meta}, indent=1, default=str), "utf-8")
        for name in (WEIGHTS, STATE, MARKER):
            _fsync(tmp / name)
        swap_folder(tmp, final, after_rename=lambda: _fsync(folder))   # the same step again (a resume): swapped
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    prune(folder, keep_last)
    return final


def prune(folder: Path, keep_last: int) -> list[Path]:
    removed = []
    for _, path in list_checkpoints(folder)[:-keep_last] if keep_last > 0 else []:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def load_checkpoint(path: Path) -> dict:
    """{'meta', 'weights', 'optimizer', 'scheduler', 'rng'} of one checkpoint folder."""
    import torch
    from safetensors.torch import load_file

    meta = json.loads((path / MARKER).read_text("utf-8"))
    weights = load_file(str(path / WEIGHTS))
    state = torch.load(path / STATE, map_location="cpu", weights_only=True)
    return {"meta": meta, "weights": weights, **state, "path": path}


def load_latest(folder: Path, log: Callable[[str], None] = print) -> dict | None:
    """The newest readable checkpoint (an unreadable one is reported and skipped), or None."""
    remove_stale(folder)
    for step, path in reversed(list_checkpoints(folder)):
        try:
            return load_checkpoint(path)
        except Exception as exc:  # noqa: BLE001 — a damaged checkpoint: fall back to the previous one
            log(f"checkpoint {path.name} cannot be read ({type(exc).__name__}: {exc}); trying the previous one")
    return None


def trim_metrics(job_dir: Path, after_step: int) -> int:
    """Drop the step records after `after_step` (left by an interrupted attempt that is redone from a checkpoint),
    so the curves do not double back. Returns how many were dropped."""
    path = Path(job_dir) / METRICS_FILE
    if not path.is_file():
        return 0
    kept, dropped = [], 0
    for line in path.read_text("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            dropped += 1
            continue
        if isinstance(record.get("step"), int) and record["step"] > after_step:
            dropped += 1
            continue
        kept.append(line)
    if dropped:
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text("".join(k + "\n" for k in kept), "utf-8")
        os.replace(tmp, path)
    return dropped
