"""Loaded models kept in memory under a budget, least recently used unloaded first. Models in use by a running
generation are pinned: they are never unloaded under it, and a budget too small for the models needed at once is
refused with a clear message instead of going over it.

Always on the CPU: the app process never creates a CUDA context (see stream.py)."""
from __future__ import annotations

import gc
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from backend.generation.config import GenerationError

MB = 2**20


@dataclass
class LoadedModel:
    model_id: str
    row: dict
    model: object
    tokenizer: object
    bytes: int
    load_s: float
    last_used: float = field(default_factory=time.time)
    pins: int = 0


def estimate_bytes(row: dict) -> int:
    """Memory of a model loaded in float32 on the CPU, from the registry (no weight read)."""
    if row.get("n_params"):
        return int(row["n_params"]) * 4
    return int(row.get("size_bytes") or 0) * 2  # weights on disk in 16 bits at worst, loaded in 32


def _load(row: dict) -> tuple[object, object]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(row["path"])
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True,
                                                 trust_remote_code=False, device_map=None)
    return model.eval(), tokenizer


def model_bytes(model) -> int:
    tensors = {id(t): t for t in list(model.parameters()) + list(model.buffers())}  # tied weights once
    return sum(t.numel() * t.element_size() for t in tensors.values())


class ModelCache:
    """Loaded models within a memory budget, and the torch threads each generation worker uses (`threads`, 0: every
    core): both the operator's settings, the same for every user of the process."""

    def __init__(self, budget_mb: int = 4096, loader=_load, threads: int = 1):
        self.budget = int(budget_mb) * MB
        self.threads = int(threads)
        self._loader = loader
        self._models: OrderedDict[tuple[str, str], LoadedModel] = OrderedDict()  # oldest first
        self._lock = threading.RLock()
        self.evicted: list[str] = []  # model ids, in the order they were unloaded (shown in the UI, read by tests)

    def set_budget(self, budget_mb: int) -> None:
        with self._lock:
            self.budget = int(budget_mb) * MB
            self._make_room(0)

    @property
    def used(self) -> int:
        return sum(m.bytes for m in self._models.values())

    def loaded(self) -> list[dict]:
        """What is in memory, most recently used first."""
        with self._lock:
            return [{"model": m.model_id, "mb": round(m.bytes / MB, 1), "last_used": m.last_used,
                     "in_use": m.pins > 0, "load_s": round(m.load_s, 2)} for m in reversed(self._models.values())]

    @contextmanager
    def use(self, db: sqlite_utils.Database, model_id: str):
        """The loaded model (loading it if needed), pinned for the duration of the block."""
        entry = self.acquire(db, model_id)
        try:
            yield entry
        finally:
            self.release(entry)

    def acquire(self, db: sqlite_utils.Database, model_id: str) -> LoadedModel:
        from backend.models.resolve import resolve_model

        row = resolve_model(db, model_id, error=GenerationError, check_files=False)
        key = (row["id"], row.get("content_hash") or "")
        with self._lock:  # one load at a time: the budget is checked against what is really loaded
            entry = self._models.get(key)
            if entry is None:
                entry = self._load_entry(row, key)  # comes pinned
            else:
                entry.pins += 1
            self._models.move_to_end(key)
            entry.last_used = time.time()
            return entry

    def release(self, entry: LoadedModel) -> None:
        with self._lock:
            entry.pins = max(0, entry.pins - 1)
            entry.last_used = time.time()
            self._make_room(0)  # a lowered budget takes effect once the models are free

    def clear(self) -> None:
        with self._lock:
            for key in [k for k, m in self._models.items() if m.pins == 0]:
                self._unload(key)

    def _load_entry(self, row: dict, key) -> LoadedModel:
        need = estimate_bytes(row)
        if need > self.budget:
            raise GenerationError(f"model '{row['id']}' needs about {need / MB:,.0f} MB, more than the memory budget "
                                  f"for loaded models ({self.budget / MB:,.0f} MB): the operator can raise it "
                                  "(--generate-memory-mb)")
        self._make_room(need)
        if self.used + need > self.budget:
            busy = ", ".join(m.model_id for m in self._models.values() if m.pins)
            raise GenerationError(f"memory budget too small for these models at once: '{row['id']}' needs about "
                                  f"{need / MB:,.0f} MB and {busy} (in use) hold {self.used / MB:,.0f} MB of "
                                  f"{self.budget / MB:,.0f} MB: compare fewer models (the operator can raise the "
                                  "budget: --generate-memory-mb)")
        start = time.perf_counter()
        try:
            model, tokenizer = self._loader(row)
        except Exception as exc:  # noqa: BLE001 - any loading failure becomes one clear line for its pane
            text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise GenerationError(f"cannot load model '{row['id']}': {text}") from None
        entry = LoadedModel(row["id"], row, model, tokenizer, model_bytes(model), time.perf_counter() - start, pins=1)
        self._models[key] = entry
        self._make_room(0)  # the estimate may have been low
        return entry

    def _make_room(self, need: int) -> None:
        for key in list(self._models):  # oldest first
            if self.used + need <= self.budget:
                break
            if self._models[key].pins == 0:
                self._unload(key)

    def _unload(self, key) -> None:
        entry = self._models.pop(key)
        self.evicted.append(entry.model_id)
        del entry
        gc.collect()


_shared: ModelCache | None = None
_shared_lock = threading.Lock()


def unload_all(db, cache: ModelCache, actor: str | None) -> list[str]:
    """Unload every model no generation is using, for everyone: an admin's action (audited). The ids unloaded."""
    from frbio_core import users

    users.require_admin(db, actor, "unload the models loaded for everyone", "generation cache")
    before = [m["model"] for m in cache.loaded()]
    cache.clear()
    gone = [m for m in before if m not in {x["model"] for x in cache.loaded()}]
    users.audit(db, actor, "unload_models", "generation cache", models=gone)
    return gone


def shared_cache(settings) -> ModelCache:
    """The process-wide cache (the app's generation and arena tabs share it), sized by the operator's settings."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ModelCache(settings.generate_memory_mb, threads=settings.generate_threads)
        elif settings.generate_memory_mb * MB != _shared.budget:
            _shared.set_budget(settings.generate_memory_mb)
        _shared.threads = settings.generate_threads
        return _shared
