"""Who is clicking: the logged-in user of a Gradio request (None when the app runs without authentication, on
127.0.0.1). Every handler that creates something (a job, a snapshot, a vote) passes this as its owner."""
from __future__ import annotations

import getpass

import gradio as gr


def current_user(request: gr.Request | None) -> str:
    """The authenticated user name, else the local account running the app (single-user mode)."""
    name = getattr(request, "username", None) if request is not None else None
    if name:
        return str(name)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"
