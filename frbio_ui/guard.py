"""Every event handler of the page declares who may call it, with frbio_core.users' rules: `read` (changes nothing),
`user` (anyone logged in), `owner` (the owner of what its `target` input names, or an admin), `admin`. The backend
enforces them (and audits refusals); the declaration is what tests/test_endpoints.py checks every endpoint the app
registers against, calling each as an anonymous visitor, a non-owner and the owner.

    btn.click(guard.owner(on_cancel, target=0, kind="job"), [pick], [msg])
"""
from __future__ import annotations

from typing import Callable

ATTR = "__frbio_rule__"


def declare(rule: str, fn: Callable, target: int | None = None, kind: str | None = None) -> Callable:
    from frbio_core.users import RULES

    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}")
    setattr(fn, ATTR, {"rule": rule, "target": target, "kind": kind})
    return fn


def read(fn: Callable) -> Callable:
    return declare("read", fn)


def user(fn: Callable) -> Callable:
    return declare("user", fn)


def owner(fn: Callable, target: int, kind: str) -> Callable:
    """`target`: the position of the input that names what it acts on; `kind`: what that is (job, model, source)."""
    return declare("owner", fn, target, kind)


def admin(fn: Callable) -> Callable:
    return declare("admin", fn)


def rule_of(fn: Callable | None) -> dict | None:
    return getattr(fn, ATTR, None) if fn is not None else None
