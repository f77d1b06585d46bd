"""The launcher interface and the environment every worker gets."""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Callable

from jobs import store
from jobs.kinds import MODULES_ENV, Resources, kind_modules

if TYPE_CHECKING:  # pragma: no cover
    from jobs.scheduler import Scheduler


class Launcher:
    """One way to run a claimed job. `start` runs a job the scheduler has claimed (its row is 'running' on the
    given devices); `stop` ends a running one and returns a note for its log; `verdict` says why a running row
    must be marked failed (its worker is gone or silent), or None while it runs."""

    name = ""

    def __init__(self, scheduler: "Scheduler"):
        self.scheduler = scheduler

    def handles(self, row: dict) -> bool:
        raise NotImplementedError

    def start(self, row: dict, devices: list[str], resources: Resources) -> bool:
        raise NotImplementedError

    def stop(self, row: dict, grace: float, reap: Callable[[], None] | None = None) -> str:
        raise NotImplementedError

    def verdict(self, row: dict) -> str | None:
        raise NotImplementedError


def worker_env(settings, cuda_visible: str, device: str) -> dict[str, str]:
    """The worker's environment: ours, plus the settings (as FRBIO_* variables), its device, its GPUs and the
    modules that register the job kinds this process knows."""
    env = dict(os.environ)
    values = settings.model_dump(mode="json")
    values.update(home=str(settings.home_path), data=[str(p) for p in settings.data_paths])  # cwd differs
    for name, value in values.items():
        if value is None:
            env.pop("FRBIO_" + name.upper(), None)
            continue
        env["FRBIO_" + name.upper()] = (json.dumps(value) if isinstance(value, (list, dict))
                                        else ("1" if value else "0") if isinstance(value, bool) else str(value))
    env.update(FRBIO_JOB_DEVICE=device, CUDA_VISIBLE_DEVICES=cuda_visible, PYTHONUNBUFFERED="1",
               TOKENIZERS_PARALLELISM=env.get("TOKENIZERS_PARALLELISM", "false"))
    env[MODULES_ENV] = ",".join(kind_modules())
    return env


def note(home, job_id: str, message: str) -> None:
    """A line in the job's log from the scheduler's side (why it stopped or failed a job)."""
    try:
        store.append_log(store.job_dir(home, job_id), message)
    except OSError:
        pass
