"""Train tab: the form generated from TrainConfig, the pre-launch estimate, Launch, Show command, and the live
jobs panel for training runs (curves, log, cancel, resume, clone)."""
from __future__ import annotations

import gradio as gr

from backend.corpus.snapshot import list_snapshots
from backend.models.registry import list_models
from backend.studio import Studio
from backend.action_cli import command_line
from backend.training.config import LORA_TARGETS, TrainConfig, parse_train_config
from backend.training.estimate import GIB, describe_disk
from backend.training.job import TRAIN
from backend.training.prelaunch import prelaunch
from backend.training.trackers import view_commands
from frbio_core.errors import UserError
from frbio_core.translations import translated
from frbio_ui import guard
from frbio_ui.forms import build_form
from frbio_ui.presets_bar import presets_bar
from frbio_ui.i18n import add_strings, tr
from frbio_ui.jobs_panel import build_jobs_panel
from frbio_ui.launch import Follower, wire_launch
from frbio_ui.session import viewer_language
from frbio_ui.trajectory_panel import build_trajectory_panel
from jobs.devices import local_devices

add_strings({"train.runs": "Training runs"}, {"train.runs": "Entraînements"})


def _choices(studio: Studio) -> dict[str, list]:
    return {"base_model": [m["id"] for m in list_models(studio.db) if m["status"] == "ok"],
            "snapshot": [s["id"] for s in list_snapshots(studio.db)],
            "lora_target_modules": LORA_TARGETS + ["all-linear"]}


def estimate_markdown(result: dict, lang: str = "en") -> str:
    lines = [translated(f"**{result['parameters'] / 1e6:,.1f} M parameters · {result['tokens']:,} tokens over "
                        f"{result['steps']:,} steps ({result['tokens_per_step']:,} per step)**", lang), "",
             translated("| device | precision | needed | weights | gradients | optimizer | activations | available "
                        "| fits? | time |", lang),
             "|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for device, e in result["devices"].items():
        m, avail = e["memory"], e["device_memory"]
        fits = "—" if e["fits"] is None else (translated("✅ fits", lang) if e["fits"] else translated(
            "❌ does not fit", lang) + (f" ({translated('fits with gradient checkpointing', lang)})"
                                        if e["fits_with_checkpointing"] else ""))
        t = e.get("time")
        when = (f"≈ {t['seconds'] / 60:,.1f} min ({t['tokens_per_s']:,.0f} tok/s, {translated(t['method'], lang)})"
                if t else "—")
        lines.append(f"| {device} | {e['precision']} | {m['total'] / GIB:.2f} GiB | {m['weights'] / GIB:.2f} | "
                     f"{m['gradients'] / GIB:.2f} | {m['optimizer'] / GIB:.2f} | {m['activations'] / GIB:.2f} | "
                     + (f"{avail['available'] / GIB:.1f} GiB" if avail else "?") + f" | {fits} | {when} |")
    if result.get("disk"):
        disk = translated(describe_disk(result["disk"]), lang)
        lines += ["", disk.capitalize() if lang != "fr" else disk[:1].upper() + disk[1:]]
    return "\n".join(lines)


def trackers_markdown(settings, job_id: str | None = None, lang: str = "en") -> str:
    """How to look at the runs' curves (TensorBoard, MLflow, W&B, Trackio): one shell line each, in `lang`."""
    head = ("**Suivi d'expériences** (TensorBoard toujours ; MLflow, W&B, Trackio quand une exécution les nomme) :"
            if lang == "fr" else
            "**Experiment trackers** (TensorBoard always; MLflow, W&B, Trackio when a run names them):")
    colon = " :" if lang == "fr" else ":"
    return "\n".join([head, ""] + [f"- {what}{colon} `{command}`"
                                    for what, command in view_commands(settings, job_id, lang)])


def build_train_tab(studio: Studio):
    choices = _choices(studio)
    defaults = TrainConfig.model_construct(snapshot=(choices["snapshot"] or [""])[0])
    with gr.Row():
        with gr.Column(scale=3):
            form = build_form(TrainConfig, values=defaults, choices=choices)
        with gr.Column(scale=2):
            device = gr.Dropdown(["any"] + local_devices(), value="any", label=tr("train.device", "Device"),
                                 elem_id="train-device")
            with gr.Row():
                estimate_btn = gr.Button(tr("train.estimate", "Estimate memory and time"))
                command_btn = gr.Button(tr("train.command", "Show command"))
            launch_btn = gr.Button(tr("train.launch", "Launch training"), variant="primary", elem_id="train-launch")
            estimate_md = gr.Markdown(elem_id="train-estimate")
            command = gr.Code(label=tr("train.command_label", "Command line"), language="shell", visible=False)
            launch_msg = gr.Markdown(elem_id="train-msg")
            follow = Follower(studio, "train")
            presets_bar(studio, TRAIN, form.inputs, lambda *values: form.to_dict(values), form.updates)
    gr.Markdown("#### " + tr("train.runs"))
    pick = build_jobs_panel(studio, kind="train")
    build_trajectory_panel(studio, pick)
    viewers = gr.Markdown(trackers_markdown(studio.settings), elem_id="train-trackers")

    def config_from(values) -> TrainConfig:
        return parse_train_config(form.to_dict(values))

    def on_estimate(dev, request: gr.Request, *values):
        lang = viewer_language(studio, request)
        try:
            return estimate_markdown(prelaunch(studio.db, studio.home, config_from(values), dev), lang)
        except UserError as exc:
            return f"❌ {translated(exc, lang)}"

    def on_command(dev, request: gr.Request, *values):
        try:
            return gr.update(value=command_line(TRAIN, config_from(values), dev), visible=True)
        except UserError as exc:
            return gr.update(value=f"# {translated(exc, viewer_language(studio, request))}", visible=True)

    def on_load(request: gr.Request):
        c = _choices(studio)
        return (gr.update(choices=c["base_model"]), gr.update(choices=c["snapshot"]),
                trackers_markdown(studio.settings, None, viewer_language(studio, request)))

    def on_pick(job_id, request: gr.Request):
        return trackers_markdown(studio.settings, job_id, viewer_language(studio, request))

    pick.change(guard.read(on_pick), [pick], [viewers],
                show_progress="hidden")
    estimate_btn.click(guard.read(on_estimate), [device] + form.inputs, [estimate_md])
    command_btn.click(guard.read(on_command), [device] + form.inputs, [command])
    wire_launch(studio, TRAIN, launch_btn, form.inputs, lambda *values: form.to_dict(values), follow, launch_msg,
                device=device, extra_outputs=[pick], on_launched=lambda ids, *v: [gr.update(value=ids[0])])
    gr.on(None, guard.read(on_load), None, [form.component("base_model"), form.component("snapshot"), viewers],
          show_progress="hidden")
