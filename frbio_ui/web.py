"""The web server: the gradio app mounted on our own FastAPI app (gradio's `mount_gradio_app`), so that every request
passes through what guards the shared server before gradio sees it:

- the client's address is known to the audit log for the whole request (frbio_core.users.CLIENT_ADDRESS): logins,
  refusals and every state change record where they came from;
- logins go through frbio_core.sessions.login (throttled guessing, audited with the address);
- sessions follow their account: gradio's token table is a frbio_core.sessions.SessionTokens, which ends a session
  of a disabled account, one opened before a password change, or one idle too long, at its next request.
"""
from __future__ import annotations

from starlette.routing import Mount

from frbio_core import users


class ClientAddress:
    """ASGI middleware: the request's client address in CLIENT_ADDRESS while the request is handled."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        client = scope.get("client") if scope.get("type") in ("http", "websocket") else None
        token = users.CLIENT_ADDRESS.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            users.CLIENT_ADDRESS.reset(token)


class LanguageHint:
    """ASGI middleware: every HTML page gets frbio_ui.i18n's early language script first in its <head>, so gradio
    starts in the chosen language (its tab bar is drawn once, in the language it starts with)."""

    def __init__(self, app, script: str):
        self.app, self.script = app, script.encode()

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http" or scope.get("method") != "GET" or "/gradio_api/" in scope.get("path", ""):
            return await self.app(scope, receive, send)
        start, chunks = {}, []

        async def capture(message):
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if not headers.get(b"content-type", b"").startswith(b"text/html"):
                    start["pass"] = True
                    return await send(message)
                start["message"] = message
            elif start.get("pass"):
                await send(message)
            else:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    body = b"".join(chunks).replace(b"<head>", b"<head>" + self.script, 1)
                    headers = [(k, v) for k, v in start["message"].get("headers", []) if k != b"content-length"]
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({**start["message"], "headers": headers})
                    await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def login_check(db_path):
    """gradio's `auth=` callable: an enabled account with that password, throttled and audited with the address."""
    from frbio_core import registry, sessions

    def check(username: str, password: str) -> bool:
        return sessions.login(registry.connect(db_path), username, password)
    return check


def create_server(studio, demo, auth: bool, auth_message: str = ""):
    """The ASGI app serving `demo` (queued) with the launch settings of frbio_ui.app_ui.launch_kwargs."""
    import gradio as gr
    from fastapi import FastAPI

    from frbio_core.sessions import SessionTokens
    from frbio_ui.app_ui import launch_kwargs

    kwargs = launch_kwargs(studio)
    for name in ("server_name", "server_port"):
        kwargs.pop(name, None)
    parent = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    extra = {"auth": login_check(studio.settings.db_path), "auth_message": auth_message} if auth else {}
    gr.mount_gradio_app(parent, demo, path="/", server_name=studio.settings.host, server_port=studio.settings.port,
                        **kwargs, **extra)
    if auth:
        gradio_app = next(route.app for route in parent.routes if isinstance(route, Mount))
        gradio_app.tokens = SessionTokens(studio.settings.db_path, studio.settings.session_idle_minutes * 60)
    from frbio_ui.i18n import early_language_script

    return ClientAddress(LanguageHint(parent, early_language_script(studio.settings.language)))


def serve(studio, demo, auth: bool, auth_message: str = "") -> None:
    """Run the server until interrupted."""
    import uvicorn

    app = create_server(studio, demo, auth, auth_message)
    print(f"* Running on local URL:  http://{studio.settings.host}:{studio.settings.port}", flush=True)
    uvicorn.run(app, host=studio.settings.host, port=studio.settings.port, log_level="warning",
                timeout_graceful_shutdown=3)
