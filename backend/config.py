"""One config object per action: the same pydantic model generates CLI flags, env mirrors, UI forms and config.json.

Field metadata used here and by frbio_ui.forms:
  description       help text (CLI --help, UI info line)
  ge / le           numeric bounds (CLI validation, UI slider range)
  json_schema_extra {"ui": "slider"|"hidden"|..., "step": 0.01, "label_fr": "..."}
"""
from __future__ import annotations

import argparse
import json
import os
import typing
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError


def field_kind(annotation: Any) -> str:
    """Classify a field annotation: bool, int, float, str, choice, list, dict, model."""
    origin = get_origin(annotation)
    if origin is typing.Union:
        args = [a for a in get_args(annotation) if a is not type(None)]
        return field_kind(args[0]) if args else "str"
    if origin is Literal:
        return "choice"
    if origin in (list, tuple, set):
        return "list"
    if origin is dict:
        return "dict"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model"
    return {bool: "bool", int: "int", float: "float"}.get(annotation, "str")


def choices_of(annotation: Any) -> list:
    origin = get_origin(annotation)
    if origin is typing.Union:
        for a in get_args(annotation):
            if get_origin(a) is Literal:
                return list(get_args(a))
    return list(get_args(annotation)) if origin is Literal else []


def _parse_value(kind: str, raw: str):
    if kind == "bool":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "list":
        raw = raw.strip()
        if raw.startswith("["):
            return json.loads(raw)
        return [p for p in raw.replace(os.pathsep if os.pathsep != ":" else ",", ",").split(",") if p]
    if kind in ("dict", "model"):
        return json.loads(raw)
    return raw


def from_env(model: type[BaseModel], prefix: str) -> dict:
    """Values for `model` found in PREFIX<FIELD> environment variables (lists split on ',' or os.pathsep)."""
    values = {}
    for name, field in model.model_fields.items():
        raw = os.environ.get(prefix + name.upper())
        if raw is None:
            continue
        kind = field_kind(field.annotation)
        if kind == "list" and not raw.strip().startswith("["):
            values[name] = [p for p in raw.replace(",", os.pathsep).split(os.pathsep) if p]
        else:
            values[name] = _parse_value(kind, raw)
    return values


def add_arguments(parser: argparse.ArgumentParser, model: type[BaseModel], env_prefix: str | None = None) -> None:
    """Add one --flag per field of `model` (nested models and dicts take JSON); defaults stay None (= not given)."""
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra or {}
        if isinstance(extra, dict) and extra.get("cli") is False:
            continue
        kind = field_kind(field.annotation)
        flag = "--" + name.replace("_", "-")
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            default = default.model_dump()
        help_text = (field.description or "").replace("%", "%%")
        help_text += f" (default: {json.dumps(default) if not isinstance(default, str) else default}"
        if env_prefix:
            help_text += f"; env {env_prefix}{name.upper()}"
        help_text += ")"
        if kind == "bool":
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif kind == "choice":
            parser.add_argument(flag, dest=name, choices=choices_of(field.annotation), default=None, help=help_text)
        elif kind == "list":
            parser.add_argument(flag, dest=name, nargs="*", default=None, metavar="VALUE", help=help_text)
        else:
            parser.add_argument(flag, dest=name, default=None, metavar=kind.upper(),
                                type=(lambda k: (lambda s: _parse_value(k, s)))(kind), help=help_text)


def values_from_args(args: argparse.Namespace, model: type[BaseModel]) -> dict:
    return {name: getattr(args, name) for name in model.model_fields if getattr(args, name, None) is not None}


def describe_validation_error(exc: ValidationError, what: str = "config") -> str:
    """A one-paragraph, field-named explanation of a pydantic error, for the UI and the CLI."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or what
        parts.append(f"{loc}: {err.get('msg')}")
    return f"Invalid {what}: " + "; ".join(parts)
