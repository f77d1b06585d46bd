"""The registry of job kinds. A feature declares its kind next to its code (e.g. `backend/training/job.py`):

    @register("train", config=TrainConfig, devices=("cuda", "cpu"), check=check, resources=resources,
              cooperative=True, curves=CURVES)
    def run(context, cfg: TrainConfig, job: Reporter) -> dict: ...

- `config`: the pydantic class validated at submit time (and again in the worker);
- `check(context, cfg)`: the pre-launch check, raising a UserError with the reason; run before a row is written;
- `resources(context, cfg) -> Resources`: what the job needs (device types, GPUs, strategy, precision, FSDP wrap
  class), so no launcher reads a feature's fields by name;
- `run(context, cfg, job)`: the runner, executed by the worker; `job` is the Reporter (progress, log, metrics,
  checkpoint folder, cancellation); the return value is the job's result (JSON);
- `curves`: (metric, label) pairs the job panels draw from its metrics.jsonl.

`context` is opaque here: whatever the feature layer registers with `set_context_factory` (the app's Studio), made
in the worker from the job's settings. The runtime imports no feature: the scheduler hands its workers the modules
that registered kinds (FRBIO_JOB_KIND_MODULES), and the worker imports them.
"""
from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from pydantic import BaseModel

from frbio_core.config import parse_config
from jobs.store import JobError

KINDS: dict[str, "JobKind"] = {}
MODULES_ENV = "FRBIO_JOB_KIND_MODULES"
STRATEGIES = ("ddp", "fsdp")
PRECISIONS = ("bf16", "fp16", "no")
_context_factory: list[Callable[[Any], Any]] = []
_context_module: list[str] = []


@dataclass(frozen=True)
class Resources:
    """What one job needs from a launcher, as the feature answers it."""
    devices: tuple[str, ...] = ("cpu",)   # device types it can use, preferred first: ("cuda", "cpu")
    gpus: int = 1                         # processes (one GPU each) when it runs on GPUs; 1: one plain worker
    strategy: str = "ddp"                 # 'ddp' or 'fsdp' (several GPUs)
    mixed_precision: str = "bf16"         # accelerate's mixed_precision: 'bf16', 'fp16' or 'no'
    fsdp_wrap: str | None = None          # the layer class FSDP wraps one at a time (e.g. 'Qwen3DecoderLayer')
    fsdp_state_dict: str = "FULL_STATE_DICT"
    # what a cluster job of this kind asks for by default (Slurm: --cpus-per-task, --mem, --time), each capped at
    # what the partition's nodes offer; the settings (app-wide) and a job's own asks override them
    cpus: int = 4
    mem: str = "16G"
    time: str = "4:00:00"

    def __post_init__(self):
        if int(self.gpus) < 1:
            raise JobError(f"num_gpus: must be at least 1, got {self.gpus}")
        if self.strategy not in STRATEGIES:
            raise JobError(f"strategy: '{self.strategy}' is not one of {', '.join(STRATEGIES)}")
        if self.mixed_precision not in PRECISIONS:
            raise JobError(f"precision: '{self.mixed_precision}' is not one of {', '.join(PRECISIONS)}")

    def uses_gpus(self) -> bool:
        return "cuda" in self.devices


ASK_RE = {"cpus": re.compile(r"^[1-9]\d{0,3}$"), "mem": re.compile(r"^[1-9]\d*[KMGT]?$"),
          "time": re.compile(r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$")}
ASK_HELP = {"cpus": "a number of CPU cores, e.g. 8", "mem": "a size such as 32G or 16000M",
            "time": "a wall-clock limit such as 2:00:00 or 1-12:00:00"}


def check_asks(asks: dict | None) -> dict:
    """A job's own cluster asks ({cpus, mem, time}, empty values dropped), each checked; JobError naming a bad one."""
    out = {}
    for key, value in (asks or {}).items():
        if value in (None, ""):
            continue
        if key not in ASK_RE:
            raise JobError(f"resources: unknown ask '{key}' (known: {', '.join(ASK_RE)})")
        text = str(value).strip().upper() if key == "mem" else str(value).strip()
        if not ASK_RE[key].match(text):
            raise JobError(f"resources: {key} '{value}' is not {ASK_HELP[key]}")
        out[key] = int(text) if key == "cpus" else text
    return out


@dataclass(frozen=True)
class JobKind:
    name: str
    config: type[BaseModel]
    run: Callable[[Any, Any, Any], dict | None]
    devices: tuple[str, ...] = ("cpu",)
    cooperative: bool = False   # True: the runner polls job.should_stop() and returns; False: SIGTERM raises
                                # JobCancelled wherever the runner is
    check: Callable[[Any, BaseModel], None] | None = None
    resources_of: Callable[[Any, BaseModel], Resources] | None = field(default=None, compare=False)
    title: str = ""
    curves: tuple[tuple[str, str], ...] = ()
    cluster: tuple[tuple[str, Any], ...] = ()   # the kind's cluster defaults: (('cpus', 8), ('mem', '64G'), …)

    def validate(self, config: Any) -> BaseModel:
        """The config as the kind's config object; JobError naming the invalid fields otherwise."""
        return parse_config(self.config, config, f"{self.name} config", JobError)

    def resources(self, context: Any, cfg: BaseModel) -> Resources:
        found = self.resources_of(context, cfg) if self.resources_of is not None else Resources()
        return replace(found, devices=self.devices, **dict(self.cluster))


def register(name: str, *, config: type[BaseModel], devices: tuple[str, ...] = ("cpu",), cooperative: bool = False,
             check: Callable | None = None, resources: Callable | None = None, title: str = "",
             curves: tuple | list = (), cluster: dict | None = None) -> Callable:
    """Decorator: register `fn(context, cfg, job) -> dict | None` as the runner of job kind `name`. `cluster`:
    what one job of the kind asks a cluster for by default ({cpus, mem, time}; Resources' defaults otherwise)."""
    unknown = set(cluster or {}) - {"cpus", "mem", "time"}
    if unknown:
        raise ValueError(f"cluster defaults of {name}: unknown {', '.join(sorted(unknown))}")

    def decorate(fn: Callable) -> Callable:
        KINDS[name] = JobKind(name, config, fn, tuple(devices), cooperative, check, resources, title or name,
                              tuple(tuple(c) for c in curves), tuple((cluster or {}).items()))
        return fn
    return decorate


def set_context_factory(factory: Callable[[Any], Any]) -> None:
    """What runners, checks and resource answers get as `context`: `factory(settings)` (the feature layer's
    Studio). Called at import by the module that gathers the feature kinds."""
    _context_factory[:] = [factory]
    _context_module[:] = [getattr(factory, "__module__", "")]


def make_context(settings: Any) -> Any:
    """The context for `settings` (the settings themselves when no factory is registered)."""
    return _context_factory[0](settings) if _context_factory else settings


def kind_modules() -> list[str]:
    """Modules a worker imports to know every kind this process knows (and the context factory)."""
    names = {k.run.__module__ for k in KINDS.values()} | set(_context_module)
    names |= {m.strip() for m in os.environ.get(MODULES_ENV, "").split(",") if m.strip()}
    return sorted(n for n in names if n and n != "__main__")


def load_kinds() -> dict[str, JobKind]:
    """Import the modules named in FRBIO_JOB_KIND_MODULES (comma-separated; the scheduler sets it for its workers,
    a test adds its trivial kinds there)."""
    for module in [m.strip() for m in os.environ.get(MODULES_ENV, "").split(",") if m.strip()]:
        importlib.import_module(module)
    return KINDS


def get_kind(name: str) -> JobKind:
    kinds = KINDS if name in KINDS else load_kinds()
    if name not in kinds:
        raise JobError(f"unknown job kind '{name}' (known: {', '.join(sorted(kinds)) or 'none'})")
    return kinds[name]
