"""The app as served (frbio_ui.web.create_server: gradio mounted on our FastAPI app, logins on) in a thread of the
test process, and an HTTP client that calls its endpoints as the browser does: log in through /login (the session
cookie), then each event handler by its index through the queue (`/gradio_api/queue/join` and the SSE stream) or,
for the handlers declared queue=False, one POST to `/gradio_api/run/predict`."""
from __future__ import annotations

import hashlib
import json
import socket
import threading
import uuid
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`with LiveServer(studio) as server:` the app of `studio` on a free port, logins required."""

    def __init__(self, studio):
        import uvicorn

        from frbio_ui.app_ui import build_app
        from frbio_ui.web import create_server

        self.studio = studio
        self.port = free_port()
        studio.settings.port = self.port
        self.demo = build_app(studio).queue(default_concurrency_limit=4)
        app = create_server(studio, self.demo, auth=True)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        from tests.data_helpers import wait_for

        self.thread.start()
        wait_for(lambda: self.server.started, 60, "the server listens")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


class Browser:
    """One person's cookies (a session once logged in) and session hash."""

    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=120)
        self.session_hash = uuid.uuid4().hex[:11]

    def login(self, name: str, password: str) -> int:
        return self.http.post("/login", data={"username": name, "password": password}).status_code

    def config(self) -> dict:
        r = self.http.get("/config")
        r.raise_for_status()
        return r.json()

    def call(self, dep: dict, data: list) -> tuple[int, object]:
        """(HTTP status, the handler's output or error) of one event handler called with `data`."""
        body = {"data": data, "fn_index": dep["id"], "session_hash": self.session_hash, "event_data": None,
                "trigger_id": (dep.get("targets") or [[None]])[0][0]}
        if dep.get("queue") is False:
            r = self.http.post("/gradio_api/run/predict", json=body)
            return r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json")
                                   else r.text)
        r = self.http.post("/gradio_api/queue/join", json=body)
        if r.status_code != 200:
            return r.status_code, r.text
        event_id = r.json().get("event_id")
        with self.http.stream("GET", "/gradio_api/queue/data", params={"session_hash": self.session_hash}) as s:
            for line in s.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") not in (None, event_id):
                    continue
                if msg.get("msg") == "process_completed":
                    return 200, msg.get("output")
                if msg.get("msg") == "unexpected_error":
                    return 500, msg.get("message")
        return 0, "stream closed"

    def close(self) -> None:
        self.http.close()


def state_digest(studio) -> str:
    """What an action could change: every registry table but the audit log (its rows are the point), and every
    file under the home (name and size; the registry's own files aside)."""
    db = studio.db
    parts = []
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                               "AND name != 'audit' ORDER BY name").fetchall():
        rows = db.execute(f"SELECT * FROM [{table}]").fetchall()
        parts.append(f"{table}:{sorted(map(repr, rows))}")
    home = Path(studio.home)
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.name.startswith(studio.settings.db_path.name):
            parts.append(f"{path.relative_to(home)}:{path.stat().st_size}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
