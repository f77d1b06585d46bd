"""The one way every feature turns a model reference (id, name, or a registered folder's path) into a usable
registry row, with the same messages everywhere: "<role>: unknown model 'x' (registered: …)", "<role>: 'x' cannot
be used: …". Each caller passes its own error class (TrainError, MergeError, EvalError, GenerationError)."""
from __future__ import annotations

from pathlib import Path

from backend.errors import ModelError, UserError


def resolve_model(db, ref: str, *, role: str | None = None, home: Path | str | None = None,
                  error: type[UserError] = ModelError, by_path: bool = False, check_files: bool = True) -> dict:
    """The registry row for `ref`. `home`: the offline default model is registered on first use when its folder
    is already converted there (the registry may predate it). `by_path`: a folder path naming a registered model
    is accepted too. `check_files`: the folder's headers and sizes are read (no weight is loaded), so a missing,
    truncated or corrupt folder is refused here rather than in a job."""
    from backend.models.inspect import inspect_folder
    from backend.models.registry import get_model, list_models

    prefix = f"{role}: " if role else ""
    ref = str(ref or "").strip()
    if not ref:
        raise error(f"{prefix}no model given")
    try:
        row = get_model(db, ref)
    except ModelError as exc:
        row = _by_path(db, ref, list_models) if by_path else None
        if row is None and home is not None:
            row = _default(db, Path(home), ref)
        if row is None:
            hint = ""
            if by_path and Path(ref).expanduser().exists():
                hint = f"; register it first: python -m backend models import {ref}"
            raise error(f"{prefix}{exc}{hint}") from None
    if row.get("status") not in (None, "ok"):
        raise error(f"{prefix}'{row['id']}' cannot be used: {row.get('error') or row['status']}")
    if check_files:
        try:
            inspect_folder(Path(row["path"]))
        except ModelError as exc:
            raise error(f"{prefix}'{row['id']}' cannot be used: {exc}") from None
    return row


def _by_path(db, ref: str, list_models) -> dict | None:
    path = Path(ref).expanduser()
    if not path.exists():
        return None
    target = path.resolve()
    return next((r for r in list_models(db) if Path(r["path"]).resolve() == target), None)


def _default(db, home: Path, ref: str) -> dict | None:
    from backend.default_model import DEFAULT_MODEL_NAME, default_model_dir, is_complete

    if ref not in ("default", DEFAULT_MODEL_NAME) or not is_complete(default_model_dir(home)):
        return None
    from backend.models.importing import register_default

    return register_default(db, home)


def model_folder(db, home: Path | str, ref: str) -> Path | None:
    """The folder of a model named by id or path, without checks; None when it cannot be found (a launcher then
    does without what it would have read there)."""
    path = Path(str(ref or "")).expanduser()
    if str(ref or "").strip() and path.is_dir():
        return path
    try:
        return Path(resolve_model(db, ref, by_path=True, check_files=False)["path"])
    except UserError:
        folder = Path(home) / "models" / str(ref)
        return folder if str(ref or "").strip() and folder.is_dir() else None
