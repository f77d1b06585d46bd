"""Launching an action and following its jobs: the one way every tab does both (the launch button and the job
follower are generated from the action's declaration, backend.actions).

    follow = Follower(studio, "build")                       # a progress line per job, a timer while any runs
    wire_launch(studio, BUILD, build_btn, form.inputs, recipe_from, follow, build_msg)
    follow.on_done(refresh_snapshots, None, [snaps_df, snap_dd])

Clicking validates, checks who asks, submits (the action's own rules), shows "⏳ … queued as job-…" and starts
following; while the jobs run, one progress line each; once all are final, the message becomes the action's
summary (or each failed job's reason), and the `on_done` handlers run once.
"""
from __future__ import annotations

import html
from typing import Any, Callable, Sequence

import gradio as gr

from backend.actions import Action
from frbio_core.errors import UserError
from frbio_core.translations import translated
from frbio_ui import guard
from frbio_ui.i18n_tables import word
from frbio_ui.polling import poll
from frbio_ui.session import acting, current_user, viewer_language
from jobs import store

POLL_S = 1.0


def progress_html(fraction: float, label: str) -> str:
    return (f"<div class='job-progress'><progress value='{fraction:.3f}' max='1'></progress> "
            f"<span>{fraction:.0%} — {html.escape(label)}</span></div>")


def job_line(job: dict, lang: str = "en") -> str:
    """One followed job: a progress bar while queued or running, then how it ended (in `lang`)."""
    name = f"{job['id']}" + (f" ({job['label']})" if job.get("label") else "")
    status = word(job["status"], lang)
    if job["status"] in ("queued", "running"):
        return progress_html(job["progress"] or 0.0, f"{name}: {translated(job['message'] or '', lang) or status}")
    icon = {"succeeded": "✅", "cancelled": "⏹"}.get(job["status"], "❌")
    reason = f": {translated(job['exit_reason'], lang)}" if job["status"] != "succeeded" and job.get("exit_reason") \
        else ""
    return f"<div class='job-done'>{icon} {html.escape(name)} {status}{html.escape(reason)}</div>"


class Follower:
    """Follows the jobs a tab launched (see the module's docstring). `view` shows their progress lines; on the
    timer tick that finds them all final, the message gets the summary and the `on_done` handlers run (each tick
    listener reads the same rows; the timer stops at that tick, so they run once)."""

    def __init__(self, studio, elem_id: str, visible: bool = True):
        self.studio = studio
        self.jobs = gr.State([])
        self.view = gr.HTML(elem_id=f"{elem_id}-jobs", visible=visible)
        self.timer = gr.Timer(POLL_S, active=False)
        self.action: Action | None = None
        self.message = None
        self._summary: Callable[[list[dict]], str] | None = None

    def rows(self, ids: Sequence[str]) -> list[dict]:
        return [row for row in (store.find(self.studio.db, j) for j in ids or []) if row is not None]

    def lines(self, rows: list[dict], lang: str = "en") -> str:
        return "".join(job_line(r, lang) for r in rows)

    def attach(self, message, summary: Callable[[list[dict]], str] | None = None) -> None:
        """Poll while jobs run: `message` gets the summary (or the failures) when they are all final."""
        self.message, self._summary = message, summary

        def tick(ids, request: gr.Request):
            lang = viewer_language(self.studio, request)
            rows = self.rows(ids)
            if not self.finished(rows):
                return gr.update(), self.lines(rows, lang), gr.Timer(active=True)
            failed = [r for r in rows if r["status"] != "succeeded"]
            if failed:
                text = "❌ " + "; ".join(f"{r['id']} {word(r['status'], lang)}: {translated(r['exit_reason'], lang)}"
                                        for r in failed)
            else:
                said = self._summary(rows) if self._summary else ""
                done = ", ".join(r["id"] for r in rows)
                text = translated(f"✅ {done} succeeded", lang) + (f" — {translated(said, lang)}" if said else "")
            if not ids:
                return gr.update(), "", gr.Timer(active=False)
            return text, self.lines(rows, lang), gr.Timer(active=False)

        poll(self.timer.tick, tick, [self.jobs], [message, self.view, self.timer])

    @staticmethod
    def finished(rows: list[dict]) -> bool:
        return all(r["status"] in store.FINAL for r in rows)

    @property
    def outputs(self) -> list:
        """What `start` updates, in order."""
        return [self.view, self.jobs, self.timer]

    def start(self, ids: list[str], lang: str = "en") -> tuple:
        """The updates that start following `ids` (for `outputs`); with no job the next tick finds nothing
        running and the `on_done` handlers run then."""
        return self.lines(self.rows(ids), lang), list(ids), gr.Timer(active=True)

    def on_done(self, fn: Callable, inputs: list | None, outputs: list) -> None:
        """`fn(ids, *values of inputs)` runs when the followed jobs are all final (e.g. refresh what they made)."""
        def listener(ids, *values):
            if ids is None or not self.finished(self.rows(ids)):
                return [gr.update()] * len(outputs) if len(outputs) > 1 else gr.update()
            return fn(ids, *values)

        poll(self.timer.tick, listener, [self.jobs] + list(inputs or []), outputs)


def wire_launch(studio, action: Action, button, inputs: list, to_data: Callable[..., Any], follower: Follower,
                message, *, device=None, extra_outputs: Sequence = (), summarize: bool = True,
                launched: str = "⏳ {title} queued as **{ids}**…",
                on_launched: Callable[..., Sequence] | None = None) -> None:
    """`button` launches `action` with the config `to_data(*values)` (plus the device dropdown `device`), as the
    person logged in; `message` says what happened, then (`summarize`) the action's summary; `follower` follows
    the jobs. `on_launched(ids, *values)` gives the values of `extra_outputs` (e.g. select the new job in a jobs
    panel, draw a table with its pending cells)."""

    def summary(rows: list[dict]) -> str:
        if not summarize or len(rows) != 1 or rows[0]["kind"] != action.kind:
            return ""
        try:
            return action.describe(studio, action.parse(rows[0]["config"]), rows)[1]
        except (UserError, KeyError, TypeError, ValueError):
            return ""

    follower.attach(message, summary)
    dev_inputs = [device] if device is not None else []

    def on_click(request: gr.Request, *values):
        lang = viewer_language(studio, request)
        title = action.title_fr if lang == "fr" else action.title
        dev = values[0] if device is not None else "any"
        values = values[1:] if device is not None else values
        try:
            with acting(request):
                ids = action.launch(studio, to_data(*values), owner=current_user(request), device=dev or "any")
        except UserError as exc:
            return [f"❌ {translated(exc, lang)}"] + [gr.update()] * (len(follower.outputs) + len(extra_outputs))
        if not ids:
            text = translated(f"✅ {title}: nothing to run (every result is cached).", lang)
        else:   # the tab's own sentence (`launched`): its French is in frbio_ui/messages_fr.py
            text = translated(launched.format(title=title, ids=", ".join(ids)), lang)
        extra = list(on_launched(ids, *values)) if on_launched else []
        return [text, *follower.start(ids, lang)] + extra

    guard.declare(action.who, on_click)
    button.click(on_click, dev_inputs + list(inputs), [message, *follower.outputs, *extra_outputs])
