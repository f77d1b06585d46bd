"""A live jobs panel (list, curves, log tail, cancel / resume / clone / delete) reused by every tab that launches jobs.

Who clicks is `current_user(request)`: the jobs layer refuses a cancel, resume or delete of someone else's job (unless
the user is an admin) and the refusal is shown as is; a job's log is shown to its owner and admins only. The main
panel (kind None) also shows the devices: slots, running jobs, memory and load (nvidia-smi for GPUs, /proc for the CPU).
"""
from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from frbio_core import users
from backend.studio import Studio
from jobs import admission, store, views
from frbio_core.errors import UserError
from frbio_core.translations import translated
from frbio_ui import guard
from frbio_ui.i18n import tr
from frbio_ui.i18n_tables import columns, word
from frbio_ui.polling import poll
from frbio_ui.session import acting, current_user, viewer_language

POLL_S = 2.0


def curves_figure(series: dict[str, tuple[list, list]], curves: tuple = (), lang: str = "en") -> go.Figure | None:
    """One small chart per curve the job's kind declares (jobs.kinds.register(curves=...)) that it recorded, titled
    in `lang`."""
    curves = curves or views.curves_of("train")
    shown = [(k, word(label, lang)) for k, label in curves if k in series]
    if not shown:
        return None
    cols = 2 if len(shown) > 1 else 1
    rows = (len(shown) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[label for _, label in shown])
    for i, (key, label) in enumerate(shown):
        xs, ys = series[key]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers" if len(xs) < 30 else "lines", name=label),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(height=260 * rows, showlegend=False, margin=dict(l=40, r=10, t=40, b=30))
    fig.update_xaxes(title_text=word("step", lang))
    return fig


DEVICE_HEADERS = ["device", "name", "memory", "utilisation", "jobs / slots"]


def job_frame(rows: list[list], lang: str):
    """A job table with its headers and status words in `lang`."""
    import pandas as pd

    at, note = views.JOB_HEADERS.index("status"), views.JOB_HEADERS.index("message")
    rows = [[word(c, lang) if j == at else translated(c, lang) if j == note else c for j, c in enumerate(r)]
            for r in rows]
    return pd.DataFrame(rows, columns=columns(views.JOB_HEADERS, lang))


def device_frame(studio: Studio, lang: str):
    import pandas as pd

    return pd.DataFrame(device_rows(studio, lang), columns=columns(DEVICE_HEADERS, lang))


def device_rows(studio: Studio, lang: str = "en") -> list[list]:
    def gib(b):
        return "?" if b is None else f"{b / 2 ** 30:.1f}"

    def load(x):
        return f" (charge {x:.2f})".replace(".", ",") if lang == "fr" else f" (load {x:.2f})"
    return [[r["device"], r["name"], f"{gib(r['memory_used'])} / {gib(r['memory_total'])} GiB",
             "?" if r["utilization"] is None else f"{r['utilization']:.0f} %"
             + (load(r["load"]) if r.get("load") is not None else ""), f"{r['jobs']} / {r['slots']}"]
            for r in studio.scheduler.usage()]


def build_jobs_panel(studio: Studio, kind: str | None = None):
    """Render the panel; returns the job dropdown so a launcher can select the job it just submitted."""
    devices = None
    if kind is None:
        devices = gr.Dataframe(device_rows(studio), headers=DEVICE_HEADERS, interactive=False, label=tr("jobs.devices"),
                               elem_id="devices-table")
        limits_md = gr.Markdown(elem_id="my-limits")
    table = gr.Dataframe(views.job_table(studio.db, kind), headers=views.JOB_HEADERS, interactive=False,
                         elem_id=f"jobs-table-{kind or 'all'}", wrap=True, max_height=300)
    with gr.Row():
        pick = gr.Dropdown([r[0] for r in views.job_table(studio.db, kind)], label=tr("jobs.selected", "Job"),
                           scale=3, elem_id=f"job-pick-{kind or 'all'}", allow_custom_value=True)
        cancel_btn = gr.Button(tr("jobs.cancel", "Cancel"), variant="stop", scale=1,
                               elem_id=f"job-cancel-{kind or 'all'}")
        resume_btn = gr.Button(tr("jobs.resume", "Resume"), scale=1, elem_id=f"job-resume-{kind or 'all'}")
        clone_btn = gr.Button(tr("jobs.clone", "Clone"), scale=1, elem_id=f"job-clone-{kind or 'all'}")
        delete_btn = gr.Button(tr("jobs.delete"), scale=1, elem_id=f"job-delete-{kind or 'all'}")
    action_msg = gr.Markdown(elem_id=f"job-msg-{kind or 'all'}")
    status_md = gr.Markdown(elem_id=f"job-status-{kind or 'all'}")
    plot = gr.Plot(label=tr("jobs.curves", "Curves"), elem_id=f"job-curves-{kind or 'all'}")
    log = gr.Textbox(label=tr("jobs.log", "Log (last lines)"), lines=10, max_lines=10, interactive=False,
                     elem_id=f"job-log-{kind or 'all'}", autoscroll=True)
    timer = gr.Timer(POLL_S)
    drawn = gr.State(None)   # ((rows, status, log), metrics signature) on screen: unchanged values are not re-sent

    def refresh(job_id, shown, request: gr.Request):
        """The panel's values; what the page already shows (`shown`, from the last call) is not sent again."""
        rows = views.job_table(studio.db, kind)
        lang = viewer_language(studio, request)
        status, text, signature = panel_text(job_id, request)
        last_panel, last_signature = shown or (None, None)
        panel = (rows, status, text, lang)
        if panel == last_panel and signature == last_signature:
            return [gr.update()] * 5 + [shown]
        if signature is not None and signature == last_signature:
            curves = gr.update()
        else:
            wanted = views.curves_of((store.find(studio.db, job_id) or {}).get("kind"))
            curves = curves_figure(views.metric_series(studio.home, job_id, wanted), wanted, lang) \
                if signature is not None and wanted else None
        return (job_frame(rows, lang), gr.update(choices=[r[0] for r in rows]), status, curves, text,
                (panel, signature))

    def panel_text(job_id, request) -> tuple[str, str, tuple | None]:
        """The selected job's status line, log tail and metrics signature."""
        if not job_id:
            return "", "", None
        job = store.find(studio.db, job_id)
        lang = viewer_language(studio, request)
        if job is None:
            return "❌ " + translated(f"unknown job {job_id}", lang), "", None
        folder = store.job_dir(studio.home, job_id)
        eta = views.format_duration(views.eta_seconds(job))
        note = job["exit_reason"] if job["status"] in ("failed", "cancelled") else (job["message"] or "")
        status = (f"**{job_id}** · {job['kind']} · **{word(views.status_label(job), lang)}** · "
                  f"{job['progress'] or 0:.0%} · {word('ETA', lang)} {eta} · "
                  f"{job.get('device') or job['requested_device']} — {translated(note, lang)}")
        owner_only = users.can_manage(studio.db, current_user(request), job["owner"])
        text = store.log_tail(folder, 40) if owner_only else \
            translated("(the log of a job is shown to its owner and admins)", lang)
        return status, text, views.metrics_signature(studio.home, job_id)

    outputs = [table, pick, status_md, plot, log, drawn]

    def act(action, job_id, request: gr.Request):
        lang = viewer_language(studio, request)
        if not job_id:
            return translated("Choose a job first.", lang), gr.update()
        me = current_user(request)
        try:
            with acting(request):
                text, pick = _act(action, job_id, me)
        except UserError as exc:
            return f"❌ {translated(exc, lang)}", gr.update()
        return translated(text, lang), pick

    def _act(action, job_id, me):
        if action == "cancel":
            studio.scheduler.cancel(job_id, by=me)
            return f"Cancelled {job_id}.", gr.update()
        if action == "resume":
            studio.scheduler.resume(job_id, by=me)
            return f"{job_id} is queued again; it continues from its last checkpoint.", gr.update()
        if action == "delete":
            studio.scheduler.delete(job_id, by=me)
            return f"Deleted {job_id} (its log, metrics and checkpoints).", gr.update(value=None)
        new_id = store.clone(studio.db, studio.home, job_id, owner=me)
        studio.scheduler.wake()
        return f"Cloned {job_id} as {new_id}.", gr.update(value=new_id)

    # stable API names (bench/ui_load.py polls them as the page does): job_status[_KIND], devices
    poll(timer.tick, refresh, [pick, drawn], outputs, api_name="job_status" + (f"_{kind}" if kind else ""))
    if devices is not None:
        def devices_now(request: gr.Request):
            return device_frame(studio, viewer_language(studio, request))
        poll(timer.tick, devices_now, None, [devices], api_name="devices")

        def my_limits(request: gr.Request):
            me = current_user(request)
            described = admission.describe(admission.usage(studio.db, studio.settings, me))
            return f"**{me}** — " + translated(described, viewer_language(studio, request))
        poll(timer.tick, my_limits, None, [limits_md], api_name="my_limits")
    pick.change(guard.read(refresh), [pick, gr.State(None)], outputs, show_progress="hidden")
    # at page load too: a tab's timer ticks only once the tab is shown (the tables then come in the page's language)
    gr.on(None, refresh, [pick, drawn], outputs, show_progress="hidden")
    if devices is not None:
        gr.on(None, devices_now, None, [devices], show_progress="hidden")

    def handler(action):
        def on_click(job_id, request: gr.Request):
            return act(action, job_id, request)
        return on_click

    for btn, action in ((cancel_btn, "cancel"), (resume_btn, "resume"), (clone_btn, "clone"),
                        (delete_btn, "delete")):
        rule = guard.user if action == "clone" else (lambda fn: guard.owner(fn, target=0, kind="job"))
        btn.click(rule(handler(action)), [pick], [action_msg, pick]).then(refresh, [pick, gr.State(None)], outputs)
    return pick
