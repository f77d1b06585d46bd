"""Trivial job kinds for tests (never in jobs.kinds.MODULES): set FRBIO_JOB_KIND_MODULES=tests.jobkinds in the
environment of the test (workers inherit it). `test_sleep` sleeps, stopping at once when cancelled, and can append
one line per start to a file, so a test sees the order in which a scheduler started its jobs."""
from __future__ import annotations

import json
import time

from pydantic import BaseModel, Field

from jobs.kinds import register

MODULE = "tests.jobkinds"


class SleepConfig(BaseModel):
    seconds: float = Field(0.0, ge=0, le=3600, description="How long to sleep.")
    record: str | None = Field(None, description="A file to which one JSON line per start is appended.")


@register("test_sleep", config=SleepConfig, devices=("cuda", "cpu"), cooperative=True, title="Sleep (tests)")
def run_sleep(ctx) -> dict:
    started = time.time()
    if ctx.config.record:
        with open(ctx.config.record, "a", encoding="utf-8") as f:
            f.write(json.dumps({"job": ctx.job_id, "owner": ctx.owner, "attempt": ctx.attempt, "at": started}) + "\n")
    ctx.progress(0.0, "sleeping")
    while time.time() - started < ctx.config.seconds and not ctx.should_stop():
        time.sleep(0.05)
    return {"slept": round(time.time() - started, 3)}
