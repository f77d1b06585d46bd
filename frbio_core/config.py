"""One config object per action: the same pydantic model generates CLI flags, env mirrors, UI forms and config.json.

Field metadata used here and by frbio_ui.forms:
  description       help text (CLI --help, UI info line)
  ge / le           numeric bounds (CLI validation, UI slider range)
  json_schema_extra {"ui": "slider"|"hidden"|..., "step": 0.01, "label_fr": "...", "description_fr": "...",
                     "cli": False (no flag) | "positional" (an argument, not a --flag)}
"""
from __future__ import annotations

import argparse
import json
import os
import typing
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError

from frbio_core.errors import ConfigError


def labels(en: str, fr: str | None = None, **extra: Any) -> dict:
    """A field's label in English and French (with any other widget hints), for `json_schema_extra`: the forms,
    the CLI and every other place that names the field read it from there."""
    return {"label": en, **({"label_fr": fr} if fr else {}), **extra}


def field_group(model: type[BaseModel], name: str) -> str | None:
    """The section a field belongs to (`labels(..., group=...)`), None for the fields shown first."""
    extra = model.model_fields[name].json_schema_extra
    return extra.get("group") if isinstance(extra, dict) else None


def groups_of(model: type[BaseModel]) -> dict[str, dict]:
    """The model's sections in order ({name: {label, label_fr, when}}), from its `GROUPS` class variable."""
    return dict(getattr(model, "GROUPS", None) or {})


def field_labels(model: type[BaseModel], name: str) -> tuple[str, str | None]:
    """(English, French) label of a field: its declared labels, else its name in words."""
    extra = model.model_fields[name].json_schema_extra
    extra = extra if isinstance(extra, dict) else {}
    return extra.get("label") or name.replace("_", " ").capitalize(), extra.get("label_fr")


def field_descriptions(model: type[BaseModel], name: str) -> tuple[str, str | None]:
    """(English, French) help text of a field: its `description` and the `description_fr` beside its labels."""
    field = model.model_fields[name]
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return field.description or "", extra.get("description_fr")


def required_text(*names: str, hint: str):
    """A validator for text fields that must not be empty (surrounding spaces dropped): "required: <hint>"."""
    from pydantic import field_validator

    def check(cls, value):
        if not str(value or "").strip():
            raise ValueError(f"required: {hint}")
        return str(value).strip()

    return field_validator(*names)(classmethod(check))


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
    """The values a Literal field (or a list of Literal values) may take; [] for any other field."""
    origin = get_origin(annotation)
    if origin in (list, tuple, set) and get_args(annotation):
        return choices_of(get_args(annotation)[0])
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


def add_grouped_arguments(parser: argparse.ArgumentParser, model: type[BaseModel], title: str) -> None:
    """`add_arguments` in argument groups as the form shows them: the fields most people change first (under
    `title`), then one group per section the fields name (`labels(..., group=...)`, titles from `GROUPS`)."""
    sections = groups_of(model)
    first = [n for n in model.model_fields if field_group(model, n) not in sections]
    add_arguments(parser.add_argument_group(title), model, only=first)
    for group, spec in sections.items():
        names = [n for n in model.model_fields if field_group(model, n) == group]
        if names:
            when = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in (spec.get("when") or {}).items())
            add_arguments(parser.add_argument_group(spec["label"] + (f" (with {when})" if when else "")), model,
                          only=names)


def add_arguments(parser: argparse.ArgumentParser, model: type[BaseModel], env_prefix: str | None = None,
                  only: list[str] | None = None) -> None:
    """Add one --flag per field of `model` (or of its fields `only`; nested models and dicts take JSON); defaults
    stay None (= not given)."""
    for name, field in model.model_fields.items():
        if only is not None and name not in only:
            continue
        extra = field.json_schema_extra or {}
        if isinstance(extra, dict) and extra.get("cli") is False:
            continue
        kind = field_kind(field.annotation)
        flag = "--" + name.replace("_", "-")
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            default = default.model_dump()
        help_text = (field.description or "").replace("%", "%%")
        help_text += " (required" if field.is_required() else \
            f" (default: {json.dumps(default) if not isinstance(default, str) else default}"
        if env_prefix:
            help_text += f"; env {env_prefix}{name.upper()}"
        help_text += ")"
        if isinstance(extra, dict) and extra.get("cli") == "positional":
            parser.add_argument(name, nargs="?", default=None, metavar=name.upper(), help=help_text)
        elif kind == "bool":
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif kind == "choice":
            parser.add_argument(flag, dest=name, choices=choices_of(field.annotation), default=None, help=help_text)
        elif kind == "list":
            parser.add_argument(flag, dest=name, nargs="*", default=None, metavar="VALUE", help=help_text,
                                choices=choices_of(field.annotation) or None)
        else:
            parser.add_argument(flag, dest=name, default=None, metavar=kind.upper(),
                                type=(lambda k: (lambda s: _parse_value(k, s)))(kind), help=help_text)


def values_from_args(args: argparse.Namespace, model: type[BaseModel]) -> dict:
    return {name: getattr(args, name) for name in model.model_fields if getattr(args, name, None) is not None}


def describe_validation_error(exc: ValidationError, what: str = "config") -> str:
    """A one-paragraph, field-named explanation of a pydantic error, for the UI and the CLI."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", ""))
        if err.get("type") == "value_error":   # our own validators: their message is the whole sentence
            msg = msg.removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return f"Invalid {what}: " + "; ".join(parts)


def parse_config(cls: type[BaseModel], data: Any, what: str = "config", error: type[Exception] = ConfigError):
    """`data` (a mapping, an instance, None) as a `cls`; otherwise `error` with a one-line message naming each
    invalid field. The one wrapper every config class goes through (recipe, train, merge, eval, study...)."""
    if isinstance(data, cls):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"Invalid {what}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise error(describe_validation_error(exc, what)) from None


def to_cli_args(config: BaseModel) -> list[str]:
    """The flags (as generated by add_arguments) that reproduce `config`: only fields that differ from the default."""
    defaults = type(config).model_construct()
    args: list[str] = []
    for name, field in type(config).model_fields.items():
        value = getattr(config, name)
        default = getattr(defaults, name, None)
        if isinstance(value, BaseModel):
            value, default = value.model_dump(mode="json"), (default.model_dump(mode="json")
                                                             if isinstance(default, BaseModel) else default)
        if value == default:
            continue
        flag = "--" + name.replace("_", "-")
        kind = field_kind(field.annotation)
        if kind == "bool":
            args.append(flag if value else "--no-" + name.replace("_", "-"))
        elif kind == "list":
            args += [flag, *map(str, value)]
        elif kind in ("dict", "model"):
            args += [flag, json.dumps(value, ensure_ascii=False)]
        else:
            args += [flag, str(value)]
    return args


class ConfigFileError(ConfigError):
    """A config file (recipe, train or merge config) that is missing or not a mapping of fields."""


def read_config_file(path, what: str = "config") -> dict:
    """The fields of a YAML or JSON file (validated later by the config class, with any CLI overrides)."""
    from pathlib import Path

    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(f"{path}: {what} file not found")
    fmt = "JSON" if path.suffix.lower() == ".json" else "YAML"
    try:
        text = path.read_text("utf-8")
        data = json.loads(text) if fmt == "JSON" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())   # one line (YAML errors span several, with a caret drawing)
        raise ConfigFileError(f"{path.name}: not valid {fmt} ({detail})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path.name}: a {what} is a mapping of fields, got {type(data).__name__}")
    return data


def load_config_file(path, what: str = "config", error: type[Exception] = ConfigError) -> dict:
    """read_config_file, with its failure raised as `error` (the feature's own UserError)."""
    try:
        return read_config_file(path, what)
    except ConfigFileError as exc:
        raise error(str(exc)) from None
