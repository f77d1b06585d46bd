"""Jobs that wait for other jobs and read their results.

A job row's `depends_on` lists the jobs that must succeed before it starts. Its config may hold references to
their results, `ref("job-000012", "snapshot_id")` (stored as {"$job": ..., "$key": ...}, a dotted key into the
result); the scheduler and the worker fill them in (`resolve`) when the job starts. A job whose dependency failed
or was cancelled fails too (resumable), naming it; resuming a group (`jobs.control.resume`) queues again every part
that did not succeed, so the dependents wait again. `parent` groups the parts of one piece of work (a study) under
the job that finishes it.
"""
from __future__ import annotations

from typing import Any

from jobs import store
from jobs.store import JobError

JOB, KEY = "$job", "$key"


def ref(job_id: str, key: str) -> dict:
    """A config value taken from `job_id`'s result at `key` ('model_id', 'best.balanced') when the job starts."""
    return {JOB: job_id, KEY: key}


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {JOB, KEY}


def referenced(config: Any) -> list[str]:
    """The job ids a config refers to, in order of appearance."""
    if hasattr(config, "model_dump"):
        return []
    found: list[str] = []

    def walk(value):
        if _is_ref(value):
            found.append(value[JOB])
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(config)
    return list(dict.fromkeys(found))


def resolve(db, config: Any) -> Any:
    """The config with every reference replaced by its value; JobError when the job referred to has not succeeded
    or its result has no such key."""
    def value_of(reference: dict) -> Any:
        row = store.get(db, reference[JOB])
        if row["status"] != "succeeded":
            raise JobError(f"{reference[JOB]} has not succeeded (it is {row['status']})")
        node: Any = row["result"]
        for part in str(reference[KEY]).split("."):
            if not isinstance(node, dict) or part not in node:
                raise JobError(f"the result of {reference[JOB]} ({row['kind']}) has no '{reference[KEY]}'")
            node = node[part]
        return node

    def walk(value):
        if _is_ref(value):
            return value_of(value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value
    return walk(config)


def waiting(db, row: dict) -> tuple[str, str | None]:
    """For a queued job: ('ready', None), ('waiting', message) while a dependency is unfinished, or
    ('blocked', reason) when one failed or was cancelled."""
    pending = []
    for job_id in row.get("depends_on") or []:
        dep = store.find(db, job_id)
        if dep is None:
            return "blocked", f"it waits for {job_id}, which was deleted"
        if dep["status"] in ("failed", "cancelled"):
            why = dep["exit_reason"] or dep["status"]
            return "blocked", f"{job_id} ({dep.get('label') or dep['kind']}) {dep['status']}: {why}"
        if dep["status"] != "succeeded":
            pending.append(job_id)
    if pending:
        return "waiting", f"waiting for {', '.join(pending)}"
    return "ready", None


def descendants(db, job_id: str) -> list[dict]:
    """Every part of `job_id`, and their parts, oldest first."""
    out, todo = [], [job_id]
    while todo:
        for child in store.children(db, todo.pop(0)):
            out.append(child)
            todo.append(child["id"])
    return out
