"""`python -m backend train --config FILE.yaml|json [--FIELD VALUE ...] [--json] [--wait]`: submit a train job
(the flags are generated from TrainConfig and override the file's fields) and print its id; `--estimate` prints the
pre-launch check's memory and time estimate instead of submitting."""
from __future__ import annotations

import json
import sys


def cmd_train(studio, args) -> None:
    from backend.config import values_from_args
    from backend.training.config import TrainConfig, load_train_config, parse_train_config
    from jobs import store
    from jobs.scheduler import scheduler_running

    data = load_train_config(args.config) if args.config else {}
    data.update(values_from_args(args, TrainConfig))
    if args.estimate:
        from backend.training.estimate import describe, estimate_config
        from backend.training.validate import check

        cfg = parse_train_config(data)
        check(studio.db, studio.home, cfg)
        result = estimate_config(studio.db, studio.home, cfg)
        print(json.dumps(result, indent=1, default=str) if args.json else describe(result))
        return
    job_id = store.submit(studio.db, studio.home, "train", data, owner=args.owner, device=args.device)
    if args.wait:
        from jobs.cli import _wait

        return _wait(studio, args, job_id)
    hint = "" if scheduler_running(studio.home) else \
        f" — no scheduler is running for this home: start the app, `jobs serve`, or `jobs wait {job_id}`"
    if args.json:
        print(json.dumps({"id": job_id, "status": "queued"}))
    else:
        print(job_id)
        if hint:
            print(hint.strip(" —"), file=sys.stderr)


def add_train_command(subparsers) -> None:
    """Add `train` to the top-level subparsers of `python -m backend`."""
    from backend.config import add_arguments
    from backend.training.config import TrainConfig

    p = subparsers.add_parser("train", help="submit a DAPT training job (prints its id)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--config", metavar="FILE", help="train config (YAML or JSON); the flags below override its fields")
    p.add_argument("--device", default="any", help="'any' (default), 'cpu' or 'cuda:N'")
    p.add_argument("--owner", help="who submits it")
    p.add_argument("--wait", action="store_true", help="wait for the job to end (drives a scheduler if none runs)")
    p.add_argument("--timeout", type=float, default=None, help="with --wait: seconds before giving up")
    p.add_argument("--estimate", action="store_true", help="check the config and print the estimate; submit nothing")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_arguments(p.add_argument_group("train config fields"), TrainConfig)
    p.set_defaults(func=cmd_train)


def command_for(config, device: str = "any", owner: str | None = None) -> str:
    """The shell command that submits this train config (the Train tab's "Show command"): only the fields that
    differ from their defaults, as the flags `add_train_command` generates."""
    import shlex

    from backend.training.config import TrainConfig

    cfg = config if isinstance(config, TrainConfig) else TrainConfig.model_validate(config)
    parts = ["python", "-m", "backend", "train"]
    for name, field in TrainConfig.model_fields.items():
        value = getattr(cfg, name)
        if name != "snapshot" and value == field.get_default(call_default_factory=True):
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else "--no-" + name.replace("_", "-"))
        elif isinstance(value, list):
            parts += [flag, *map(str, value)]
        else:
            parts += [flag, str(value)]
    if device != "any":
        parts += ["--device", device]
    if owner:
        parts += ["--owner", owner]
    return " ".join(shlex.quote(p) for p in parts)
