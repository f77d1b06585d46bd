"""One declaration per user action that starts long work: build a snapshot, download a model, train, merge, sweep,
evaluate, compare, run a study. An `Action` names its config class, who may do it, the job kind it submits (or how
it submits), and how its result reads in one line; the CLI subcommand (backend.action_cli) and the UI's launch
button and job follower (frbio_ui.launch) are generated from it, so each action is wired once.

    TRAIN = declare(Action("train", ("train",), TrainConfig, kind="train", title="DAPT training",
                           title_fr="Entraînement DAPT", summary=train_summary))

A feature declares its actions next to its job kinds (its `job.py`); backend.kinds imports them all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from pydantic import BaseModel

from backend.errors import UserError
from frbio_core import users
from frbio_core.config import load_config_file, parse_config

ACTIONS: dict[str, "Action"] = {}
Rows = list[dict]


@dataclass(frozen=True)
class Option:
    """A command-line option of an action that is not a config field (an output file, a dry run)."""
    flag: str
    help: str
    kind: Literal["flag", "value", "list"] = "value"


@dataclass(frozen=True)
class Action:
    name: str                                   # unique, e.g. 'train', 'merge-sweep'
    command: tuple[str, ...]                    # CLI path under `python -m backend`, e.g. ('merge', 'sweep')
    config: type[BaseModel]
    title: str                                  # English, e.g. 'DAPT training'
    title_fr: str
    kind: str | None = None                     # the job kind submitted (one job) unless `submit` says otherwise
    who: Literal["user", "admin"] = "user"      # anyone logged in, or admins only
    error: type[UserError] = UserError          # the feature's error, for invalid configs and files
    help: str = ""
    submit: Callable[..., list[str]] | None = None          # (studio, cfg, owner, device, options) → job ids
    summary: Callable[..., tuple[Any, str]] | None = None   # (studio, cfg, rows, options) → (JSON payload, text)
    preview: Callable[..., tuple[Any, str] | None] | None = None   # (studio, cfg, options): answered without a job
    read_file: Callable[[Any, str], dict] | None = None     # (studio, path) → config fields (default: YAML/JSON)
    file_flag: str = "--config"
    what: str = ""                              # its config in messages ('recipe', 'train config'; default: name)
    waits: bool = False                         # the CLI waits for the jobs (else only with --wait)
    reports_failures: bool = False              # its summary also tells a failure (exit status 1 after it)
    progress: Callable[..., list[str]] | None = None        # (studio, job ids) → new lines to print while waiting
    options: tuple[Option, ...] = ()

    def parse(self, data: Any) -> BaseModel:
        """The config object; the feature's error naming each invalid field otherwise."""
        return parse_config(self.config, data, self.what or f"{self.name} config", self.error)

    def load(self, studio, path: str) -> dict:
        if self.read_file is not None:
            return self.read_file(studio, path)
        return load_config_file(path, self.what or f"{self.name} config", self.error)

    def fields(self, studio, path: str | None, given: dict) -> dict:
        """A config file's fields (if any) with `given` on top; a mapping field given both ways is merged (a
        `--parameters '{"t": 0.3}'` keeps the file's other parameters)."""
        data = self.load(studio, path) if path else {}
        for name, value in given.items():
            if isinstance(value, dict) and isinstance(data.get(name), dict):
                value = {**data[name], **value}
            data[name] = value
        return data

    def allow(self, studio, actor: str | None) -> None:
        """PermissionDenied when `actor` may not run this action (audited)."""
        users.require(studio.db, actor, "user" if self.who == "owner" else self.who, f"run {self.title.lower()}",
                      self.name)

    def launch(self, studio, data: Any, owner: str | None = None, device: str = "any",
               options: dict | None = None, resources: dict | None = None) -> list[str]:
        """Validate, check who asks, run the pre-launch check, submit: the job ids (none when nothing is missing,
        e.g. every evaluation cached). Raises a UserError saying why, having written nothing. `resources`: what
        each job it submits asks a cluster for over its kind's defaults ({cpus, mem, time})."""
        cfg = self.parse(data)
        self.allow(studio, owner)
        with studio.scheduler.asking(resources):
            if self.submit is not None:
                return list(self.submit(studio, cfg, owner, device, options or {}))
            return [studio.scheduler.submit(self.kind, cfg, owner=owner, device=device)]

    def describe(self, studio, cfg: BaseModel, rows: Rows, options: dict | None = None) -> tuple[Any, str]:
        """What the finished jobs gave, as a JSON payload and a short text."""
        if self.summary is not None:
            return self.summary(studio, cfg, rows, options or {})
        payload = rows[0]["result"] if len(rows) == 1 else [r["result"] for r in rows]
        return payload, "\n".join(f"{r['id']}: {r['status']}" for r in rows)


def declare(action: Action) -> Action:
    if action.name in ACTIONS and ACTIONS[action.name] is not action:
        raise ValueError(f"action {action.name!r} declared twice")
    ACTIONS[action.name] = action
    return action


def get_action(name: str) -> Action:
    if name not in ACTIONS:
        raise UserError(f"unknown action '{name}' (known: {', '.join(sorted(ACTIONS))})")
    return ACTIONS[name]
