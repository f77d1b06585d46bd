"""The one base type of user-facing failures. A `UserError`'s message is shown as is: one line in the CLI (exit
status 2), one line in the UI, the `exit_reason` of a failed job (no traceback). Each feature subclasses it in
`backend/errors.py`; the job runtime subclasses it for job requests (`jobs.store.JobError`)."""
from __future__ import annotations


class UserError(RuntimeError):
    """A request that cannot be honoured (unknown id, invalid config, wrong state, missing data); the message says
    why, for the person who asked."""


class PermissionDenied(UserError):
    """The actor may not act on someone else's job, model, snapshot or study."""


class ConfigError(UserError, ValueError):
    """A config that does not validate, or a config file that is missing or not a mapping of fields."""
