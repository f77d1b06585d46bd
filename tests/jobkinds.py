"""Trivial job kinds for tests (registered by no feature): set FRBIO_JOB_KIND_MODULES=tests.jobkinds in the
environment of the test (workers inherit it). `test_sleep` sleeps, stopping at once when cancelled, and can append
one line per start to a file, so a test sees the order in which a scheduler started its jobs; `test_echo` returns
its input (and what its dependencies' results filled in)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from jobs.kinds import Resources, register

MODULE = "tests.jobkinds"


class SleepConfig(BaseModel):
    seconds: float = Field(0.0, ge=0, le=3600, description="How long to sleep.")
    record: str | None = Field(None, description="A file to which one JSON line per start is appended.")
    fail: bool = Field(False, description="Fail (with a user-facing error) instead of sleeping.")
    needs: str | None = Field(None, description="A file that must exist, else the job fails saying so.")
    gpus: int = Field(1, ge=1, le=64, description="GPUs it asks for (its Resources).")


def sleep_resources(context, cfg: SleepConfig) -> Resources:
    return Resources(gpus=cfg.gpus)


@register("test_sleep", config=SleepConfig, devices=("cuda", "cpu"), cooperative=True, title="Sleep (tests)",
          resources=sleep_resources)
def run_sleep(context, cfg: SleepConfig, job) -> dict:
    from frbio_core.errors import UserError

    started = time.time()
    if cfg.record:
        with open(cfg.record, "a", encoding="utf-8") as f:
            f.write(json.dumps({"job": job.job_id, "owner": job.owner, "attempt": job.attempt, "at": started}) + "\n")
    if cfg.fail:
        raise UserError("asked to fail")
    if cfg.needs and not Path(cfg.needs).exists():
        raise UserError(f"{cfg.needs} is missing")
    job.progress(0.0, "sleeping")
    while time.time() - started < cfg.seconds and not job.should_stop():
        time.sleep(0.05)
    return {"slept": round(time.time() - started, 3), "job": job.job_id}


class EchoConfig(BaseModel):
    value: Any = Field(None, description="Returned as the result's 'value'.")


@register("test_echo", config=EchoConfig, devices=("cpu",), title="Echo (tests)")
def run_echo(context, cfg: EchoConfig, job) -> dict:
    return {"value": cfg.value, "job": job.job_id}


class WriteConfig(BaseModel):
    model_id: str = Field("written", description="The id of the model row it registers.")
    submit: bool = Field(True, description="Also submit a test_echo job, as a training run queues evaluations.")


@register("test_write", config=WriteConfig, devices=("cpu",), title="Write the registry (tests)")
def run_write(context, cfg: WriteConfig, job) -> dict:
    """Writes the registry as a feature's runner does, through the context's settings: a model row (then renames
    it), an audit row, and optionally a new job."""
    from frbio_core import registry, users
    from jobs import store

    db = registry.connect(getattr(context, "settings", context).db_path)
    job.progress(0.2, "registering")
    db["models"].insert({"id": cfg.model_id, "name": "first name", "kind": "tiny", "path": str(job.job_dir),
                         "owner": job.owner, "created_at": time.time()}, replace=True)
    users.audit(db, job.owner, "test_write", cfg.model_id)
    echo = store.submit(db, job.job_dir.parent.parent, "test_echo", {"value": cfg.model_id},
                        owner=job.owner) if cfg.submit else None
    db["models"].update(cfg.model_id, {"name": "final name"})
    job.progress(1.0, "registered")
    return {"model_id": cfg.model_id, "echo": echo}
