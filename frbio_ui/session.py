"""Who is clicking: the logged-in user of a Gradio request. Without logins (a home with no account, on
127.0.0.1: a single-user install) the person is LOCAL, an owner name no account can have: the Unix account running
the app never acts for anyone, let alone as an admin. Every handler that creates or changes something passes this
as its actor."""
from __future__ import annotations

import gradio as gr

LOCAL = "local"


def current_user(request: gr.Request | None) -> str:
    """The authenticated user name, else LOCAL (single-user mode: the app then asks no login only when the home has
    no account at all)."""
    name = getattr(request, "username", None) if request is not None else None
    return str(name) if name else LOCAL


def client_address(request: gr.Request | None) -> str | None:
    """The browser's address, for the audit log."""
    client = getattr(request, "client", None) if request is not None else None
    return getattr(client, "host", None)


def acting(request: gr.Request | None):
    """`with acting(request):` every audit row written inside records the browser's address (a queued event runs
    outside the HTTP request that carried it)."""
    from frbio_core.users import acting_from

    return acting_from(client_address(request))


def viewer_language(studio, request: gr.Request | None) -> str:
    """The language for text the server writes (verdicts, sentences, table headers): the one the page shows (the
    FR/EN switch's, sent as the `frbio-lang` cookie by frbio_ui.i18n), else the account's, else the app's default
    ('fr' or 'en'; a browser-chosen 'auto' reads as English)."""
    from frbio_core.users import find_user

    chosen = _cookie(request, "frbio-lang")
    if chosen in ("fr", "en"):
        return chosen

    account = find_user(studio.db, current_user(request)) if request is not None else None
    language = (account or {}).get("language") or studio.settings.language
    return language if language in ("fr", "en") else "en"


def _cookie(request: gr.Request | None, name: str) -> str | None:
    """A cookie of the request (read from its Cookie header: gradio wraps `request.cookies` in an object without
    `get`)."""
    from http.cookies import SimpleCookie

    headers = getattr(request, "headers", None) if request is not None else None
    raw = headers.get("cookie") if headers is not None and hasattr(headers, "get") else None
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:   # a malformed header from another site's cookie: no choice read
        return None
    return jar[name].value if name in jar else None
